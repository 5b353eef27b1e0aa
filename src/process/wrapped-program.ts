import { existsSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { describeExit, type ExitStatus } from './exit-status.ts';
import { silentLogger, type ProcessLogger } from './logger.ts';
import { resolveCommand } from './resolve-command.ts';

export interface ProgramSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly stopSignal: NodeJS.Signals;
  readonly killTimeoutMs: number;
  /** 'exit': the program's own exit ends it for good; 'restart': it is started again, with backoff. */
  readonly onExit: 'exit' | 'restart';
  readonly restartBackoffMaxMs: number;
}

const SETPRIV = '/usr/bin/setpriv';
/** A program that ran this long had a healthy start: its next crash restarts it without delay growth. */
const STABLE_RUN_MS = 10_000;

/**
 * The wrapped program: one child at a time with the helper's stdio and environment, in a process
 * group of its own. Where util-linux's setpriv exists it runs the program with a parent-death signal,
 * so even a SIGKILLed helper takes its program with it; setpriv execs, so the pid is the program's own.
 */
export class WrappedProgram {
  readonly #spec: ProgramSpec;
  readonly #log: ProcessLogger;
  #child: ResultPromise | undefined;
  #childExit: Promise<ExitStatus> | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = false;
  #lastStatus: ExitStatus = { code: null, signal: null };
  #settle!: (status: ExitStatus) => void;
  /** Settles when the program ends for good. */
  readonly exited: Promise<ExitStatus> = new Promise((resolve) => {
    this.#settle = resolve;
  });

  constructor(spec: ProgramSpec, log: ProcessLogger = silentLogger) {
    this.#spec = spec;
    this.#log = log;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the program; throws at once when the command cannot be found. */
  start(): void {
    if (this.#stopped || this.#child !== undefined) return;
    const path = resolveCommand(this.#spec.command);
    const [file, args] = existsSync(SETPRIV)
      ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', path, ...this.#spec.args]]
      : [path, [...this.#spec.args]];
    const startedAt = Date.now();
    // Its own process group: a terminal's Ctrl-C reaches only the helper, which forwards it once, and
    // a program that outstays its kill timeout is killed together with its own children.
    const child = execa(file, args, { stdio: 'inherit', detached: true, reject: false, buffer: false });
    this.#child = child;
    const killOnExit = (): void => {
      // A helper that exits without stopping the program (a crash) must not leave it behind.
      if (child.pid !== undefined) this.#killGroup(child.pid);
    };
    process.once('exit', killOnExit);
    void child.finally(() => process.off('exit', killOnExit));
    this.#log.info({ pid: child.pid, command: this.#spec.command, args: this.#spec.args }, 'program started');
    const exit = child.then((result): ExitStatus => {
      const signal = (result.signal as NodeJS.Signals | undefined) ?? null;
      return { code: result.exitCode ?? (signal === null ? 1 : null), signal };
    });
    this.#childExit = exit;
    void exit.then((status) => this.#onExit(child, status, Date.now() - startedAt));
  }

  signal(signal: NodeJS.Signals): boolean {
    const pid = this.pid;
    if (pid === undefined) return false;
    return this.#child!.kill(signal);
  }

  /** Stop signal, up to the kill timeout, SIGKILL, then start again. */
  async restart(): Promise<void> {
    if (this.#stopped) return;
    const child = this.#child;
    this.#child = undefined;
    if (child !== undefined) await this.#terminate(child, this.#spec.stopSignal);
    this.#log.info({ command: this.#spec.command }, 'restarting the program');
    this.start();
  }

  /** Sends `signal` (default the stop signal), SIGKILL after the kill timeout; resolves how it ended. */
  async stop(signal: NodeJS.Signals = this.#spec.stopSignal): Promise<ExitStatus> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (child !== undefined && this.#childExit !== undefined) this.#lastStatus = await this.#terminate(child, signal);
    this.#settle(this.#lastStatus);
    return this.#lastStatus;
  }

  async #terminate(child: ResultPromise, signal: NodeJS.Signals): Promise<ExitStatus> {
    const exit = this.#childExit!;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#log.warn({ pid: child.pid, signal, killTimeoutMs: this.#spec.killTimeoutMs }, 'the program did not stop in time; sending SIGKILL');
        if (child.pid !== undefined) this.#killGroup(child.pid);
        resolve();
      }, this.#spec.killTimeoutMs);
    });
    await Promise.race([exit, killed]);
    clearTimeout(timer);
    return exit;
  }

  #killGroup(pid: number): void {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }

  #onExit(child: ResultPromise, status: ExitStatus, ranMs: number): void {
    this.#lastStatus = status;
    if (this.#child !== child) return;
    this.#child = undefined;
    this.#childExit = undefined;
    if (this.#stopped) return;
    this.#log.info({ pid: child.pid, code: status.code, signal: status.signal }, `the program ${describeExit(status)}`);
    if (this.#spec.onExit === 'exit') {
      this.#stopped = true;
      this.#settle(status);
      return;
    }
    if (ranMs >= STABLE_RUN_MS) this.#failures = 0;
    const delay = Math.min(this.#spec.restartBackoffMaxMs, 1000 * 2 ** this.#failures++);
    this.#log.warn({ delayMs: delay }, 'restarting the program after its exit');
    this.#restartTimer = setTimeout(() => {
      try {
        this.start();
      } catch (error) {
        this.#log.error({ err: error }, `cannot restart the program: ${(error as Error).message}`);
        this.#stopped = true;
        this.#settle({ code: 127, signal: null });
      }
    }, delay);
  }
}
