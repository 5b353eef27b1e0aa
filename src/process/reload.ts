import { readFile } from 'node:fs/promises';
import { execa } from 'execa';

/** Reads the pid afresh (the first line, as postmaster.pid has it) and signals that process. */
export async function signalPidFile(path: string, signal: NodeJS.Signals): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`cannot read pid file ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const first = text.split('\n', 1)[0]!.trim();
  const pid = /^\d+$/.test(first) ? Number(first) : Number.NaN;
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`pid file ${path} does not start with a process id: ${JSON.stringify(first.slice(0, 40))}`);
  try {
    process.kill(pid, signal);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`cannot send ${signal} to process ${pid} from ${path}: ${code === 'ESRCH' ? 'no such process' : code === 'EPERM' ? 'permission denied' : (error as Error).message}`);
  }
  return pid;
}

const STDERR_TAIL = 400;

/** Runs a reload command (e.g. `mariadb -e "FLUSH SSL"`); a failure names its exit code and stderr. */
export async function runReloadCommand(command: string, args: readonly string[], timeoutMs: number): Promise<void> {
  const result = await execa(command, args, { timeout: timeoutMs, reject: false, stdin: 'ignore', stdout: 'inherit', stderr: 'pipe', all: false });
  if (!result.failed) return;
  const stderr = String(result.stderr ?? '').trim();
  const tail = stderr.length > STDERR_TAIL ? `...${stderr.slice(-STDERR_TAIL)}` : stderr;
  const what = result.timedOut
    ? `timed out after ${timeoutMs} ms`
    : result.exitCode !== undefined
      ? `exited with code ${result.exitCode}`
      : result.signal !== undefined
        ? `was killed by ${result.signal}`
        : (result.originalMessage ?? result.shortMessage);
  throw new Error(`reload command ${JSON.stringify([command, ...args].join(' '))} ${what}${tail === '' ? '' : `: ${tail.replace(/\s*\n\s*/g, ' | ')}`}`);
}
