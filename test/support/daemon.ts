import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
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
  /** The stop signal, then SIGKILL after the grace time; idempotent. */
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
 * Starts `command` (in the test's process group, so that a Ctrl-C in the terminal reaches it too);
 * when `t` is given, registers its stop with `t.after` at once, so it also runs when the test fails.
 */
export function spawnDaemon(t: { after(fn: () => unknown): void } | undefined, options: DaemonOptions): Daemon {
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      stdio: ['ignore', fd, fd],
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
      const timer = setTimeout(() => child.kill('SIGKILL'), options.graceMs ?? 10_000);
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

/** An execFile failure as one Error naming the command, with what it printed (stderr first). */
export function commandFailure(what: string, error: unknown): Error {
  const e = error as { stderr?: string; stdout?: string; message?: string };
  return new Error(`${what} failed: ${(e.stderr || e.stdout || e.message || String(error)).trim()}`);
}

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
export function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
