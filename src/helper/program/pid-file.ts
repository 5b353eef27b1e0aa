import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { checkSignalTarget, type SignalTarget } from './signal-target.ts';

/** Linux's PID_MAX_LIMIT: a larger number in a pid file is garbage, not a process. */
const MAX_PID = 4_194_304;
/** A pid is at most 7 digits and PostgreSQL's postmaster.pid has it on its first line: nothing further is read. */
const READ_BYTES = 64;

/**
 * Opened without blocking (a FIFO would hold a thread of libuv's pool until a writer came, and with
 * them every later file operation of the helper), without following a symlink at its name (it could
 * name a device, and opening some devices acts: a watchdog arms), and read only when fstat says it
 * is a regular file: /dev/zero or a FIFO costs one open and one line. A pid file that is a symlink is
 * refused: servers write theirs as regular files (nginx, PostgreSQL), so name the file itself.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/** What a pid file that is not a regular file is, for its error. */
const FILE_TYPES: ReadonlyArray<readonly [(stats: Stats) => boolean, string]> = [
  [(stats) => stats.isFIFO(), 'a FIFO'],
  [(stats) => stats.isCharacterDevice(), 'a character device'],
  [(stats) => stats.isBlockDevice(), 'a block device'],
  [(stats) => stats.isDirectory(), 'a directory'],
  [(stats) => stats.isSocket(), 'a socket'],
];

/**
 * Reads the pid afresh (the first line, as PostgreSQL's postmaster.pid has it), checks that the
 * process may be signalled (signal-target.ts) and sends it `signal`. Errors are one line naming the
 * file and what is wrong with it; the notifier logs them and retries.
 */
export async function signalPidFile(path: string, signal: NodeJS.Signals): Promise<SignalTarget> {
  const { pid, writtenAtMs } = await readPidFile(path);
  let target: SignalTarget;
  try {
    target = await checkSignalTarget(pid, writtenAtMs);
  } catch (error) {
    throw new Error(`refusing to signal process ${pid} from pid file ${path}: ${(error as Error).message}`);
  }
  try {
    process.kill(pid, signal);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ESRCH' ? 'no such process (a stale pid file?)' : code === 'EPERM' ? 'permission denied' : (error as Error).message;
    throw new Error(`cannot send ${signal} to process ${pid} from pid file ${path}: ${why}`);
  }
  return target;
}

/** The pid on the file's first line and when the file was last written. */
async function readPidFile(path: string): Promise<{ pid: number; writtenAtMs: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Error(`pid file ${path} is a symbolic link: name the file itself`);
    throw new Error(`cannot read pid file ${path}: ${code === 'ENOENT' ? 'no such file (is the server started?)' : (error as Error).message}`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      const type = FILE_TYPES.find(([is]) => is(stats))?.[1] ?? 'of an unknown type';
      throw new Error(`pid file ${path} is not a regular file (${type})`);
    }
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(READ_BYTES), 0, READ_BYTES, 0);
    const first = buffer.subarray(0, bytesRead).toString('utf8').split('\n', 1)[0]!.trim();
    if (first === '') throw new Error(`pid file ${path} is empty`);
    // Only digits: 0 and negative numbers would signal whole process groups.
    const pid = /^\d{1,7}$/.test(first) ? Number(first) : 0;
    if (pid < 1 || pid > MAX_PID) throw new Error(`pid file ${path} does not start with a process id: ${JSON.stringify(first.slice(0, 40))}`);
    return { pid, writtenAtMs: stats.mtimeMs };
  } finally {
    await handle.close();
  }
}
