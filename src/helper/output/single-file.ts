import { basename, dirname } from 'node:path';
import { DirHandle } from './dir-handle.ts';
import { DIR_MODE, OutputError } from './files.ts';
import { perFile } from './per-file.ts';

/**
 * Replaces one file on its own, atomically, as the per-file layout replaces each of its files (a
 * temporary file flushed, renamed over it, the directory flushed), through the directory held by
 * its descriptor. For a file that lives outside a file set (the Go helper's JWT-SVID paths): a
 * reader sees the old content or the new, never a part. Unchanged content and mode are not
 * rewritten. The directory is created if missing.
 */
export async function replaceFile(path: string, file: { readonly content: string | Uint8Array; readonly mode: number }): Promise<{ changed: boolean }> {
  const named = [{ name: basename(path), ...file }];
  try {
    const dir = DirHandle.open(dirname(path), { mode: DIR_MODE, parents: true });
    try {
      if (perFile.difference(dir, named) === undefined) return { changed: false };
      await perFile.replace(dir, named, undefined);
      return { changed: true };
    } finally {
      dir.close();
    }
  } catch (error) {
    throw new OutputError(`cannot replace ${path}: ${(error as Error).message}`);
  }
}
