import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials, status as Status, type Metadata } from '@grpc/grpc-js';
import { workloadApiService } from '../../src/spiffe/workload/proto.ts';
import { WorkloadApiService, requireSecurityHeader, type Method, type Refusal, type StreamMethod } from '../../src/spiffe/dev/workload-service.ts';
import { TestCa, type IssuedSvid, type LeafOptions } from './test-ca.ts';

export type { Method, StreamMethod };

export interface TestServerOptions {
  /** Default: a fresh temp dir. */
  readonly socketPath?: string;
  readonly trustDomain?: string;
  /** The identities served, in order; default one: spiffe://<td>/workload. */
  readonly svids?: readonly { readonly spiffeId: string; readonly hint?: string }[];
  readonly ttlSeconds?: number;
  readonly jwtTtlSeconds?: number;
  readonly intermediate?: boolean;
  /** Refuse calls without `workload.spiffe.io: true`, as a conforming endpoint must. Default true. */
  readonly requireHeader?: boolean;
  /** Do not bind the socket until listen() is called: an agent that starts after the client. */
  readonly startLate?: boolean;
  /** Listen on 127.0.0.1 at an ephemeral port instead of a unix socket (`address` is then tcp://…). */
  readonly tcp?: boolean;
  /** Issue from this CA (e.g. another server's: two agents of one trust domain); default a new one. */
  readonly ca?: TestCa;
}

/** One call as the server received it. */
export interface ReceivedCall {
  readonly method: Method;
  /** The `workload.spiffe.io` metadata value; undefined when absent. */
  readonly header: string | undefined;
  /** The decoded request message (e.g. `{ audience: [...], spiffe_id }` for FetchJWTSVID). */
  readonly request: unknown;
}

/**
 * A real gRPC SPIFFE Workload API server on a unix socket (or loopback TCP), issuing real certificates
 * and JWTs from an in-memory CA, with knobs for every fault the client and the helper must survive.
 * The protocol is the product's own (src/spiffe/dev/workload-service.ts, which spiffe-helper/dev serves);
 * this adds deliberately broken certificates (TestCa) and fault injection (`admit`). For the happy
 * path, tests use startDevWorkloadApi.
 * - state: rotate(), setSvids(), setJwtClaims(), addFederatedBundle()/removeFederatedBundle(), pushCurrent();
 * - faults: setRefusal(code), failNext(method, code), dropStreams(), pushRaw(message, method),
 *   stall(method), startLate + listen(), stop();
 * - observation: calls (method, security header, request), callCount(), openStreams(), currentSvids.
 */
export class WorkloadApiTestServer {
  readonly ca: TestCa;
  /** The unix socket (unused with `tcp`). */
  readonly socketPath: string;
  /** Every call received, in order. */
  readonly calls: ReceivedCall[] = [];
  readonly #options: TestServerOptions;
  readonly #server = new Server();
  readonly #service: WorkloadApiService;
  readonly #ownDir: string | undefined;
  readonly #federated = new Map<string, TestCa>();
  #identities: { spiffeId: string; hint: string }[];
  #issued: (IssuedSvid & { hint: string })[] = [];
  #leafOptions: LeafOptions = {};
  #jwtClaims: Record<string, unknown> = {};
  #refusal: Refusal | undefined;
  readonly #failNext = new Map<Method, Refusal[]>();
  readonly #stalled = new Set<Method>();
  #listening = false;
  #port: number | undefined;

  private constructor(ca: TestCa, socketPath: string, ownDir: string | undefined, options: TestServerOptions) {
    this.ca = ca;
    this.socketPath = socketPath;
    this.#ownDir = ownDir;
    this.#options = options;
    const td = options.trustDomain ?? 'example.org';
    this.#identities = (options.svids ?? [{ spiffeId: `spiffe://${td}/workload` }]).map((s) => ({ spiffeId: s.spiffeId, hint: s.hint ?? '' }));
    this.#service = new WorkloadApiService(
      {
        trustDomain: ca.trustDomain,
        x509Svids: () => this.#issued,
        identities: () => this.#identities,
        issueJwtSvid: (spiffeId, audience) => this.ca.issueJwt(spiffeId, audience, { ttlSeconds: options.jwtTtlSeconds ?? 300, claims: this.#jwtClaims }),
        bundleDer: () => this.ca.bundleDer(),
        jwks: () => this.ca.jwks(),
        federated: () => this.#federated,
      },
      (method, metadata, request) => this.#admit(method, metadata, request),
    );
    this.#server.addService(workloadApiService, this.#service.implementation);
  }

  static async start(options: TestServerOptions = {}): Promise<WorkloadApiTestServer> {
    const ca = options.ca ?? (await TestCa.create(options.trustDomain ?? 'example.org', { intermediate: options.intermediate ?? false }));
    const ownDir = options.socketPath === undefined ? await mkdtemp(join(tmpdir(), 'wlapi-')) : undefined;
    const server = new WorkloadApiTestServer(ca, options.socketPath ?? join(ownDir!, 'agent.sock'), ownDir, options);
    await server.#issue();
    if (options.startLate !== true) await server.listen();
    return server;
  }

  /** What a client dials: unix:///… (or tcp://127.0.0.1:port once listening with `tcp`). */
  get address(): string {
    if (this.#options.tcp !== true) return `unix://${this.socketPath}`;
    if (this.#port === undefined) throw new Error('a tcp test server has no address before listen()');
    return `tcp://127.0.0.1:${this.#port}`;
  }

  /** Binds the socket (once). */
  async listen(): Promise<void> {
    if (this.#listening) return;
    const target = this.#options.tcp === true ? '127.0.0.1:0' : `unix://${this.socketPath}`;
    this.#port = await new Promise<number>((resolve, reject) =>
      this.#server.bindAsync(target, ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
    this.#listening = true;
  }

  /** The serial numbers (hex) of the leaf certificates currently served. */
  get currentSvids(): readonly (IssuedSvid & { hint: string })[] {
    return this.#issued;
  }

  /** Issues new SVIDs for every identity and pushes them to every open X.509 stream. */
  async rotate(leafOptions: LeafOptions = this.#leafOptions): Promise<void> {
    this.#leafOptions = leafOptions;
    await this.#issue();
    this.#service.push('FetchX509SVID');
  }

  /** Serves these identities from now on (an empty list answers PermissionDenied). */
  async setSvids(svids: readonly { spiffeId: string; hint?: string }[]): Promise<void> {
    this.#identities = svids.map((s) => ({ spiffeId: s.spiffeId, hint: s.hint ?? '' }));
    await this.#issue();
    if (this.#identities.length === 0) {
      this.#service.end({ code: Status.PERMISSION_DENIED, details: 'no identity issued' }, 'FetchX509SVID');
    } else {
      this.#service.push('FetchX509SVID');
    }
  }

  async addFederatedBundle(trustDomain: string): Promise<TestCa> {
    const ca = await TestCa.create(trustDomain);
    this.#federated.set(trustDomain, ca);
    this.#service.push();
    return ca;
  }

  removeFederatedBundle(trustDomain: string): void {
    this.#federated.delete(trustDomain);
    this.#service.push();
  }

  /** JWT-SVIDs issued from now on carry these claims over the normal ones (e.g. an `exp` in the past). */
  setJwtClaims(claims: Record<string, unknown> = {}): void {
    this.#jwtClaims = claims;
  }

  /** Every call from now on fails with this status (undefined: serve again). */
  setRefusal(code: Status | undefined, details = 'refused by the test server'): void {
    this.#refusal = code === undefined ? undefined : { code, details };
    if (code !== undefined) this.#service.end({ code, details });
  }

  /** The next call of `method` fails with this status. */
  failNext(method: Method, code: Status, details = 'injected failure'): void {
    this.#failNext.set(method, [...(this.#failNext.get(method) ?? []), { code, details }]);
  }

  /** Ends every open stream with Unavailable, as an agent restart does. */
  dropStreams(): void {
    this.#service.end({ code: Status.UNAVAILABLE, details: 'stream dropped by the test server' });
  }

  /** Sends an arbitrary message (e.g. an invalid one) on every open stream of `method`. */
  pushRaw(message: unknown, method: StreamMethod = 'FetchX509SVID'): void {
    this.#service.pushRaw(message, method);
  }

  /** Calls of `method` from now on are accepted and never answered (undefined: answer every method again). */
  stall(method: Method | undefined): void {
    if (method === undefined) this.#stalled.clear();
    else this.#stalled.add(method);
  }

  /** Pushes the current state again (e.g. the same SVIDs after nothing changed). */
  pushCurrent(): void {
    this.#service.push();
  }

  openStreams(method: StreamMethod): number {
    return this.#service.openStreams(method);
  }

  callCount(method: Method): number {
    return this.calls.filter((call) => call.method === method).length;
  }

  async stop(): Promise<void> {
    this.#server.forceShutdown();
    if (this.#ownDir !== undefined) await rm(this.#ownDir, { recursive: true, force: true });
  }

  async #issue(): Promise<void> {
    const ttlSeconds = this.#options.ttlSeconds ?? 3600;
    this.#issued = await Promise.all(
      this.#identities.map(async ({ spiffeId, hint }) => ({ ...(await this.ca.issueSvid(spiffeId, { ttlSeconds, ...this.#leafOptions })), hint })),
    );
  }

  /** Every call is recorded, then refused as configured (a missing header, failNext, setRefusal) or stalled. */
  #admit(method: Method, metadata: Metadata, request: unknown): Refusal | 'stall' | undefined {
    this.calls.push({ method, header: metadata.get('workload.spiffe.io')[0]?.toString(), request });
    const refusal = (this.#options.requireHeader !== false ? requireSecurityHeader(method, metadata, request) : undefined) ?? this.#failNext.get(method)?.shift() ?? this.#refusal;
    return refusal ?? (this.#stalled.has(method) ? 'stall' : undefined);
  }
}
