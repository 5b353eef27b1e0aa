import { watch as watchFiles, type FSWatcher } from 'chokidar';
import { basename, dirname } from 'node:path';
import { parseConfig, readConfigText, type HelperConfig } from '../config/index.ts';
import { Notifier, WrappedProgram, exitCodeOf, type ProgramSpec } from '../process/index.ts';
import type { Logger } from '../log/index.ts';
import { HelperMetrics } from '../metrics/index.ts';
import { ServiceNotifier } from '../systemd/index.ts';
import { Session } from './session.ts';

export interface HelperOptions {
  readonly configFile: string;
  readonly log: Logger;
}

/**
 * The daemon: keeps the files current, runs and tells the wrapped program, reloads its config on
 * SIGHUP or when the file changes, and resolves with the exit code the process should end with.
 */
export class Daemon {
  readonly #options: HelperOptions;
  readonly #log: Logger;
  readonly #metrics = new HelperMetrics();
  readonly #service: ServiceNotifier;
  #ready = false;
  #session: Session;
  #program: WrappedProgram | undefined;
  #programStarted = false;
  #notifier: Notifier;
  #watcher: FSWatcher | undefined;
  #reloading: Promise<void> = Promise.resolve();
  /** The text the running config came from, so file events that change nothing are ignored. */
  #configText: string | undefined;
  #stopping = false;
  #exit!: (code: number) => void;
  readonly exitCode: Promise<number> = new Promise((resolve) => {
    this.#exit = resolve;
  });

  constructor(config: HelperConfig, options: HelperOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#service = ServiceNotifier.fromEnvironment(options.log);
    this.#session = this.#newSession(config);
    this.#program = config.cmd === undefined ? undefined : this.#newProgram(config);
    this.#notifier = this.#newNotifier(config);
  }

  async start(): Promise<void> {
    process.on('SIGTERM', this.#onStopSignal);
    process.on('SIGINT', this.#onStopSignal);
    process.on('SIGHUP', this.#onReloadSignal);
    this.#configText = await readConfigText(this.#options.configFile);
    // The directory is watched, not the file: an editor's rename-over and a Kubernetes ConfigMap's
    // ..data swap replace the file without changing it.
    const name = basename(this.#options.configFile);
    this.#watcher = watchFiles(dirname(this.#options.configFile), { depth: 0, ignoreInitial: true, followSymlinks: false });
    this.#watcher.on('all', (_event, path) => {
      const changed = basename(path);
      if (changed === name || changed.startsWith('..data')) void this.reload('config file changed', { onlyIfChanged: true });
    });
    this.#log.info({ endpoint: this.#session.endpoint, certDir: this.#session.config.certDir }, 'spiffe-helper started');
    await this.#session.start();
  }

  /** Loads the config file again; a bad file is logged and the running config stays. Serialised. */
  reload(reason: string, options: { onlyIfChanged?: boolean } = {}): Promise<void> {
    this.#reloading = this.#reloading.then(() => this.#reload(reason, options.onlyIfChanged ?? false));
    return this.#reloading;
  }

  async #reload(reason: string, onlyIfChanged: boolean): Promise<void> {
    if (this.#stopping) return;
    let config: HelperConfig;
    try {
      const text = await readConfigText(this.#options.configFile);
      if (onlyIfChanged && text === this.#configText) return;
      this.#configText = text;
      config = parseConfig(text, this.#options.configFile);
    } catch (error) {
      this.#metrics.configReload(false);
      this.#log.error(`${reason}; the new config is not applied: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.#metrics.configReload(true);
    this.#log.info({ reason }, 'applying reloaded config');
    const previous = this.#session;
    this.#session = this.#newSession(config);
    this.#notifier.close();
    if (!sameProgram(previous.config, config)) {
      // Replace the program first, so the old one's exit is not taken for the program ending.
      const old = this.#programStarted ? this.#program : undefined;
      this.#program = config.cmd === undefined ? undefined : this.#newProgram(config);
      this.#programStarted = false;
      await old?.stop();
    }
    this.#notifier = this.#newNotifier(config);
    await previous.close();
    await this.#session.start(previous.seed());
  }

  /**
   * Stops everything; the program gets `signal` (then SIGKILL after the kill timeout). The helper
   * exits with `exitCode` when given, else with the program's code (0 without a program).
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', exitCode?: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#log.info({ signal }, 'stopping');
    void this.#service.stopping();
    const programStatus = this.#programStarted ? await this.#program?.stop(signal) : undefined;
    await this.#shutdown();
    this.#exit(exitCode ?? (programStatus === undefined ? 0 : exitCodeOf(programStatus)));
  }

  async #shutdown(): Promise<void> {
    process.off('SIGTERM', this.#onStopSignal);
    process.off('SIGINT', this.#onStopSignal);
    process.off('SIGHUP', this.#onReloadSignal);
    this.#notifier.close();
    await this.#watcher?.close();
    await this.#session.close();
    await this.#service.flush();
  }

  readonly #onStopSignal = (signal: NodeJS.Signals): void => {
    void this.stop(signal);
  };

  readonly #onReloadSignal = (): void => {
    void this.reload('SIGHUP received');
  };

  #newSession(config: HelperConfig): Session {
    return new Session(
      config,
      this.#log,
      {
        onComplete: (changed) => this.#onFilesWritten(changed),
        onFatal: (error) => void this.#fail(error),
      },
      this.#metrics,
    );
  }

  #newProgram(config: HelperConfig): WrappedProgram {
    const program = new WrappedProgram(programSpec(config), this.#log, {
      started: () => this.#metrics.programStarted(),
      exited: (code) => this.#metrics.programExited(code),
    });
    program.exited.then(
      (status) => {
        if (this.#stopping || program !== this.#program) return;
        const code = exitCodeOf(status);
        this.#log.info({ code, signal: status.signal }, 'the program exited; the helper exits with its code');
        this.#stopping = true;
        void this.#shutdown().then(() => this.#exit(code));
      },
      (error: unknown) => void this.#fail(error instanceof Error ? error : new Error(String(error))),
    );
    return program;
  }

  #newNotifier(config: HelperConfig): Notifier {
    return new Notifier({
      action: config.renewAction,
      signal: config.renewSignal,
      pidFile: config.pidFileName,
      program: this.#program,
      command: config.renewCommand,
      commandTimeoutMs: config.renewCommandTimeoutMs,
      debounceMs: config.renewDebounceMs,
      splayMs: config.renewSplayMs,
      log: this.#log,
      onOutcome: (outcome) => this.#metrics.notification(config.renewAction, outcome),
    });
  }

  #onFilesWritten(changed: boolean): void {
    if (this.#stopping) return;
    this.#tellServiceManager(changed);
    if (this.#program !== undefined && !this.#programStarted) {
      this.#programStarted = true;
      try {
        this.#program.start();
      } catch (error) {
        void this.#fail(error instanceof Error ? error : new Error(String(error)));
      }
      return;
    }
    if (changed) this.#notifier.notify();
  }

  /** READY=1 once, after the first complete set is on disk; a STATUS= line for each change after. */
  #tellServiceManager(changed: boolean): void {
    if (!this.#service.enabled || (this.#ready && !changed)) return;
    const spiffeId = this.#session.health.readiness().body.spiffe_id;
    const status = `files written ${new Date().toISOString()}${spiffeId === null ? '' : ` for ${spiffeId}`}`;
    if (this.#ready) void this.#service.status(status);
    else void this.#service.ready(status);
    this.#ready = true;
  }

  async #fail(error: Error): Promise<void> {
    if (this.#stopping) return;
    void this.#service.status(`stopping: ${error.message}`);
    this.#log.error(`stopping: ${error.message}`);
    await this.stop(this.#session.config.stopSignal, 1);
  }
}

function programSpec(config: HelperConfig): ProgramSpec {
  const cmd = config.cmd!;
  return {
    command: cmd.command,
    args: cmd.args,
    stopSignal: config.stopSignal,
    killTimeoutMs: config.killTimeoutMs,
    onExit: config.cmdExit,
    restartBackoffMaxMs: config.cmdRestartBackoffMaxMs,
  };
}

function sameProgram(a: HelperConfig, b: HelperConfig): boolean {
  return JSON.stringify(a.cmd === undefined ? null : programSpec(a)) === JSON.stringify(b.cmd === undefined ? null : programSpec(b));
}
