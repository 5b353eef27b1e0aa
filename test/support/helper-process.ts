import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor, type WaitOptions } from './wait.ts';

/** The command's TypeScript source, run as it is (for tests that watch which modules it loads). */
export const HELPER_SOURCE = new URL('../../cmd/spiffe-helper.ts', import.meta.url).pathname;

/**
 * What users run: the package's `bin`, the bundled build (`npm test` builds it first). Tests start the
 * helper through it, so they prove the lean build, not only the sources.
 */
const ROOT = new URL('../../', import.meta.url);
const { bin } = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { bin: Record<string, string> };
export const HELPER_ENTRY = new URL(bin['spiffe-helper']!, ROOT).pathname;

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A running spiffe-helper, started the way users start it, with its JSON log lines collected. */
export interface HelperProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logs: LogLine[];
  stderr(): string;
  stdout(): string;
  waitForLog(match: (line: LogLine) => boolean, options?: WaitOptions): Promise<LogLine>;
  /** Resolves with the exit code (or 128+n when killed). */
  exited(): Promise<number>;
}

/**
 * Writes `config` (TOML) to `<dir>/helper.conf` (unless `configFile` names one already written) and
 * starts the helper on it; stopped by pid after the test.
 */
export async function startHelper(
  t: { after(fn: () => unknown): void },
  dir: string,
  config: string,
  options: { args?: readonly string[]; env?: NodeJS.ProcessEnv; uid?: number; gid?: number; configFile?: string } = {},
): Promise<HelperProcess> {
  const configFile = options.configFile ?? join(dir, 'helper.conf');
  if (options.configFile === undefined) await writeFile(configFile, config);
  const child = spawn(process.execPath, [HELPER_ENTRY, '-config', configFile, ...(options.args ?? [])], {
    cwd: dir,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
  });
  const exit = once(child, 'exit').then(([code, signal]) => (code as number | null) ?? 128 + (signal === 'SIGKILL' ? 9 : 15));
  // Stopped the way its users stop it (SIGTERM, so the program shuts down with its own children),
  // and killed by pid if that does not end it.
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exit;
    clearTimeout(timer);
  });
  const logs: LogLine[] = [];
  let stderr = '';
  let stdout = '';
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line: a one-line error message, kept in stderr()
      }
    }
  });
  return {
    child,
    pid: child.pid!,
    logs,
    stderr: () => stderr,
    stdout: () => stdout,
    waitForLog: (match, waitOptions) =>
      waitFor(() => logs.find(match), { what: 'a log line', timeoutMs: 15_000, ...waitOptions }).catch((error: Error) => {
        throw new Error(`${error.message}\n--- helper stderr ---\n${stderr.slice(-4000)}`);
      }),
    exited: () => exit,
  };
}
