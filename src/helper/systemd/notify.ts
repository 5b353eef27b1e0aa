import { execFile } from 'node:child_process';

/** The logging this module needs; pino's Logger satisfies it. */
export interface NotifyLogger {
  warn(object: object, message?: string): void;
}

/**
 * Tells systemd (a `Type=notify` unit) how the helper is doing: READY=1 once the first complete set
 * of files is on disk, STATUS= lines, STOPPING=1 on shutdown.
 *
 * `$NOTIFY_SOCKET` is a unix datagram socket, which Node cannot send to. The messages go through
 * `systemd-notify`, which ships with systemd itself (so it exists wherever the socket does), needs
 * no native addon built at install time, and by default waits until the manager has processed the
 * message: the short-lived sender is still attributed to the unit. Because the sender is a child,
 * the unit needs `NotifyAccess=all`.
 *
 * Messages are sent one at a time, in order; a failure is logged once and never stops the helper.
 */
export class ServiceNotifier {
  readonly #socket: string | undefined;
  readonly #log: NotifyLogger;
  readonly #command: string;
  #queue: Promise<void> = Promise.resolve();
  #warned = false;

  /**
   * Takes `NOTIFY_SOCKET` out of `env` (as sd_notify's unset_environment does), so the wrapped
   * program, which inherits the environment, cannot report readiness in the helper's place.
   */
  static fromEnvironment(log: NotifyLogger, env: NodeJS.ProcessEnv = process.env, command = 'systemd-notify'): ServiceNotifier {
    const socket = env.NOTIFY_SOCKET || undefined;
    delete env.NOTIFY_SOCKET;
    return new ServiceNotifier(socket, log, command);
  }

  constructor(socket: string | undefined, log: NotifyLogger, command = 'systemd-notify') {
    this.#socket = socket;
    this.#log = log;
    this.#command = command;
  }

  /** Whether the helper runs under a service manager that listens. */
  get enabled(): boolean {
    return this.#socket !== undefined;
  }

  ready(status: string): Promise<void> {
    return this.#send(['--ready', `--status=${status}`]);
  }

  status(status: string): Promise<void> {
    return this.#send([`--status=${status}`]);
  }

  stopping(): Promise<void> {
    return this.#send(['STOPPING=1']);
  }

  /** Resolves once every message sent so far is delivered (or failed). */
  flush(): Promise<void> {
    return this.#queue;
  }

  #send(args: readonly string[]): Promise<void> {
    const socket = this.#socket;
    if (socket === undefined) return this.#queue;
    this.#queue = this.#queue.then(
      () =>
        new Promise<void>((resolve) => {
          // STATUS text is free-form: one line, so a newline cannot start another assignment.
          const clean = args.map((arg) => arg.replace(/[\r\n]+/g, ' '));
          execFile(this.#command, clean, { env: { ...process.env, NOTIFY_SOCKET: socket }, timeout: 10_000 }, (error, _stdout, stderr) => {
            if (error !== null && !this.#warned) {
              this.#warned = true;
              const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `${this.#command} is not installed` : (stderr.trim() || error.message);
              this.#log.warn({ notifySocket: socket }, `cannot tell systemd how the helper is doing: ${why}`);
            }
            resolve();
          });
        }),
    );
    return this.#queue;
  }
}
