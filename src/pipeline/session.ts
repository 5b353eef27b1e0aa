import { InvalidMessageError, PROMPT_BACKOFF, WorkloadApiClient, WorkloadApiError, formatEndpointAddress, type BackoffPolicy, type ConnectionState, type X509Context } from '../workload/index.ts';
import { JwtSource, X509Source, type SourceOptions } from '../sources/index.ts';
import type { JwtBundleSet, JwtSvid, X509Svid } from '../svid/index.ts';
import { FileSetWriter, replaceFile } from '../output/index.ts';
import { HealthState, JWT_BUNDLE_OUTPUT, X509_OUTPUT, jwtSvidOutput, type OutputName } from '../health/index.ts';
import type { HelperConfig, JwtSvidOutput } from '../config/index.ts';
import type { Logger } from '../log/index.ts';
import type { HelperMetrics, UpdateKind } from '../metrics/index.ts';
import { FilePlan, configuredOutputs, writesX509, x509Picker } from './file-plan.ts';
import { FileSetWatch } from './file-set-watch.ts';
import { JwtSvidRenewer } from './jwt-renewal.ts';
import { RenderError } from './render.ts';

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

/**
 * How soon the files are looked at again while they are not the set last written, or cannot be
 * watched; otherwise only a change on disk (or a readiness probe) makes the session look.
 */
const RECHECK_MS = 1_000;

const jwtRequestKey = (jwt: JwtSvidOutput): string => JSON.stringify([jwt.fileName, jwt.audience, jwt.extraAudiences, jwt.spiffeId ?? null]);
const describeJwt = (jwt: JwtSvidOutput): string => `JWT-SVID for audience ${JSON.stringify(jwt.audience)}`;
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A one-shot run is bounded by its deadline, so it looks again promptly; a daemon backs off further. */
function retries(config: HelperConfig): { backoff?: BackoffPolicy } {
  return config.daemonMode ? {} : { backoff: PROMPT_BACKOFF };
}

/**
 * One configuration's pipeline: the X509Source and JwtSource on one Workload API client, the JWT
 * renewers, the file plan, the writer
 * and the health state. Building one (the constructor) starts nothing, so a config reload can build
 * the next one completely before it replaces this one; the daemon owns what outlives a config (the
 * health listener, the program, signals).
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
  /** Aborts the sources' create() calls still waiting for their first value when the session closes. */
  readonly #abort = new AbortController();
  readonly #sources: Array<X509Source | JwtSource> = [];
  readonly #renewers: JwtSvidRenewer[] = [];
  #fatal = false;
  readonly #watch: FileSetWatch;
  /** Set by a change on disk: the check running now may have missed it, so another one follows. */
  #recheck = false;
  #recheckTimer: NodeJS.Timeout | undefined;
  /** Watched only once a set is written: before, there is nothing to keep on disk. */
  #written = false;
  /** The session's own writes in flight: what the watch sees meanwhile is their doing. */
  #ownWrites = 0;
  #writing: Promise<void> = Promise.resolve();
  #checking: Promise<void> | undefined;
  /** What is wrong with the files on disk now, as last logged. */
  #filesProblem: string | undefined;
  #skipped = '';
  #closed = false;
  /** The newest reason the session is not complete, for one-shot failures and logs. */
  lastProblem: string | undefined;

  /** `metrics` outlives sessions: counts survive a config reload. */
  constructor(config: HelperConfig, log: Logger, events: SessionEvents, metrics: HelperMetrics) {
    this.config = config;
    this.#log = log;
    this.#events = events;
    this.#metrics = metrics;
    this.#client = new WorkloadApiClient({ ...(config.agentAddress === undefined ? {} : { address: config.agentAddress }), ...retries(config) });
    this.#writer = new FileSetWriter(config.certDir);
    this.#plan = new FilePlan(config);
    this.#watch = new FileSetWatch(config.certDir, () => {
      if (this.#ownWrites === 0) void this.check();
    });
    this.health = new HealthState(configuredOutputs(config), {
      expiryMarginMs: config.healthChecks.readyExpiryMarginMs,
      agentLostThresholdMs: config.healthChecks.agentLostThresholdMs,
    });
  }

  get endpoint(): string {
    return formatEndpointAddress(this.#client.address);
  }

  /** Starts the watches; with a seed, resolves once the seeded material is written. */
  async start(seed?: SessionSeed): Promise<void> {
    const { config } = this;
    this.#metrics.keepOutputs(configuredOutputs(config));

    if (writesX509(config)) {
      const created = X509Source.create({ ...this.#sourceOptions('X.509-SVID', X509_OUTPUT, 'x509_context', true), picker: x509Picker(config) });
      void this.#opened('X.509-SVID', created, (source) => {
        const onUpdate = (context: X509Context): void => {
          this.#metrics.updateReceived('x509_context');
          if (this.#acceptX509(context)) this.#scheduleWrite();
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
            this.#scheduleWrite();
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
      this.#scheduleWrite();
      await this.#writing;
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

  /**
   * Compares the files on disk with the set last written; when they are missing or altered, says so
   * in the health state (not ready) and writes the set again at once. Called on every change the
   * watch sees (none for the session's own writes) and before each readiness answer; calls during a
   * check share it, and one more check follows it, so no change goes unseen.
   */
  check(): Promise<void> {
    this.#recheck = true;
    this.#checking ??= this.#checkUntilQuiet().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watch.close();
    clearTimeout(this.#recheckTimer);
    this.#abort.abort();
    for (const renewer of this.#renewers) renewer.stop();
    await Promise.all(this.#sources.map((source) => source.close()));
    this.#client.close();
    await Promise.all([this.#writing, this.#checking]);
  }

  async #checkUntilQuiet(): Promise<void> {
    clearTimeout(this.#recheckTimer);
    let watched = true;
    while (this.#recheck && !this.#closed) {
      this.#recheck = false;
      // Watched before looking: a change after the look is an event, one before it is seen by it.
      watched = !this.#written || this.#watch.arm();
      await this.#check();
    }
    this.#recheckUnless(watched);
  }

  /** Looks again in a while unless the set is right and watched: nothing else would make it look. */
  #recheckUnless(watched: boolean): void {
    if (this.#closed || (watched && this.#filesProblem === undefined)) return;
    clearTimeout(this.#recheckTimer);
    this.#recheckTimer = setTimeout(() => void this.check(), RECHECK_MS);
    this.#recheckTimer.unref();
  }

  /**
   * After the session's own write: the set is what it just wrote, so it is not read back (that would
   * cost every rotation a verify); the watch is armed again, on the new generation. A change made by
   * someone else while the write ran is seen at the next change, probe or write. Should a check have
   * armed the watch meanwhile, the write's events were queued before its last step returned, so by
   * the next turn of the loop (setImmediate) they have been read, and ignored.
   */
  #ownWriteDone(): void {
    setImmediate(() => {
      this.#ownWrites--;
      if (this.#ownWrites === 0 && this.#written && !this.#closed) this.#recheckUnless(this.#watch.arm());
    });
  }

  async #check(): Promise<void> {
    const difference = await this.#writer.verify().catch(messageOf);
    if (difference === undefined) return this.#setFilesProblem(undefined);
    const problem = `the files in ${this.config.certDir} are not the set last written (${difference})`;
    this.#setFilesProblem(problem);
    try {
      await this.#writer.restore();
      this.#setFilesProblem(undefined);
    } catch (error) {
      this.#setFilesProblem(`${problem}, and writing them again failed: ${messageOf(error)}`);
    }
  }

  /** One log line per change of what is wrong with the files on disk. */
  #setFilesProblem(problem: string | undefined): void {
    if (problem === this.#filesProblem) return;
    if (problem === undefined) this.#log.info({ dir: this.config.certDir }, 'the last good files are back on disk');
    else this.#log.error(`${problem}; writing the last good set again`);
    this.#filesProblem = problem;
    this.health.setProblem('files', problem);
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
      if (!this.#closed) this.#stopped(what, error instanceof Error ? error : new Error(String(error)));
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
        this.#scheduleWrite();
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
      this.health.recordRejected(X509_OUTPUT, messageOf(error));
      return false;
    }
    // Health follows the SVID that expires first: the files are only as fresh as it.
    const [first, ...rest] = svids;
    if (first === undefined) return false;
    const svid = rest.reduce((soonest, next) => (next.notAfter < soonest.notAfter ? next : soonest), first);
    this.health.recordAccepted(X509_OUTPUT);
    this.health.setX509({ spiffeId: svid.id.toString(), notAfter: svid.notAfter, notBefore: svid.notBefore });
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

  /** Stream errors are reported by the state change that follows; only discarded messages are news here. */
  #discarded(what: string, output: OutputName, kind: UpdateKind, error: Error): void {
    if (error instanceof WorkloadApiError) return;
    // The X509Source's picker found no SVID for the config's hint: the whole update is refused.
    if (error instanceof RenderError) {
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
    this.lastProblem = `${what}: ${messageOf(error)}`;
    this.#log.warn(this.lastProblem);
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
    const looseFiles = this.#plan.looseFiles();
    const expiries = this.#plan.expiries();
    // Not watched while it writes: its own changes are no news, and each would cost a callback.
    if (this.#ownWrites++ === 0) this.#watch.close();
    try {
      // Files outside the set first: one that cannot be written then leaves cert_dir's set untouched.
      let changed = false;
      for (const { path, file } of looseFiles) changed = (await replaceFile(path, file)).changed || changed;
      const carry = this.#plan.carry();
      if (files.length > 0 || carry === 'all' || carry.length > 0) changed = (await this.#writer.write(files, { carry })).changed || changed;
      for (const output of ready) this.health.recordWrite(output);
      if (changed) this.#metrics.filesWritten(new Date(), expiries);
      this.#written = true;
      this.health.setWarning('write', undefined);
      this.#setFilesProblem(undefined);
      if (changed) this.#log.info({ dir: this.config.certDir, outputs: ready }, 'files written');
      else this.#log.debug('files unchanged; the program is not told');
      if (complete) this.#events.onComplete(changed);
    } catch (error) {
      const message = messageOf(error);
      this.lastProblem = message;
      this.#metrics.writeFailed();
      this.health.setWarning('write', `the newest files are not written; the previous set stays: ${message}`);
      this.#log.error(`files not written; the previous set stays: ${message}`);
    } finally {
      this.#ownWriteDone();
    }
  }
}
