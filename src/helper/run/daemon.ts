import { watch as watchFiles, type FSWatcher } from 'chokidar';
import { basename, dirname } from 'node:path';
import { parseConfig, readConfigText, type ConfigInputs, type HelperConfig } from '../config/index.ts';
import { Notifier, WrappedProgram, exitCodeOf, stopExitCode } from '../program/index.ts';
import { programSpec, sameProgram } from './program-spec.ts';
import { startHealthServer, type HealthServer } from '../health/index.ts';
import { errorMessage, toError, type Logger } from '../log/index.ts';
import { HelperMetrics, metricsExposition } from '../metrics/index.ts';
import { VERSION } from '../../spiffe/version.ts';
import { ServiceNotifier } from '../systemd/index.ts';
import { Session } from '../pipeline/index.ts';
import { Collector, holdYoungGeneration, releaseYoungGeneration } from './memory.ts';

export interface HelperOptions {
  /** What the config is loaded from again on a reload: the file (if any), the environment, the flags. */
  readonly config: ConfigInputs;
  readonly log: Logger;
}

/** The health listener and the config it was started from, so a reload that keeps it keeps the socket. */
interface Listener {
  readonly key: string;
  readonly server: HealthServer;
}

/**
 * The daemon owns the lifecycle: what outlives one config (the health listener, the wrapped program,
 * its notifier, signals, the config watch) and the swap from one session (one config's pipeline) to
 * the next. A reload is a transaction: the next session, listener and program are built and checked
 * first; any failure leaves the running ones untouched. Resolves `exitCode` with the code the process
 * should end with.
 */
export class Daemon {
  readonly #options: HelperOptions;
  readonly #log: Logger;
  readonly #metrics = new HelperMetrics();
  readonly #service: ServiceNotifier;
  #ready = false;
  readonly #collector = new Collector();
  #session: Session;
  /** The session the health listener reports on: during a swap, the previous one until the next has written. */
  #reporting: Session;
  #listener: Listener | undefined;
  #program: WrappedProgram | undefined;
  /** Made by start(), with the program it tells. */
  #notifier: Notifier | undefined;
  #watcher: FSWatcher | undefined;
  #reloading: Promise<void> = Promise.resolve();
  /** The text the running config came from (read once, by its load), so file events that change nothing are ignored. */
  #configText: string | undefined;
  #stopping = false;
  readonly #exited = Promise.withResolvers<number>();
  readonly exitCode: Promise<number> = this.#exited.promise;

  constructor(config: HelperConfig, options: HelperOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#service = ServiceNotifier.fromEnvironment(options.log);
    this.#session = this.#newSession(config);
    this.#reporting = this.#session;
    this.#configText = config.text;
  }

  async start(): Promise<void> {
    holdYoungGeneration();
    // Before anything is started: a cert_dir another helper writes ends the start here.
    await this.#session.lock();
    const { config } = this.#session;
    this.#program = await this.#newProgram(config);
    this.#notifier = this.#newNotifier(config);
    process.on('SIGTERM', this.#onStopSignal);
    process.on('SIGINT', this.#onStopSignal);
    process.on('SIGHUP', this.#onReloadSignal);
    const file = this.#options.config.file;
    if (file !== undefined) {
      // The directory is watched, not the file: an editor's rename-over and a Kubernetes ConfigMap's
      // ..data swap replace the file without changing it.
      const name = basename(file);
      this.#watcher = watchFiles(dirname(file), { depth: 0, ignoreInitial: true, followSymlinks: false });
      this.#watcher.on('all', (_event, path) => {
        const changed = basename(path);
        if (changed === name || changed.startsWith('..data')) void this.reload('config file changed', { onlyIfChanged: true });
      });
    }
    this.#listener = await this.#listen(this.#session.config);
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
    const previous = this.#session;
    let next: Session | undefined;
    let listener: Listener | undefined;
    let program: WrappedProgram | undefined;
    try {
      const file = this.#options.config.file;
      const text = file === undefined ? undefined : await readConfigText(file);
      if (onlyIfChanged && text === this.#configText) return;
      this.#configText = text;
      const config = await parseConfig(text, this.#options.config);
      for (const warning of config.warnings) this.#log.warn(warning);
      next = this.#newSession(config);
      await next.lock();
      listener = await this.#listen(config);
      if (!sameProgram(previous.config, config)) program = await this.#newProgram(config);
    } catch (error) {
      this.#metrics.configReload(false);
      await next?.close();
      this.#log.error(`${reason}; the new config is not applied, the running one stays: ${errorMessage(error)}`);
      return;
    }
    if (this.#stopping) {
      await next.close();
      if (listener !== this.#listener) await listener?.server.close();
      return;
    }
    this.#metrics.configReload(true);
    const { config } = next;
    this.#log.info({ reason }, 'applying reloaded config');
    this.#notifier?.close();
    if (!sameProgram(previous.config, config)) {
      // Replace the program first, so the old one's exit is not taken for the program ending.
      const old = this.#program;
      this.#program = program;
      await old?.stop();
    }
    this.#notifier = this.#newNotifier(config);
    await previous.close();
    if (listener !== this.#listener) {
      await this.#listener?.server.close();
      this.#listener = listener;
    }
    this.#session = next;
    await next.start(previous.seed());
    this.#reporting = next;
  }

  /**
   * The health listener `config` asks for: the running one when its settings are the same, else a
   * new one (which fails here, before anything is swapped, when its port is taken).
   */
  async #listen(config: HelperConfig): Promise<Listener | undefined> {
    const health = config.healthChecks;
    if (!health.listenerEnabled || !config.daemonMode) return undefined;
    const key = JSON.stringify([health.bindAddress, health.bindPort, health.livenessPath, health.readinessPath]);
    if (this.#listener?.key === key) return this.#listener;
    const server = await startHealthServer({
      bindAddress: health.bindAddress,
      port: health.bindPort,
      livenessPath: health.livenessPath,
      readinessPath: health.readinessPath,
      state: { readiness: () => this.#reporting.health.readiness(), liveness: () => this.#reporting.health.liveness() },
      refresh: () => this.#reporting.check(),
      metrics: await metricsExposition(this.#metrics, { version: VERSION }),
    });
    this.#log.info({ address: health.bindAddress, port: server.port }, 'health listener started');
    return { key, server };
  }

  /**
   * Stops everything; the program gets `signal` (then SIGKILL after the kill timeout). The helper
   * exits with `exitCode` when given, else as stopExitCode says (0 without a program).
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', exitCode?: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#log.info({ signal }, 'stopping');
    void this.#service.stopping();
    const program = this.#program;
    const decides = program?.decidesExitCode ?? false;
    const status = await program?.stop(signal);
    await this.#shutdown();
    this.#exited.resolve(exitCode ?? (decides && status !== undefined ? stopExitCode(status, signal) : 0));
  }

  async #shutdown(): Promise<void> {
    process.off('SIGTERM', this.#onStopSignal);
    process.off('SIGINT', this.#onStopSignal);
    process.off('SIGHUP', this.#onReloadSignal);
    this.#notifier?.close();
    await this.#watcher?.close();
    await this.#session.close();
    await this.#listener?.server.close();
    await this.#service.flush();
    releaseYoungGeneration();
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

  /** The program `config` asks for, not started; none (and execa never loaded) without a `cmd`. */
  async #newProgram(config: HelperConfig): Promise<WrappedProgram | undefined> {
    if (config.cmd === undefined) return undefined;
    const program = await WrappedProgram.create(programSpec(config), this.#log, {
      started: () => this.#metrics.programStarted(),
      exited: (code) => this.#metrics.programExited(code),
    });
    program.exited.then(
      (status) => {
        if (this.#stopping || program !== this.#program) return;
        const code = exitCodeOf(status);
        this.#log.info({ code, signal: status.signal }, 'the program exited; the helper exits with its code');
        this.#stopping = true;
        void this.#shutdown().then(() => this.#exited.resolve(code));
      },
      (error: unknown) => void this.#fail(toError(error)),
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
    this.#collector.afterWrite();
    this.#tellServiceManager(changed);
    let started: boolean;
    try {
      started = this.#program?.filesWritten(changed) ?? false;
    } catch (error) {
      void this.#fail(toError(error));
      return;
    }
    if (changed && !started) this.#notifier?.notify();
  }

  /** READY=1 once, after the first complete set is on disk; a STATUS= line for each change after. */
  #tellServiceManager(changed: boolean): void {
    if (!this.#service.enabled || (this.#ready && !changed)) return;
    const { spiffeId } = this.#session;
    const status = `files written ${new Date().toISOString()}${spiffeId === undefined ? '' : ` for ${spiffeId}`}`;
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
