import { InvalidMessageError, PROMPT_BACKOFF, WorkloadApiClient, WorkloadApiError, formatEndpointAddress, type BackoffPolicy, type ConnectionState, type X509Context } from '../../spiffe/workload/index.ts';
import { JwtSource, NoMatchingSvidError, X509Source, type SourceOptions } from '../../spiffe/sources/index.ts';
import type { JwtBundleSet, JwtSvid, X509Svid } from '../../spiffe/svid/index.ts';
import { FileSetWriter } from '../output/index.ts';
import { HealthState } from '../health/index.ts';
import { JWT_BUNDLE_OUTPUT, X509_OUTPUT, configuredOutputs, jwtSvidOutput, type HelperConfig, type JwtSvidOutput, type OutputName } from '../config/index.ts';
import { errorMessage, toError, type Logger } from '../log/index.ts';
import type { HelperMetrics, UpdateKind } from '../metrics/index.ts';
import { reportAgentState } from './agent-state.ts';
import { lockCertDir, type CertDirLock } from './cert-dir-lock.ts';
import { FilePlan, writesX509, x509Picker } from './file-plan.ts';
import { DriftGuard } from './drift-guard.ts';
import { FirstWriteGate } from './first-write.ts';
import { JwtSvidRenewer } from './jwt-renewal.ts';
import { WriteQueue } from './write-queue.ts';

/** What a session hands back to its owner after each write. */
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
  /** By jwtRequestKey(): a token is carried only to an entry that asks for exactly the same. */
  readonly jwtSvids: ReadonlyMap<string, JwtSvid>;
}

const jwtRequestKey = (jwt: JwtSvidOutput): string => JSON.stringify([jwt.fileName, jwt.audience, jwt.extraAudiences, jwt.spiffeId ?? null]);
const describeJwt = (jwt: JwtSvidOutput): string => `JWT-SVID for audience ${JSON.stringify(jwt.audience)}`;
/** A one-shot run is bounded by its deadline, so it looks again promptly; a daemon backs off further. */
const retries = (config: HelperConfig): { backoff?: BackoffPolicy } => (config.daemonMode ? {} : { backoff: PROMPT_BACKOFF });

/**
 * One configuration's pipeline, wiring only: the X509Source and JwtSource on one Workload API
 * client and the JWT renewers feed the file plan; the write queue writes it, the drift guard keeps
 * it on disk, the health state and metrics hear of each step. Building one (the constructor) starts
 * nothing, so a config reload can build the next one completely before it replaces this one; the
 * daemon owns what outlives a config (the health listener, the program, signals).
 */
export class Session {
  readonly config: HelperConfig;
  readonly health: HealthState;
  readonly #log: Logger;
  readonly #events: SessionEvents;
  readonly #metrics: HelperMetrics;
  readonly #client: WorkloadApiClient;
  readonly #plan: FilePlan;
  readonly #firstWrite: FirstWriteGate;
  readonly #guard: DriftGuard;
  readonly #writes: WriteQueue;
  /** Aborts the sources' create() calls still waiting for their first value when the session closes. */
  readonly #abort = new AbortController();
  readonly #sources: Array<X509Source | JwtSource> = [];
  readonly #renewers: JwtSvidRenewer[] = [];
  #fatal = false;
  #skipped = '';
  #closed = false;
  /** The session's claim on cert_dir: one helper per directory (cert-dir-lock.ts). */
  #lock: Promise<CertDirLock> | undefined;
  /** The newest reason the session is not complete, for one-shot failures and logs. */
  lastProblem: string | undefined;
  /** The SPIFFE ID of the X.509-SVID the files follow (the first to expire), once one is accepted. */
  spiffeId: string | undefined;

  /** `metrics` outlives sessions: counts survive a config reload. */
  constructor(config: HelperConfig, log: Logger, events: SessionEvents, metrics: HelperMetrics) {
    this.config = config;
    this.#log = log;
    this.#events = events;
    this.#metrics = metrics;
    this.#client = new WorkloadApiClient({ ...(config.agentAddress === undefined ? {} : { address: config.agentAddress }), ...retries(config) });
    this.#plan = new FilePlan(config);
    this.#firstWrite = new FirstWriteGate(config, this.#plan, log, () => void this.#writes.schedule());
    this.health = new HealthState(configuredOutputs(config), {
      expiryMarginMs: config.healthChecks.readyExpiryMarginMs,
      agentLostThresholdMs: config.healthChecks.agentLostThresholdMs,
    });
    const writer = new FileSetWriter(config.certDir, { layout: config.fileLayout });
    this.#guard = new DriftGuard(config.certDir, writer, this.health, log);
    this.#writes = new WriteQueue({
      dir: config.certDir,
      plan: this.#plan,
      writer,
      guard: this.#guard,
      mayWrite: () => this.#firstWrite.allows(),
      health: this.health,
      metrics,
      log,
      onComplete: (changed) => events.onComplete(changed),
      onFailure: (message) => void (this.lastProblem = message),
    });
  }

  get endpoint(): string {
    return formatEndpointAddress(this.#client.address);
  }

  /** Claims cert_dir, or rejects naming the helper that writes it; start() claims it too. */
  async lock(): Promise<void> {
    await (this.#lock ??= lockCertDir(this.config.certDir));
  }

  /** Starts the watches; with a seed, resolves once the seeded material is written. */
  async start(seed?: SessionSeed): Promise<void> {
    await this.lock();
    const { config } = this;
    this.#metrics.keepOutputs(configuredOutputs(config));

    if (writesX509(config)) {
      const created = X509Source.create({ ...this.#sourceOptions('X.509-SVID', X509_OUTPUT, 'x509_context', true), picker: x509Picker(config) });
      void this.#opened('X.509-SVID', created, (source) => {
        const onUpdate = (context: X509Context): void => {
          this.#metrics.updateReceived('x509_context');
          if (this.#acceptX509(context)) void this.#writes.schedule();
        };
        source.on('update', ({ context }) => onUpdate(context));
        onUpdate(source.context);
      });
    }
    const jwtSvids = config.jwtSvids.map((jwt) => ({ jwt, seeded: seed?.jwtSvids.get(jwtRequestKey(jwt)) }));
    for (const { jwt, seeded } of jwtSvids) if (seeded !== undefined) this.#acceptJwtSvid(jwt, seeded);
    if (config.jwtBundle !== undefined || jwtSvids.length > 0) {
      const created = JwtSource.create(this.#sourceOptions('JWT bundle', JWT_BUNDLE_OUTPUT, 'jwt_bundles', !writesX509(config)));
      void this.#opened('JWT bundle', created, (source) => {
        if (config.jwtBundle !== undefined) {
          const onUpdate = (bundles: JwtBundleSet): void => {
            this.#metrics.updateReceived('jwt_bundles');
            this.#plan.setJwtBundles(bundles);
            this.health.recordAccepted(JWT_BUNDLE_OUTPUT);
            void this.#writes.schedule();
          };
          source.on('update', onUpdate);
          onUpdate(source.bundles);
        }
        for (const { jwt } of jwtSvids) this.#renew(source, jwt);
      });
    }

    if (seed?.x509Context !== undefined) this.#acceptX509(seed.x509Context);
    if (seed?.jwtBundles !== undefined) this.#plan.setJwtBundles(seed.jwtBundles);
    if (seed !== undefined) {
      this.#firstWrite.open();
      await this.#writes.schedule();
    }
  }

  /** What the next session needs to render files at once. */
  seed(): SessionSeed {
    const jwtSvids = new Map<string, JwtSvid>();
    for (const jwt of this.config.jwtSvids) {
      const svid = this.#plan.jwtSvids.get(jwt.fileName);
      if (svid !== undefined) jwtSvids.set(jwtRequestKey(jwt), svid);
    }
    return { x509Context: this.#plan.x509Context, jwtBundles: this.#plan.jwtBundles, jwtSvids };
  }

  /** Looks at the files on disk now, and writes the last set again if they are not it (see DriftGuard). */
  check(): Promise<void> {
    return this.#guard.check();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#firstWrite.open();
    const settled = Promise.all([this.#writes.close(), this.#guard.close()]);
    this.#abort.abort();
    for (const renewer of this.#renewers) renewer.stop();
    await Promise.all(this.#sources.map((source) => source.close()));
    this.#client.close();
    await settled;
    await this.#lock?.then((lock) => lock.release(), () => undefined);
  }

  /**
   * What every source of the session shares: the session's client, no deadline on the first value (a
   * daemon waits for its agent however long it takes, reporting why in its health), and listeners for
   * what goes wrong while it waits and after.
   */
  #sourceOptions(what: string, output: OutputName, kind: UpdateKind, reportsAgent: boolean): SourceOptions {
    return {
      client: this.#client,
      signal: this.#abort.signal,
      timeoutMs: Infinity,
      on: {
        error: (error) => this.#discarded(what, output, kind, error),
        state: (state) => {
          if (reportsAgent) this.#agentState(state);
          if (state.status === 'failed') this.#stopped(what, state.error);
        },
      },
    };
  }

  /** Takes a source in once it has its first value; a create() that fails ends the session's identity for good. */
  async #opened<S extends X509Source | JwtSource>(what: string, created: Promise<S>, use: (source: S) => void): Promise<void> {
    let source: S;
    try {
      source = await created;
    } catch (error) {
      if (!this.#closed) this.#stopped(what, toError(error));
      return;
    }
    if (this.#closed) return void source.close();
    this.#sources.push(source);
    use(source);
  }

  /** A stream that ended for good (e.g. InvalidArgument): the helper cannot go on. */
  #stopped(what: string, failure: Error): void {
    if (this.#closed || this.#fatal) return;
    this.#fatal = true;
    this.#log.error({ err: failure }, `${what} watch stopped: ${failure.message}`);
    this.health.recordFatal(failure.message);
    this.#events.onFatal(failure);
  }

  #renew(source: JwtSource, jwt: JwtSvidOutput): void {
    const renewer = new JwtSvidRenewer(source, {
      audience: jwt.audience,
      extraAudiences: jwt.extraAudiences,
      spiffeId: jwt.spiffeId,
      hint: this.config.hint,
      ...retries(this.config),
      onToken: (svid) => {
        this.#metrics.updateReceived('jwt_svid');
        this.#log.info({ spiffeId: svid.id.toString(), audience: jwt.audience, expiresAt: svid.expiresAt }, 'JWT-SVID fetched');
        this.#acceptJwtSvid(jwt, svid);
        void this.#writes.schedule();
      },
      onError: (error, retryInMs) => {
        this.#problem(`${describeJwt(jwt)} not fetched; the last good token stays; retrying in ${retryInMs} ms`, error);
        this.health.recordRejected(jwtSvidOutput(jwt.fileName), error.message);
      },
    });
    this.#renewers.push(renewer);
    renewer.start();
  }

  #acceptX509(context: X509Context): boolean {
    let svids: X509Svid[];
    try {
      svids = this.#plan.setX509(context, new Date());
    } catch (error) {
      this.#problem('X.509-SVID update skipped; the last good files stay', error);
      this.#metrics.updateSkipped('x509_context', 'no_matching_svid');
      this.health.recordRejected(X509_OUTPUT, errorMessage(error));
      return false;
    }
    // Health follows the SVID that expires first: the files are only as fresh as it.
    const [first, ...rest] = svids;
    if (first === undefined) return false;
    const svid = rest.reduce((soonest, next) => (next.notAfter < soonest.notAfter ? next : soonest), first);
    this.health.recordAccepted(X509_OUTPUT);
    this.spiffeId = svid.id.toString();
    this.health.setX509({ spiffeId: this.spiffeId, notAfter: svid.notAfter, notBefore: svid.notBefore });
    this.#log.info({ spiffeId: svid.id.toString(), notAfter: svid.notAfter, svids: context.svids.length, written: svids.length }, 'X.509-SVID update received');
    const skipped = this.#plan.skipped.join('; ');
    if (skipped !== this.#skipped && skipped !== '') this.#log.warn(skipped);
    this.#skipped = skipped;
    this.health.setWarning('federated', skipped === '' ? undefined : skipped);
    return true;
  }

  #acceptJwtSvid(jwt: JwtSvidOutput, svid: JwtSvid): void {
    const output = jwtSvidOutput(jwt.fileName);
    this.#plan.setJwtSvid(jwt.fileName, svid);
    this.health.recordAccepted(output);
    this.health.setCredential(output, { what: describeJwt(jwt), notAfter: svid.expiresAt, issuedAt: svid.issuedAt });
  }

  #agentState(state: ConnectionState): void {
    const problem = reportAgentState(state, { health: this.health, metrics: this.#metrics, log: this.#log, endpoint: this.endpoint });
    if (problem !== undefined) this.lastProblem = problem;
  }

  /** Stream errors are reported by the state change that follows; only discarded messages are news here. */
  #discarded(what: string, output: OutputName, kind: UpdateKind, error: Error): void {
    if (error instanceof WorkloadApiError) return;
    // The X509Source's picker found no SVID for the config's hint: the whole update is refused.
    if (error instanceof NoMatchingSvidError) {
      this.#problem(`${what} update skipped; the last good files stay`, error);
      this.#metrics.updateSkipped(kind, 'no_matching_svid');
      this.health.recordRejected(output, error.message);
      return;
    }
    if (error instanceof InvalidMessageError) this.#metrics.updateSkipped(kind, 'invalid_message');
    this.#problem(`${what} update discarded; the last good files stay`, error);
    this.health.recordRejected(output, error.message);
  }

  #problem(what: string, error: unknown): void {
    this.lastProblem = `${what}: ${errorMessage(error)}`;
    this.#log.warn(this.lastProblem);
  }
}
