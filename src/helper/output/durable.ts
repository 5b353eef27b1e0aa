import { closeSync, fsync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { DirHandle } from './dir-handle.ts';

// Creating and writing a few small files is microseconds of system calls; a trip through libuv's
// thread pool costs about 0.1 ms each on a quiet machine, and a file write is five of them. So
// these steps are synchronous, and only the flushes, which wait for the disk (milliseconds), run in
// the thread pool, side by side.

const flushFd = promisify(fsync);

export interface NewFile {
  readonly name: string;
  readonly content: string | Uint8Array;
  readonly mode: number;
}

/**
 * Creates each file in `dir` (never through something already there, mode set whatever the umask),
 * writes it, and flushes them all, and `dir` itself when `flushDir`, side by side: all files exist
 * before any flush starts, so the directory's flush covers their names. Every flush has settled
 * before it returns or throws; removing what was created is the caller's.
 */
export async function writeNewFiles(dir: DirHandle, files: readonly NewFile[], flushDir: boolean): Promise<void> {
  const fds: number[] = [];
  try {
    for (const file of files) {
      fds.push(dir.createFile(file.name, file.mode));
      writeFileSync(fds.at(-1)!, file.content);
    }
    const flushes = await Promise.allSettled([...fds.map((fd) => flushFd(fd)), ...(flushDir ? [dir.fsync()] : [])]);
    const failure = flushes.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
