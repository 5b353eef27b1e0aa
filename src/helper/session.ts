import { InvalidMessageError, WorkloadApiClient, WorkloadApiError, formatEndpointAddress, type ConnectionState, type Watch, type X509Context } from '../workload/index.ts';
import type { JwtBundleSet, X509Svid } from '../svid/index.ts';
import { FileSetWriter } from '../output/index.ts';
import { HealthState, startHealthServer, type HealthServer } from '../health/index.ts';
import type { HelperConfig } from '../config/index.ts';
import type { Logger } from '../log/index.ts';
import { metricsExposition, type HelperMetrics, type UpdateKind } from '../metrics/index.ts';
import { VERSION } from '../version.ts';
import { FilePlan, X509_OUTPUT, configuredOutputs, jwtSvidOutput, writesX509 } from './file-plan.ts';
import { JwtSvidRenewer } from './jwt-renewal.ts';

/** What a session hands back to the helper after each write. */
export interface SessionEvents {
  /** A write changed the files on disk and every configured output is now present. */
  onComplete(changed: boolean): void;
  /** A watch ended for good (e.g. InvalidArgument): the helper cannot go on. */
  onFatal(error: Error): void;
}

/** Material carried from one session to the next on a config reload, so no identity is dropped. */
export interface SessionSeed {
  readonly x509Context: X509Context | undefined;
  readonly jwtBundles: JwtBundleSet | undefined;
}

/**
 * One configuration's worth of running parts: the Workload API watches, JWT renewers, the file
 * writer and the health state. A config reload replaces the session; the wrapped program belongs to
 * the helper and outlives sessions.
 */
export class Session {
  readonly config: HelperConfig;
  readonly health: HealthState;
  readonly #log: Logger;
  readonly #events: SessionEvents;
  readonly #metrics: HelperMetrics;
  readonly #client: WorkloadApiClient;
  readonly #writer: FileSetWriter;
  readonly #plan: FilePlan;
  readonly #watches: Watch[] = [];
  readonly #renewers: JwtSvidRenewer[] = [];
  #healthServer: HealthServer | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  /** The newest reason the session is not complete, for one-shot failures and logs. */
  lastProblem: string | undefined;

  /** `metrics` outlives sessions: counts survive a config reload. */
  constructor(config: HelperConfig, log: Logger, events: SessionEvents, metrics: HelperMetrics) {
    this.config = config;
    this.#log = log;
    this.#events = events;
    this.#metrics = metrics;
    this.#client = new WorkloadApiClient({ ...(config.agentAddress === undefined ? {} : { address: config.agentAddress }) });
    this.#writer = new FileSetWriter(config.certDir);
    this.#plan = new FilePlan(config);
    this.health = new HealthState(configuredOutputs(config), {
      expiryMarginMs: config.healthChecks.readyExpiryMarginMs,
      agentLostThresholdMs: config.healthChecks.agentLostThresholdMs,
    });
  }

  get endpoint(): string {
    return formatEndpointAddress(this.#client.address);
  }

  async start(seed?: SessionSeed): Promise<void> {
    const { config } = this;
    if (config.healthChecks.listenerEnabled && config.daemonMode) {
      this.#healthServer = await startHealthServer({
        bindAddress: config.healthChecks.bindAddress,
        port: config.healthChecks.bindPort,
        livenessPath: config.healthChecks.livenessPath,
        readinessPath: config.healthChecks.readinessPath,
        state: this.health,
        metrics: await metricsExposition(this.#metrics, { version: VERSION }),
      });
      this.#log.info({ address: config.healthChecks.bindAddress, port: this.#healthServer.port }, 'health listener started');
    }
    this.#metrics.keepOutputs(configuredOutputs(config));
    this.#heartbeat = setInterval(() => this.health.beat(), 1_000);
    this.#heartbeat.unref();
    this.health.beat();

    if (seed?.x509Context !== undefined) this.#acceptX509(seed.x509Context);
    if (seed?.jwtBundles !== undefined) this.#plan.setJwtBundles(seed.jwtBundles);
    if (seed !== undefined) this.#scheduleWrite();

    if (writesX509(config)) {
      this.#watch(
        'X.509-SVID',
        this.#client.watchX509Context({
          onUpdate: (context) => {
            this.#metrics.updateReceived('x509_context');
            if (this.#acceptX509(context)) this.#scheduleWrite();
          },
          onError: (error) => this.#discarded('X.509-SVID', 'x509_context', error),
          onStateChange: (state) => this.#agentState(state),
        }),
      );
    }
    if (config.jwtBundle !== undefined) {
      this.#watch(
        'JWT bundle',
        this.#client.watchJwtBundles({
          onUpdate: (bundles) => {
            this.#metrics.updateReceived('jwt_bundles');
            this.#plan.setJwtBundles(bundles);
            this.#scheduleWrite();
          },
          onError: (error) => this.#discarded('JWT bundle', 'jwt_bundles', error),
          ...(!writesX509(config) ? { onStateChange: (state: ConnectionState) => this.#agentState(state) } : {}),
        }),
      );
    }
    // With no stream to watch, the JWT-SVID fetches are what tells whether the agent is reachable.
    const fetchesReportAgent = !writesX509(config) && config.jwtBundle === undefined;
    for (const jwt of config.jwtSvids) {
      const renewer = new JwtSvidRenewer(this.#client, {
        audience: jwt.audience,
        extraAudiences: jwt.extraAudiences,
        spiffeId: jwt.spiffeId,
        hint: config.hint,
        onToken: (svid) => {
          this.#metrics.updateReceived('jwt_svid');
          this.#log.info({ spiffeId: svid.id.toString(), audience: jwt.audience, expiresAt: svid.expiresAt }, 'JWT-SVID fetched');
          this.#plan.setJwtSvid(jwt.fileName, svid);
          if (fetchesReportAgent) this.#fetchState('connected');
          this.#scheduleWrite();
        },
        onError: (error, retryInMs) => {
          this.#problem(`JWT-SVID for audience ${JSON.stringify(jwt.audience)} not fetched; retrying in ${retryInMs} ms`, error);
          this.health.recordWriteFailure(jwtSvidOutput(jwt.fileName), error.message);
          if (fetchesReportAgent) this.#fetchState('retrying', error.message);
        },
      });
      this.#renewers.push(renewer);
      renewer.start();
    }
  }

  /** What the next session needs to render files at once. */
  seed(): SessionSeed {
    return { x509Context: this.#plan.x509Context, jwtBundles: this.#plan.jwtBundles };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const renewer of this.#renewers) renewer.stop();
    for (const watch of this.#watches) watch.close();
    this.#client.close();
    await this.#healthServer?.close();
    await this.#writing;
  }

  #watch(what: string, watch: Watch): void {
    this.#watches.push(watch);
    watch.done.catch((error: unknown) => {
      if (this.#closed) return;
      const failure = error instanceof Error ? error : new Error(String(error));
      this.#log.error({ err: failure }, `${what} watch stopped: ${failure.message}`);
      this.health.recordFatal(failure.message);
      this.#events.onFatal(failure);
    });
  }

  #acceptX509(context: X509Context): boolean {
    let svids: X509Svid[];
    try {
      svids = this.#plan.setX509(context, new Date());
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#problem('X.509-SVID update skipped; the last good files stay', error);
      this.#metrics.updateSkipped('x509_context', 'no_matching_svid');
      this.health.recordWriteFailure(X509_OUTPUT, message);
      return false;
    }
    // Health follows the SVID that expires first: the files are only as fresh as it.
    const [first, ...rest] = svids;
    if (first === undefined) return false;
    const svid = rest.reduce((soonest, next) => (next.notAfter < soonest.notAfter ? next : soonest), first);
    this.health.setX509({ spiffeId: svid.id.toString(), notAfter: svid.notAfter });
    this.#log.info({ spiffeId: svid.id.toString(), notAfter: svid.notAfter, svids: context.svids.length, written: svids.length }, 'X.509-SVID update received');
    return true;
  }

  #agentState(state: ConnectionState): void {
    const detail = 'error' in state ? state.error.message : undefined;
    this.health.setAgentState(state.status, detail);
    this.#metrics.connection(state.status);
    if (state.status === 'retrying') {
      this.lastProblem = state.error.message;
      this.#log.warn({ code: state.error.code, retryInMs: state.retryInMs }, `Workload API: ${state.error.message}`);
    } else if (state.status === 'connecting') {
      this.#log.debug({ endpoint: this.endpoint }, 'Workload API connecting');
    } else {
      this.#log.info({ endpoint: this.endpoint }, `Workload API ${state.status}`);
    }
  }

  #fetchState(status: 'connected' | 'retrying', detail?: string): void {
    this.health.setAgentState(status, detail);
    this.#metrics.connection(status);
  }

  /** Stream errors are reported by the state change that follows; only discarded messages are news here. */
  #discarded(what: string, kind: UpdateKind, error: Error): void {
    if (error instanceof WorkloadApiError) return;
    if (error instanceof InvalidMessageError) this.#metrics.updateSkipped(kind, 'invalid_message');
    this.#problem(`${what} update discarded; the last good files stay`, error);
  }

  #problem(what: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.lastProblem = `${what}: ${message}`;
    this.#log.warn(`${what}: ${message}`);
  }

  /** Writes are serialised: each one renders the whole set from the newest material. */
  #scheduleWrite(): void {
    this.#writing = this.#writing.then(() => this.#write());
  }

  async #write(): Promise<void> {
    if (this.#closed) return;
    // Snapshot first: material that arrives during the write belongs to the next write.
    const ready = this.#plan.ready();
    const complete = this.#plan.complete();
    const files = this.#plan.files();
    const expiries = this.#plan.expiries();
    try {
      const { changed } = await this.#writer.write(files);
      for (const output of ready) this.health.recordWrite(output);
      if (changed) this.#metrics.filesWritten(new Date(), expiries);
      if (changed) this.#log.info({ dir: this.config.certDir, outputs: ready }, 'files written');
      else this.#log.debug('files unchanged; the program is not told');
      if (complete) this.#events.onComplete(changed);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.lastProblem = message;
      for (const output of ready) this.health.recordWriteFailure(output, message);
      this.#metrics.writeFailed();
      this.#log.error(`files not written; the previous set stays: ${message}`);
    }
  }
}

