import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { waitFor } from './wait.ts';

/** A long-running real program a fixture started: output in a log file, stopped by pid. */
export interface Daemon {
  readonly pid: number;
  readonly child: ChildProcess;
  /** stdout and stderr, appended. */
  readonly logFile: string;
  /** Resolves when it has exited, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  signal(signal: NodeJS.Signals): void;
  /** The stop signal, then SIGKILL (to the whole process group) after the grace time; idempotent. */
  stop(): Promise<void>;
  /**
   * Polls `probe` until it is truthy; fails at once if the program exits, and after the deadline,
   * with the end of its log.
   */
  waitReady(probe: () => unknown, options: { what: string; timeoutMs?: number; intervalMs?: number }): Promise<void>;
  logTail(lines?: number): Promise<string>;
}

export interface DaemonOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Default SIGTERM. */
  readonly stopSignal?: NodeJS.Signals;
  /** Default 10 s. */
  readonly graceMs?: number;
}

/**
 * Starts `command` in its own process group (so that a SIGKILL after the grace time also takes its
 * workers); when `t` is given, registers its stop with `t.after` at once, so it also runs when the
 * test fails.
 */
export function spawnDaemon(t: { after(fn: () => unknown): void } | undefined, options: DaemonOptions): Daemon {
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      stdio: ['ignore', fd, fd],
      detached: true,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }),
    });
  } finally {
    closeSync(fd);
  }
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  // A failed spawn (ENOENT, EACCES) emits 'error' and then 'exit'; keep it from being unhandled.
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const alive = () => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  const logTail = async (lines = 25) => {
    const text = await readFile(options.logFile, 'utf8').catch(() => '(no log)');
    return `--- last lines of ${options.logFile} ---\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (!alive()) return;
      child.kill(options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, options.graceMs ?? 10_000);
      await exited;
      clearTimeout(timer);
    })());
  t?.after(stop);
  const name = options.command.split('/').pop();
  return {
    get pid() {
      if (child.pid === undefined) throw new Error(`${options.command} did not start`);
      return child.pid;
    },
    child,
    logFile: options.logFile,
    exited,
    alive,
    signal: (signal) => {
      if (!alive()) throw new Error(`cannot send ${signal}: ${name} is not running`);
      child.kill(signal);
    },
    stop,
    logTail,
    async waitReady(probe, { what, timeoutMs = 30_000, intervalMs = 100 }) {
      let settled = false;
      const died = Promise.race([exited.then((end) => `${name} exited (${end.code ?? end.signal})`), spawnError.then((error) => `${name} did not start: ${error.message}`)]);
      const failed = async (message: string): Promise<never> => {
        throw new Error(`${message}\n${await logTail()}`);
      };
      try {
        await Promise.race([
          waitFor(async () => settled || (await probe()) || undefined, { what, timeoutMs, intervalMs }).catch((error: Error) => failed(error.message)),
          died.then((message) => (settled ? undefined : failed(`${message} while waiting for ${what}`))),
        ]);
      } finally {
        settled = true;
      }
    },
  };
}

/** How to run a real server: for spawnDaemon, or as the helper's `cmd` and `cmd_args`. */
export interface Program {
  readonly command: string;
  readonly args: readonly string[];
  /** The loopback port it will listen on. */
  readonly port: number;
}
