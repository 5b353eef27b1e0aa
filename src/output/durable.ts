import { closeSync, fchmodSync, fsync, openSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

// Creating and writing a few small files is microseconds of system calls; a trip through libuv's
// thread pool costs about 0.1 ms each on a quiet machine, and a file write is five of them. So
// these steps are synchronous, and only the flushes, which wait for the disk (milliseconds), run in
// the thread pool, side by side.

const flushFd = promisify(fsync);

interface Content {
  readonly content: string | Uint8Array;
  readonly mode: number;
}

/** Flushes a file or directory to disk: a rename is durable only once its directory is. */
export async function fsyncPath(path: string): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    await flushFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** Creates `path` ("wx": never through something already there), writes it, sets its mode whatever the umask; returns it open. */
function create(path: string, file: Content): number {
  const fd = openSync(path, 'wx', file.mode);
  try {
    writeFileSync(fd, file.content);
    fchmodSync(fd, file.mode);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * Creates each file (as `create` does) and flushes them all, and the directory `dir` if given, side
 * by side: all files exist before any flush starts, so the directory's flush covers their names.
 * Every flush has settled before it returns or throws; removing what was created is the caller's.
 */
export async function writeNewFiles(files: readonly (Content & { readonly path: string })[], dir?: string): Promise<void> {
  const fds: number[] = [];
  try {
    for (const file of files) fds.push(create(file.path, file));
    const flushes = await Promise.allSettled([...fds.map((fd) => flushFd(fd)), ...(dir === undefined ? [] : [fsyncPath(dir)])]);
    const failure = flushes.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
