import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { DirHandle } from './dir-handle.ts';
import { writeNewFiles } from './durable.ts';
import { DIR_MODE, OutputError, attempt, type OutputFile } from './files.ts';
import type { DiskLayout } from './layout.ts';

// The default layout: Kubernetes' AtomicWriter (Secrets, ConfigMaps). Each set is a fresh hidden
// generation directory; the visible names are symlinks through `..data`, and one rename of `..data`
// switches every file at once (Envoy's watched_directory and kubelet consumers understand it).

/** The one symlink whose rename swaps the whole set, as Kubernetes' AtomicWriter names it. */
const DATA = '..data';
const DATA_TMP = '..data_tmp';
const GENERATION = /^\.\.\d{8}T\d{9}Z\.[0-9a-f]{8}$/;
/**
 * A visible link is made under a temporary name, then renamed over the visible one. The temporary
 * name is short and fixed in length, so any name that fits in the directory can be linked, and it
 * starts with ".." so it is never taken for a visible name.
 */
const LINK_TMP = /^\.\.link\.[0-9a-f]{8}$/;

const hex = (): string => randomBytes(4).toString('hex');

function generationName(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
  return `..${stamp}.${hex()}`;
}

/** The generation `..data` points at, if it is one of ours; a planted link is never followed. */
function currentGeneration(dir: DirHandle): string | undefined {
  const target = dir.readlink(DATA);
  if (target === undefined || !GENERATION.test(target)) return undefined;
  return dir.lstat(target)?.isDirectory() === true ? target : undefined;
}

/** Runs `use` on the current generation, held by its descriptor; undefined when there is none. */
function inGeneration<T>(dir: DirHandle, use: (generation: DirHandle, name: string) => T): T | undefined {
  const name = currentGeneration(dir);
  const generation = name === undefined ? undefined : dir.openDir(name);
  if (generation === undefined) return undefined;
  try {
    return use(generation, name!);
  } finally {
    generation.close();
  }
}

/** Each step of the swap, named in its error. */
function step(dir: DirHandle, what: string, action: () => void): void {
  try {
    action();
  } catch (error) {
    throw new OutputError(`${dir.path}: cannot ${what}: ${(error as Error).message}`);
  }
}

export const generations: DiskLayout = {
  // `..data`, which inotify follows to the generation directory holding the files.
  watched: ['.', '..data'],
  read(dir, names) {
    return inGeneration(dir, (generation) => {
      const files: OutputFile[] = [];
      for (const name of names === 'all' ? generation.list() : names) {
        const file = generation.readFile(name);
        if (file !== undefined) files.push({ name, ...file });
      }
      return files;
    }) ?? [];
  },

  difference(dir, files) {
    const found = inGeneration(dir, (generation, name) => {
      for (const file of files) {
        const visible = join(dir.path, file.name);
        const held = generation.readFile(file.name);
        if (held === undefined) return `${visible} is missing`;
        if (held.mode !== file.mode) return `${visible} has mode ${held.mode.toString(8)}`;
        if (!held.content.equals(Buffer.from(file.content))) return `${visible} was altered`;
        if (dir.readlink(file.name) !== `${DATA}/${file.name}`) return `${visible} is missing`;
      }
      return generation.list().length === files.length ? '' : `${join(dir.path, name)} holds other files`;
    });
    return found === undefined ? `${join(dir.path, DATA)} is missing` : found || undefined;
  },

  // The steps are synchronous system calls, except the flushes: see durable.ts for why.
  async replace(dir, files) {
    const previous = currentGeneration(dir);
    const unlinked = files.filter((file) => dir.readlink(file.name) !== `${DATA}/${file.name}`);
    for (const file of unlinked) {
      if (dir.lstat(file.name)?.isDirectory() === true) throw new OutputError(`${join(dir.path, file.name)} is a directory, not a file the helper can replace`);
    }
    const generation = generationName();
    try {
      const held = dir.makeDir(generation, DIR_MODE);
      try {
        await writeNewFiles(held, files, true);
      } finally {
        held.close();
      }
    } catch (error) {
      attempt(() => dir.remove(generation));
      throw new OutputError(`writing ${join(dir.path, generation)}: ${(error as Error).message}`);
    }

    // Every visible link is made before the swap, so a name that cannot be linked fails the write
    // while the previous set is still whole.
    const links = new Map<string, string>();
    try {
      for (const file of unlinked) {
        const temporary = `..link.${hex()}`;
        dir.symlink(`${DATA}/${file.name}`, temporary);
        links.set(file.name, temporary);
      }
    } catch (error) {
      for (const name of [...links.values(), generation]) attempt(() => dir.remove(name));
      throw new OutputError(`${dir.path}: cannot link the visible names: ${(error as Error).message}`);
    }

    step(dir, 'switch to the new file set', () => {
      // Left by a helper killed mid-swap, or planted: removed (never followed) when in the way.
      attempt(() => dir.remove(DATA_TMP));
      dir.symlink(generation, DATA_TMP);
      // A real directory at ..data cannot be renamed over; it is ours to own, so it goes.
      if (previous === undefined && dir.lstat(DATA)?.isDirectory() === true) dir.remove(DATA);
      dir.rename(DATA_TMP, DATA);
    });
    step(dir, 'link the visible names', () => {
      for (const [name, temporary] of links) dir.rename(temporary, name);
    });
    const entries = dir.list();
    const keep = new Set(files.map((file) => file.name));
    step(dir, 'remove names no longer written', () => {
      for (const entry of entries) {
        if (!keep.has(entry) && !entry.startsWith('..') && dir.readlink(entry) === `${DATA}/${entry}`) dir.remove(entry);
      }
    });
    // The previous generation stays until the next swap, so a reader that just resolved it can
    // finish; older generations and temporary links (left by a helper killed mid-write) go.
    const leftovers = entries.filter((entry) => (GENERATION.test(entry) && entry !== generation && entry !== previous) || LINK_TMP.test(entry));
    // The swap is flushed while the generations no longer needed go: their removal need not last.
    // One that cannot go (another user's, as a helper that is not root) stays: the set is written.
    const flushed = dir.fsync();
    for (const entry of leftovers) attempt(() => dir.remove(entry));
    await flushed;
  },
};
