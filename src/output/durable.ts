import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

interface Content {
  readonly content: string | Uint8Array;
  readonly mode: number;
}

/** Flushes a file or directory to disk: a rename is durable only once its directory is. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** "wx": never through something already there. */
const create = (path: string, file: Content): Promise<FileHandle> => open(path, 'wx', file.mode);

/** Writes a file just created, sets its mode whatever the umask, flushes and closes it. */
async function fill(handle: FileHandle, file: Content): Promise<void> {
  try {
    await handle.writeFile(file.content);
    await handle.chmod(file.mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates `path`, writes it, sets its mode whatever the umask, and flushes it. */
export async function writeNewFile(path: string, file: Content): Promise<void> {
  await fill(await create(path, file), file);
}

/** Throws the first rejection's reason, once every promise has settled (so nothing is left running). */
async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const failure = (await Promise.allSettled(promises)).find((result) => result.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

/**
 * Creates each named file in the existing directory `dir` as writeNewFile does, and flushes `dir`.
 * All files are created first, so the directory's flush can run beside theirs: on a journaling
 * file system the flushes are the slow part of a write, and concurrent ones share a commit. On a
 * failure every step has settled before it throws; removing what was created is the caller's.
 */
export async function writeNewFilesIn(dir: string, files: readonly (Content & { readonly name: string })[]): Promise<void> {
  const created = await Promise.allSettled(files.map((file) => create(join(dir, file.name), file)));
  const failure = created.find((result) => result.status === 'rejected');
  if (failure !== undefined) {
    await Promise.all(created.map((result) => (result.status === 'fulfilled' ? result.value.close() : undefined)));
    throw failure.reason;
  }
  const handles = created.map((result) => (result as PromiseFulfilledResult<FileHandle>).value);
  await settleAll([...handles.map((handle, index) => fill(handle, files[index]!)), fsyncPath(dir)]);
}
