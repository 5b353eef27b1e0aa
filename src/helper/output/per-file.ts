import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { DirHandle } from './dir-handle.ts';
import { writeNewFiles } from './durable.ts';
import { OutputError, attempt, type OutputFile } from './files.ts';
import type { DiskLayout } from './layout.ts';

// `file_layout = "files"`: only plain files in the directory, for a directory where a program takes
// every subdirectory for something of its own (MySQL and MariaDB take each one in their data
// directory for a database). Each changed file is written under a temporary name and flushed; only
// then are they renamed over their names, one after the other in the set's order, so the window in
// which a reader can see one new file beside an old one is a few renames long. The set's order is
// certificate, key, bundle: a reader that loads the certificate and then the key (nginx, Go's
// LoadX509KeyPair, MariaDB) gets a mismatched pair only if its two reads straddle both renames or
// both fall between them; renaming the key first would also mix the pair for a reader whose reads
// straddle only one of them.

/** A temporary file: short and fixed in length (any name that fits can be replaced), never a name of the set. */
const TEMPORARY = /^\.\.file\.[0-9a-f]{8}$/;
const temporaryName = (): string => `..file.${randomBytes(4).toString('hex')}`;

const changed = (dir: DirHandle, file: OutputFile): boolean => {
  const held = dir.readFile(file.name);
  return held === undefined || held.mode !== file.mode || !held.content.equals(Buffer.from(file.content));
};

export const perFile: DiskLayout = {
  // The files are plain entries of the directory: its watch sees their content, mode and removal.
  watched: ['.'],
  // Nothing tells the helper's files from the program's in a shared directory: 'all' reads none,
  // and files a write does not name are left as they are.
  read(dir, names) {
    const files: OutputFile[] = [];
    for (const name of names === 'all' ? [] : names) {
      const file = dir.readFile(name);
      if (file !== undefined) files.push({ name, ...file });
    }
    return files;
  },

  difference(dir, files) {
    for (const file of files) {
      const held = dir.readFile(file.name);
      if (held === undefined) return `${join(dir.path, file.name)} is missing`;
      if (held.mode !== file.mode) return `${join(dir.path, file.name)} has mode ${held.mode.toString(8)}`;
      if (!held.content.equals(Buffer.from(file.content))) return `${join(dir.path, file.name)} was altered`;
    }
    return undefined;
  },

  async replace(dir, files, previous) {
    const due = files.filter((file) => changed(dir, file));
    for (const file of due) {
      if (dir.lstat(file.name)?.isDirectory() === true) throw new OutputError(`${join(dir.path, file.name)} is a directory, not a file the helper can replace`);
    }
    const temporaries = due.map((file) => ({ ...file, name: temporaryName(), target: file.name }));
    try {
      await writeNewFiles(dir, temporaries, false);
      for (const temporary of temporaries) dir.rename(temporary.name, temporary.target);
    } catch (error) {
      for (const temporary of temporaries) attempt(() => dir.remove(temporary.name));
      throw new OutputError(`${dir.path}: cannot replace the files: ${(error as Error).message}`);
    }
    const keep = new Set(files.map((file) => file.name));
    // Only files go: a directory in their place is someone else's.
    for (const gone of previous ?? []) if (!keep.has(gone.name) && dir.lstat(gone.name)?.isFile() === true) attempt(() => dir.remove(gone.name));
    // Left by a helper killed mid-write.
    for (const entry of dir.list()) if (TEMPORARY.test(entry)) attempt(() => dir.remove(entry));
    await dir.fsync();
  },
};
