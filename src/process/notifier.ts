import { silentLogger, type ProcessLogger } from './logger.ts';
import { runReloadCommand, signalPidFile } from './reload.ts';
import type { WrappedProgram } from './wrapped-program.ts';

export type NotifyAction = 'signal' | 'restart' | 'command' | 'none';

export interface NotifierOptions {
  readonly action: NotifyAction;
  readonly signal: NodeJS.Signals | undefined;
  readonly pidFile: string | undefined;
  readonly program: WrappedProgram | undefined;
  readonly command: { readonly command: string; readonly args: readonly string[] } | undefined;
  readonly commandTimeoutMs: number;
  /** Notifications within this window after the first one of a burst give one action. */
  readonly debounceMs: number;
  readonly log?: ProcessLogger;
  readonly retry?: { readonly initialMs: number; readonly maxMs: number };
}

/**
 * Turns "the files changed" into what the user asked for. A burst gives one action at the end of
 * the debounce window (so latency is bounded by the window); actions never overlap; a failed action
 * is retried with backoff, and a newer notification supersedes the pending retry.
 */
export class Notifier {
  readonly #options: NotifierOptions;
  readonly #log: ProcessLogger;
  #window: { timer: NodeJS.Timeout; elapsed: Promise<void>; end: () => void } | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #pending = false;
  #running: Promise<void> | undefined;
  #failures = 0;
  #closed = false;

  constructor(options: NotifierOptions) {
    this.#options = options;
    this.#log = options.log ?? silentLogger;
  }

  notify(): void {
    if (this.#closed || this.#options.action === 'none') return;
    this.#pending = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#window !== undefined) return;
    if (this.#options.debounceMs <= 0) return this.#kick();
    let end!: () => void;
    const elapsed = new Promise<void>((resolve) => (end = resolve));
    const timer = setTimeout(() => {
      this.#window = undefined;
      this.#kick();
      end();
    }, this.#options.debounceMs);
    this.#window = { timer, elapsed, end };
  }

  /** Resolves once nothing is waiting, running or scheduled for a retry. */
  async idle(): Promise<void> {
    while (this.#running !== undefined || this.#window !== undefined) {
      await (this.#running ?? this.#window?.elapsed);
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#window?.timer);
    this.#window?.end();
    clearTimeout(this.#retryTimer);
    this.#window = undefined;
  }

  #kick(): void {
    if (this.#running !== undefined || this.#closed) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending && !this.#closed) {
      this.#pending = false;
      try {
        await this.#act();
        this.#failures = 0;
      } catch (error) {
        const { initialMs, maxMs } = this.#options.retry ?? { initialMs: 1_000, maxMs: 30_000 };
        const delay = Math.min(maxMs, initialMs * 2 ** this.#failures++);
        this.#log.warn({ retryInMs: delay }, `telling the program failed; retrying: ${(error as Error).message}`);
        if (!this.#pending && !this.#closed) {
          this.#retryTimer = setTimeout(() => {
            this.#retryTimer = undefined;
            this.#pending = true;
            this.#kick();
          }, delay);
        }
      }
    }
  }

  async #act(): Promise<void> {
    const { action, signal, pidFile, program, command, commandTimeoutMs } = this.#options;
    switch (action) {
      case 'signal': {
        if (program?.signal(signal!) === true) this.#log.info({ signal, pid: program.pid }, 'signalled the program');
        if (pidFile !== undefined) {
          const pid = await signalPidFile(pidFile, signal!);
          this.#log.info({ signal, pid, pidFile }, 'signalled the pid-file process');
        }
        return;
      }
      case 'restart':
        await program?.restart();
        return;
      case 'command':
        await runReloadCommand(command!.command, command!.args, commandTimeoutMs);
        this.#log.info({ command: command!.command }, 'reload command succeeded');
        return;
      case 'none':
        return;
    }
  }
}
