import type { RenewAction } from '../config/index.ts';
import { Backoff, type BackoffPolicy } from '../../spiffe/backoff.ts';
import { silentLogger, type ProcessLogger } from './logger.ts';
import { signalPidFile } from './pid-file.ts';
import { runReloadCommand } from './reload.ts';
import type { WrappedProgram } from './wrapped-program.ts';
import { errorMessage } from '../log/index.ts';


export interface NotifierOptions {
  readonly action: RenewAction;
  /** For 'signal': sent to the program when it runs, and to the pid-file process. */
  readonly signal: NodeJS.Signals | undefined;
  readonly pidFile: string | undefined;
  readonly program: Pick<WrappedProgram, 'pid' | 'signal' | 'restart'> | undefined;
  /** For 'command'. */
  readonly command: { readonly command: string; readonly args: readonly string[] } | undefined;
  readonly commandTimeoutMs: number;
  /** A burst of notifications ends after this long without one; its single action runs then. */
  readonly debounceMs: number;
  /** The action runs at most this long after a burst's first notification. Default 4 × debounceMs (consul-template's `wait` default). */
  readonly maxDelayMs?: number;
  /** Once a burst is over, wait a random time in [0, splayMs] before acting. Default 0. */
  readonly splayMs?: number;
  /** In [0, 1), for the splay. Default Math.random. */
  readonly random?: () => number;
  readonly log?: ProcessLogger;
  /** Called after each action (retries included) with how it went, for metrics. */
  readonly onOutcome?: (outcome: 'ok' | 'failed') => void;
  /** Backoff of retries after a failed action. Default 1 s doubling to 30 s. */
  readonly retry?: BackoffPolicy;
}

/**
 * Turns "the files changed" into what the user configured.
 * - Debounce, trailing edge: a burst gives one action, once it has been quiet for debounceMs (and at
 *   most maxDelayMs after it began). Trailing, not leading, so the action sees the burst's last files.
 * - One action at a time: notifications during an action give one more action after it.
 * - A failed action is retried with backoff until it succeeds; a newer notification supersedes the
 *   pending retry (its own action does the job). A 'signal' retry does not signal the wrapped
 *   program again: only the pid-file process, which is what failed.
 * - Splay: a random wait between the end of a burst and its action, so a trust bundle change that
 *   reaches every replica of a fleet in the same second does not reload them all in that second.
 *   Notifications during the wait join the action it leads to. Retries are not splayed again.
 */
export class Notifier {
  readonly #options: NotifierOptions;
  readonly #log: ProcessLogger;
  readonly #maxDelayMs: number;
  /** A notification not acted on yet. */
  #dirty = false;
  #burst: { readonly startedAt: number; readonly timer: NodeJS.Timeout } | undefined;
  #splay: NodeJS.Timeout | undefined;
  /** The splay before the pending action has been waited out. */
  #splayed = false;
  #running: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retrying = false;
  readonly #backoff: Backoff;
  #closed = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: NotifierOptions) {
    if (options.action === 'signal' && options.signal === undefined) throw new TypeError("the 'signal' action needs a signal");
    if (options.action === 'command' && options.command === undefined) throw new TypeError("the 'command' action needs a command");
    this.#options = options;
    this.#log = options.log ?? silentLogger;
    this.#maxDelayMs = options.maxDelayMs ?? 4 * options.debounceMs;
    this.#backoff = new Backoff(options.retry ?? { initialMs: 1_000, maxMs: 30_000 });
  }

  /** The files changed: act once the burst is over. Does nothing after close() or with action 'none'. */
  notify(): void {
    if (this.#closed || this.#options.action === 'none') return;
    this.#dirty = true;
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      this.#log.info({}, 'a newer change supersedes the pending retry');
    }
    const now = Date.now();
    const startedAt = this.#burst?.startedAt ?? now;
    clearTimeout(this.#burst?.timer);
    this.#burst = undefined;
    const wait = Math.min(this.#options.debounceMs, startedAt + this.#maxDelayMs - now);
    if (wait <= 0) return this.#kick();
    const timer = setTimeout(() => {
      this.#burst = undefined;
      this.#kick();
    }, wait);
    this.#burst = { startedAt, timer };
  }

  /** Resolves once no burst is open, no action is running and no retry is scheduled. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Drops what is pending; resolves when the running action (if any) has finished. */
  close(): Promise<void> {
    this.#closed = true;
    this.#dirty = false;
    clearTimeout(this.#burst?.timer);
    this.#burst = undefined;
    clearTimeout(this.#splay);
    this.#splay = undefined;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#checkIdle();
    return this.idle();
  }

  #isIdle(): boolean {
    return !this.#dirty && this.#burst === undefined && this.#splay === undefined && this.#running === undefined && this.#retryTimer === undefined;
  }

  #checkIdle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #kick(): void {
    if (this.#closed || this.#running !== undefined || this.#burst !== undefined || this.#splay !== undefined || !this.#dirty) return this.#checkIdle();
    const splayMs = this.#options.splayMs ?? 0;
    if (splayMs > 0 && !this.#retrying && !this.#splayed) {
      const wait = Math.floor((this.#options.random ?? Math.random)() * (splayMs + 1));
      this.#log.info({ splayMs: wait }, 'telling the program after a random delay (renew_splay)');
      this.#splay = setTimeout(() => {
        this.#splay = undefined;
        this.#splayed = true;
        this.#kick();
      }, wait);
      return;
    }
    this.#splayed = false;
    this.#dirty = false;
    const retry = this.#retrying;
    this.#retrying = false;
    this.#running = this.#attempt(retry).finally(() => {
      this.#running = undefined;
      this.#kick();
    });
  }

  async #attempt(retry: boolean): Promise<void> {
    try {
      await this.#act(retry);
      this.#backoff.reset();
      if (this.#options.action !== 'none') this.#options.onOutcome?.('ok');
    } catch (error) {
      this.#options.onOutcome?.('failed');
      const message = errorMessage(error);
      if (this.#closed) return;
      if (this.#dirty) {
        this.#log.warn({}, `telling the program failed; a newer change will be acted on instead: ${message}`);
        return;
      }
      const delay = this.#backoff.next();
      this.#log.warn({ retryInMs: delay }, `telling the program failed; retrying: ${message}`);
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#dirty = true;
        this.#retrying = true;
        this.#kick();
      }, delay);
    }
  }

  async #act(retry: boolean): Promise<void> {
    const { action, signal, pidFile, program, command, commandTimeoutMs } = this.#options;
    switch (action) {
      case 'signal': {
        if (!retry && program !== undefined) {
          if (program.signal(signal!)) this.#log.info({ signal, pid: program.pid }, 'signalled the program');
          else if (pidFile === undefined) this.#log.info({ signal }, 'the program is not running: nothing to signal');
        }
        if (pidFile !== undefined) {
          // Whose process it is: the kernel let the helper signal it, the log says who that was.
          const { pid, uid } = await signalPidFile(pidFile, signal!);
          this.#log.info({ signal, pid, uid: uid ?? 'unknown', pidFile }, 'signalled the pid-file process');
        }
        return;
      }
      case 'restart':
        await program?.restart();
        return;
      case 'command':
        await runReloadCommand(command!.command, command!.args, commandTimeoutMs);
        this.#log.info({ command: command!.command }, 'the reload command succeeded');
        return;
      case 'none':
        return;
    }
  }
}
