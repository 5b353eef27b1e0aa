import { randomUUID } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StdoutStderrOption } from 'execa';
import { loadExeca } from './load-execa.ts';
import { resolveCommand } from './resolve-command.ts';

const STDERR_TAIL_CHARS = 400;

/**
 * Runs a reload command (e.g. `mariadb -e "FLUSH SSL"`) with the helper's environment and stdout;
 * rejects when it cannot be started, exits non-zero, is killed, or outlasts `timeoutMs` (then it
 * gets SIGTERM, and SIGKILL 5 s later). The error names the command, how it ended and the end of
 * its stderr.
 */
export async function runReloadCommand(command: string, args: readonly string[], timeoutMs: number): Promise<void> {
  const what = `reload command ${JSON.stringify([command, ...args].join(' '))}`;
  let path: string;
  try {
    path = resolveCommand(command);
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}`);
  }
  const [{ execa }, stderr] = await Promise.all([loadExeca(), stderrFile()]);
  try {
    // execa documents integer file descriptors for stderr; its types list only 1 and 2.
    const stderrOption = stderr === undefined ? 'inherit' : (stderr.fd as unknown as StdoutStderrOption);
    const result = await execa(path, args, { timeout: timeoutMs, reject: false, stdin: 'ignore', stdout: 'inherit', stderr: stderrOption });
    if (!result.failed) return;
    const how = result.timedOut
      ? `timed out after ${timeoutMs} ms`
      : result.exitCode !== undefined
        ? `exited with code ${result.exitCode}`
        : result.signal !== undefined
          ? `was killed by ${result.signal}`
          : `could not be started: ${result.originalMessage ?? result.shortMessage}`;
    const tail = stderr === undefined ? undefined : await readTail(stderr);
    const detail = tail === undefined ? " (its stderr went to the helper's stderr)" : tail === '' ? '' : `: ${tail}`;
    throw new Error(`${what} ${how}${detail}`);
  } finally {
    await stderr?.close();
  }
}

/**
 * An unlinked temporary file for the command's stderr, not a pipe: a background process the command
 * leaves behind (`sh -c 'x &'`) would hold a pipe open, and the command would seem never to end.
 * Undefined where the temporary directory is not writable (a read-only root file system): the
 * command then writes to the helper's stderr.
 */
async function stderrFile(): Promise<FileHandle | undefined> {
  const file = join(tmpdir(), `spiffe-helper-reload-${randomUUID()}`);
  let handle: FileHandle;
  try {
    handle = await open(file, 'wx+', 0o600);
  } catch {
    return undefined;
  }
  await unlink(file).catch(() => undefined);
  return handle;
}

/** The end of what the command wrote to stderr, on one line. */
async function readTail(handle: FileHandle): Promise<string> {
  const { size } = await handle.stat();
  const length = Math.min(size, STDERR_TAIL_CHARS * 4);
  const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, size - length);
  const text = buffer.subarray(0, bytesRead).toString('utf8').trim().replace(/\s*\n\s*/g, ' | ');
  return text.length > STDERR_TAIL_CHARS ? `...${text.slice(-STDERR_TAIL_CHARS)}` : text;
}
