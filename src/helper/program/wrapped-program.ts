import type { ResultPromise, execa } from 'execa';
import { describeExit, exitCodeOf, type ExitStatus } from './exit-status.ts';
import type { CmdExit } from '../config/index.ts';
import { Backoff } from '../../spiffe/backoff.ts';
import { silentLogger, type ProcessLogger } from './logger.ts';
import { loadExeca } from './load-execa.ts';
import { errorMessage } from '../log/index.ts';
import { parentDeathPrefix } from './parent-death.ts';
import { resolveCommand } from './resolve-command.ts';

export interface ProgramSpec {
  readonly command: string;
  readonly args: readonly string[];
  /** Sent by stop() (unless it is given another) and restart(). */
  readonly stopSignal: NodeJS.Signals;
  /** How long after the stop signal the program's process group gets SIGKILL. */
  readonly killTimeoutMs: number;
  /**
   * 'exit': the program's own exit ends it for good; 'restart': it is started again, with backoff;
   * 'rerun': it stays down until start() is called again (the Go helper starts it at the next update).
   */
  readonly onExit: CmdExit;
  /** The restart delay starts at 1 s and doubles up to this (the one Backoff policy, with its jitter). */
  readonly restartBackoffMaxMs: number;
}

/** What happens to the program, for metrics. */
export interface ProgramEvents {
  started(pid: number | undefined): void;
  /** Its exit code, 128+n when signal n ended it. */
  exited(code: number): void;
}

/** A program that ran this long had a healthy start: its next crash restarts it without delay growth. */
const STABLE_RUN_MS = 10_000;
const FIRST_RESTART_DELAY_MS = 1_000;

interface Child {
  readonly process: ResultPromise;
  readonly pid: number | undefined;
  readonly startedAt: number;
  readonly exit: Promise<ExitStatus>;
  /** Set when the helper ends it (restart or stop), so that its exit is not the program ending by itself. */
  ending: boolean;
  killTimer: NodeJS.Timeout | undefined;
}

/**
 * The wrapped program: one child at a time, with the helper's stdio and environment, in a process
 * group of its own (a terminal's Ctrl-C reaches only the helper, which forwards it once).
 *
 * It never outlives the helper: a helper that exits kills its process group; where setpriv exists
 * (see parentDeathPrefix) the kernel kills it even when the helper is SIGKILLed.
 */
export class WrappedProgram {
  readonly #spec: ProgramSpec;
  readonly #execa: typeof execa;
  /** The parent-death prefix (see parentDeathPrefix), undefined where setpriv cannot give one. */
  readonly #prefix: readonly string[] | undefined;
  readonly #log: ProcessLogger;
  readonly #events: ProgramEvents | undefined;
  #child: Child | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  readonly #backoff: Backoff;
  /** Set by the first start(): the files it waits for have been written. */
  #started = false;
  /** Set by stop() or by the program's own exit with onExit 'exit': nothing starts any more. */
  #over = false;
  #stopping: Promise<ExitStatus> | undefined;
  #lastStatus: ExitStatus = { code: 0, signal: null };
  readonly #ended = Promise.withResolvers<ExitStatus>();
  /**
   * Settles when the program ends for good: with onExit 'exit' at its first exit by itself, else
   * after stop(); with how it ended. Never rejects.
   */
  readonly exited: Promise<ExitStatus> = this.#ended.promise;

  /** Loads what starting a program needs (execa, the setpriv probe), so that start() can be synchronous. */
  static async create(spec: ProgramSpec, log: ProcessLogger = silentLogger, events?: ProgramEvents): Promise<WrappedProgram> {
    const [{ execa }, prefix] = await Promise.all([loadExeca(), parentDeathPrefix()]);
    return new WrappedProgram(spec, log, events, execa, prefix);
  }

  private constructor(spec: ProgramSpec, log: ProcessLogger, events: ProgramEvents | undefined, run: typeof execa, prefix: readonly string[] | undefined) {
    this.#spec = spec;
    this.#execa = run;
    this.#prefix = prefix;
    this.#log = log;
    this.#events = events;
    this.#backoff = new Backoff({ initialMs: FIRST_RESTART_DELAY_MS, maxMs: spec.restartBackoffMaxMs });
  }

  /** The running program's pid (also while it is being stopped), else undefined. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * Starts the program unless it is running or was stopped. Throws CommandNotFoundError, naming the
   * command, when it is missing or not executable.
   */
  start(): void {
    if (this.#over || this.#child !== undefined) return;
    this.#started = true;
    clearTimeout(this.#restartTimer);
    const path = resolveCommand(this.#spec.command);
    const prefix = this.#prefix;
    const [file, ...args] = [...(prefix ?? []), path, ...this.#spec.args];
    // forceKillAfterDelay: false, or execa would SIGKILL 5 s after a SIGTERM, whatever killTimeoutMs says.
    const subprocess = this.#execa(file!, args, { stdio: 'inherit', detached: true, reject: false, buffer: false, forceKillAfterDelay: false });
    const pid = subprocess.pid;
    // A helper that exits without stopping the program (an uncaught error) must not leave it behind.
    const killOnExit = (): void => killGroup(pid);
    process.once('exit', killOnExit);
    const exit = subprocess.then((result): ExitStatus => {
      process.off('exit', killOnExit);
      if (result.exitCode !== undefined || result.signal !== undefined) {
        return { code: result.exitCode ?? null, signal: (result.signal as NodeJS.Signals | undefined) ?? null };
      }
      this.#log.error({ command: this.#spec.command }, `cannot start the program: ${result.shortMessage}`);
      return { code: 127, signal: null };
    });
    const child: Child = { process: subprocess, pid, startedAt: Date.now(), exit, ending: false, killTimer: undefined };
    this.#child = child;
    void exit.then((status) => this.#onExit(child, status));
    this.#log.info({ pid, command: this.#spec.command, args: this.#spec.args, parentDeathSignal: prefix !== undefined }, 'program started');
    this.#events?.started(pid);
  }

  /**
   * A complete set of files is on disk (`changed`: it differs from the last one). The first such
   * write starts the program; with onExit 'rerun', a changed set starts it again when it has exited
   * (the Go helper's behaviour: its reload-command pattern). True when it started the program, which
   * then needs no telling. Throws as start() does at the first start only; a failed start again is
   * logged, and the program waits for the next update.
   */
  filesWritten(changed: boolean): boolean {
    if (!this.#started) {
      this.start();
      return true;
    }
    if (!changed || this.#spec.onExit !== 'rerun' || this.pid !== undefined) return false;
    try {
      this.start();
    } catch (error) {
      this.#log.error({ command: this.#spec.command }, `cannot start the program again: ${errorMessage(error)}`);
    }
    return true;
  }

  /**
   * Whether the program's exit status is the helper's to exit with: not when it never started, nor
   * with onExit 'rerun' while it is not running (it is started again at each update, and has no say).
   */
  get decidesExitCode(): boolean {
    return this.#started && !(this.#spec.onExit === 'rerun' && this.pid === undefined);
  }

  /** Sends `signal` to the program; false when it is not running. */
  signal(signal: NodeJS.Signals): boolean {
    return this.#child?.process.kill(signal) ?? false;
  }

  /**
   * Stops the program (stop signal, SIGKILL to its group after the kill timeout) and starts it again;
   * also starts it when it was waiting for a restart after a crash. Does nothing once stopped.
   */
  async restart(): Promise<void> {
    if (this.#over) return;
    const child = this.#child;
    if (child !== undefined) {
      this.#log.info({ pid: child.pid, signal: this.#spec.stopSignal }, 'restarting the program');
      await this.#end(child, this.#spec.stopSignal);
    }
    this.start();
  }

  /**
   * Sends `signal` (default the stop signal) to the program, SIGKILL to its process group after the
   * kill timeout; resolves with how it ended (or how it last ended, when it was not running). Later
   * calls forward their signal too and get the same answer.
   */
  stop(signal: NodeJS.Signals = this.#spec.stopSignal): Promise<ExitStatus> {
    this.#over = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (this.#stopping !== undefined) {
      if (child !== undefined) child.process.kill(signal);
      return this.#stopping;
    }
    this.#stopping = (async () => {
      const status = child === undefined ? this.#lastStatus : await this.#end(child, signal);
      this.#ended.resolve(status);
      return status;
    })();
    return this.#stopping;
  }

  /** Sends `signal`; the kill timer starts at the first such request, and is cleared by the exit. */
  #end(child: Child, signal: NodeJS.Signals): Promise<ExitStatus> {
    child.ending = true;
    child.process.kill(signal);
    child.killTimer ??= setTimeout(() => {
      this.#log.warn({ pid: child.pid, signal, killTimeoutMs: this.#spec.killTimeoutMs }, 'the program did not stop in time; sending SIGKILL to its process group');
      killGroup(child.pid);
    }, this.#spec.killTimeoutMs);
    return child.exit;
  }

  #onExit(child: Child, status: ExitStatus): void {
    clearTimeout(child.killTimer);
    this.#lastStatus = status;
    this.#events?.exited(exitCodeOf(status));
    if (this.#child === child) this.#child = undefined;
    if (child.ending) {
      this.#log.info({ pid: child.pid, code: status.code, signal: status.signal }, `the program ${describeExit(status)}`);
      return;
    }
    if (this.#spec.onExit === 'rerun') {
      this.#log.info({ pid: child.pid, code: status.code, signal: status.signal }, `the program ${describeExit(status)}; it is started again at the next update`);
      return;
    }
    this.#log.warn({ pid: child.pid, code: status.code, signal: status.signal }, `the program ${describeExit(status)} without being asked to stop`);
    if (this.#spec.onExit === 'exit') {
      this.#over = true;
      this.#ended.resolve(status);
      return;
    }
    if (Date.now() - child.startedAt >= STABLE_RUN_MS) this.#backoff.reset();
    const delay = this.#backoff.next();
    this.#log.info({ delayMs: delay }, 'restarting the program after a delay');
    this.#restartTimer = setTimeout(() => {
      try {
        this.start();
      } catch (error) {
        this.#log.error({ command: this.#spec.command }, `cannot restart the program: ${errorMessage(error)}`);
        this.#over = true;
        this.#ended.resolve({ code: 127, signal: null });
      }
    }, delay);
  }
}

/** SIGKILL to the program's whole process group (it leads one: detached). */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is gone already.
  }
}
