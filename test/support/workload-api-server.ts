import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Server,
  ServerCredentials,
  status as Status,
  type Metadata,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { workloadApiService } from '../../src/workload/proto.ts';
import { TrustDomain, parseJwtBundle, validateJwtSvid } from '../../src/svid/index.ts';
import { TestCa, type IssuedSvid, type LeafOptions } from './test-ca.ts';

export type Method = 'FetchX509SVID' | 'FetchX509Bundles' | 'FetchJWTSVID' | 'FetchJWTBundles' | 'ValidateJWTSVID';

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

export type StreamMethod = 'FetchX509SVID' | 'FetchX509Bundles' | 'FetchJWTBundles';

/** One call as the server received it. */
export interface ReceivedCall {
  readonly method: Method;
  /** The `workload.spiffe.io` metadata value; undefined when absent. */
  readonly header: string | undefined;
  /** The decoded request message (e.g. `{ audience: [...], spiffe_id }` for FetchJWTSVID). */
  readonly request: unknown;
}

interface Refusal {
  readonly code: Status;
  readonly details: string;
}

function toStruct(value: unknown): unknown {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toStruct) } };
  return { structValue: { fields: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toStruct(v)])) } };
}

/**
 * A real gRPC SPIFFE Workload API server on a unix socket (or loopback TCP), issuing real certificates
 * and JWTs from an in-memory CA, with knobs for every fault the client and the helper must survive:
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
  readonly #ownDir: string | undefined;
  readonly #x509Streams = new Set<ServerWritableStream<unknown, unknown>>();
  readonly #bundleStreams = new Set<ServerWritableStream<unknown, unknown>>();
  readonly #jwtBundleStreams = new Set<ServerWritableStream<unknown, unknown>>();
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
    this.#server.addService(workloadApiService, {
      FetchX509SVID: (call: ServerWritableStream<unknown, unknown>) => this.#openStream('FetchX509SVID', call, this.#x509Streams, () => this.#x509Response()),
      FetchX509Bundles: (call: ServerWritableStream<unknown, unknown>) =>
        this.#openStream('FetchX509Bundles', call, this.#bundleStreams, () => this.#x509BundlesResponse()),
      FetchJWTBundles: (call: ServerWritableStream<unknown, unknown>) =>
        this.#openStream('FetchJWTBundles', call, this.#jwtBundleStreams, () => this.#jwtBundlesResponse()),
      FetchJWTSVID: (call: ServerUnaryCall<{ audience: string[]; spiffe_id: string }, unknown>, callback: sendUnaryData<unknown>) =>
        this.#fetchJwtSvid(call, callback),
      ValidateJWTSVID: (call: ServerUnaryCall<{ audience: string; svid: string }, unknown>, callback: sendUnaryData<unknown>) =>
        this.#validateJwtSvid(call, callback),
    });
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
    this.#push(this.#x509Streams, this.#x509Response());
  }

  /** Serves these identities from now on (an empty list answers PermissionDenied). */
  async setSvids(svids: readonly { spiffeId: string; hint?: string }[]): Promise<void> {
    this.#identities = svids.map((s) => ({ spiffeId: s.spiffeId, hint: s.hint ?? '' }));
    await this.#issue();
    if (this.#identities.length === 0) {
      this.#endStreams(this.#x509Streams, { code: Status.PERMISSION_DENIED, details: 'no identity issued' });
    } else {
      this.#push(this.#x509Streams, this.#x509Response());
    }
  }

  async addFederatedBundle(trustDomain: string): Promise<TestCa> {
    const ca = await TestCa.create(trustDomain);
    this.#federated.set(trustDomain, ca);
    this.#pushAll();
    return ca;
  }

  removeFederatedBundle(trustDomain: string): void {
    this.#federated.delete(trustDomain);
    this.#pushAll();
  }

  /** JWT-SVIDs issued from now on carry these claims over the normal ones (e.g. an `exp` in the past). */
  setJwtClaims(claims: Record<string, unknown> = {}): void {
    this.#jwtClaims = claims;
  }

  /** Every call from now on fails with this status (undefined: serve again). */
  setRefusal(code: Status | undefined, details = 'refused by the test server'): void {
    this.#refusal = code === undefined ? undefined : { code, details };
    if (code !== undefined) {
      for (const streams of [this.#x509Streams, this.#bundleStreams, this.#jwtBundleStreams]) this.#endStreams(streams, { code, details });
    }
  }

  /** The next call of `method` fails with this status. */
  failNext(method: Method, code: Status, details = 'injected failure'): void {
    this.#failNext.set(method, [...(this.#failNext.get(method) ?? []), { code, details }]);
  }

  /** Ends every open stream with Unavailable, as an agent restart does. */
  dropStreams(): void {
    for (const streams of [this.#x509Streams, this.#bundleStreams, this.#jwtBundleStreams]) {
      this.#endStreams(streams, { code: Status.UNAVAILABLE, details: 'stream dropped by the test server' });
    }
  }

  /** Sends an arbitrary message (e.g. an invalid one) on every open stream of `method`. */
  pushRaw(message: unknown, method: StreamMethod = 'FetchX509SVID'): void {
    this.#push(this.#streams(method), message);
  }

  /** Calls of `method` from now on are accepted and never answered (undefined: answer every method again). */
  stall(method: Method | undefined): void {
    if (method === undefined) this.#stalled.clear();
    else this.#stalled.add(method);
  }

  /** Pushes the current state again (e.g. the same SVIDs after nothing changed). */
  pushCurrent(): void {
    this.#pushAll();
  }

  openStreams(method: StreamMethod): number {
    return this.#streams(method).size;
  }

  #streams(method: StreamMethod): Set<ServerWritableStream<unknown, unknown>> {
    return { FetchX509SVID: this.#x509Streams, FetchX509Bundles: this.#bundleStreams, FetchJWTBundles: this.#jwtBundleStreams }[method];
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

  #refuse(method: Method, metadata: Metadata, request: unknown): Refusal | undefined {
    const header = metadata.get('workload.spiffe.io')[0]?.toString();
    this.calls.push({ method, header, request });
    if (this.#options.requireHeader !== false && header !== 'true') {
      return { code: Status.INVALID_ARGUMENT, details: 'security header missing from request' };
    }
    const injected = this.#failNext.get(method)?.shift();
    return injected ?? this.#refusal;
  }

  #openStream(
    method: Method,
    call: ServerWritableStream<unknown, unknown>,
    streams: Set<ServerWritableStream<unknown, unknown>>,
    response: () => unknown,
  ): void {
    const refusal = this.#refuse(method, call.metadata, call.request) ?? (method === 'FetchX509SVID' && this.#issued.length === 0
      ? { code: Status.PERMISSION_DENIED, details: 'no identity issued' }
      : undefined);
    if (refusal !== undefined) {
      call.emit('error', refusal);
      return;
    }
    if (this.#stalled.has(method)) return;
    streams.add(call);
    call.on('cancelled', () => streams.delete(call));
    call.on('close', () => streams.delete(call));
    call.write(response());
  }

  #push(streams: Set<ServerWritableStream<unknown, unknown>>, message: unknown): void {
    for (const call of streams) call.write(message);
  }

  #pushAll(): void {
    this.#push(this.#x509Streams, this.#x509Response());
    this.#push(this.#bundleStreams, this.#x509BundlesResponse());
    this.#push(this.#jwtBundleStreams, this.#jwtBundlesResponse());
  }

  #endStreams(streams: Set<ServerWritableStream<unknown, unknown>>, refusal: Refusal): void {
    for (const call of [...streams]) {
      streams.delete(call);
      call.emit('error', refusal);
    }
  }

  #federatedEntries(render: (ca: TestCa) => Buffer): Record<string, Buffer> {
    return Object.fromEntries([...this.#federated].map(([td, ca]) => [`spiffe://${td}`, render(ca)]));
  }

  #x509Response(): unknown {
    return {
      svids: this.#issued.map((svid) => ({
        spiffe_id: svid.spiffeId,
        x509_svid: svid.chainDer,
        x509_svid_key: svid.keyDer,
        bundle: this.ca.bundleDer(),
        hint: svid.hint,
      })),
      crl: [],
      federated_bundles: this.#federatedEntries((ca) => ca.bundleDer()),
    };
  }

  #x509BundlesResponse(): unknown {
    return { crl: [], bundles: { [`spiffe://${this.ca.trustDomain}`]: this.ca.bundleDer(), ...this.#federatedEntries((ca) => ca.bundleDer()) } };
  }

  #jwtBundlesResponse(): unknown {
    return { bundles: { [`spiffe://${this.ca.trustDomain}`]: this.ca.jwks(), ...this.#federatedEntries((ca) => ca.jwks()) } };
  }

  #fetchJwtSvid(call: ServerUnaryCall<{ audience: string[]; spiffe_id: string }, unknown>, callback: sendUnaryData<unknown>): void {
    const refusal = this.#refuse('FetchJWTSVID', call.metadata, call.request);
    if (refusal !== undefined) return callback(refusal);
    if (this.#stalled.has('FetchJWTSVID')) return;
    const { audience, spiffe_id: spiffeId } = call.request;
    if (audience.length === 0) return callback({ code: Status.INVALID_ARGUMENT, details: 'audience must be specified' });
    const identities = this.#identities.filter((identity) => spiffeId === '' || identity.spiffeId === spiffeId);
    if (identities.length === 0) return callback({ code: Status.PERMISSION_DENIED, details: 'no identity issued' });
    const ttlSeconds = this.#options.jwtTtlSeconds ?? 300;
    callback(null, {
      svids: identities.map((identity) => ({
        spiffe_id: identity.spiffeId,
        svid: this.ca.issueJwt(identity.spiffeId, audience, { ttlSeconds, claims: this.#jwtClaims }),
        hint: identity.hint,
      })),
    });
  }

  #validateJwtSvid(call: ServerUnaryCall<{ audience: string; svid: string }, unknown>, callback: sendUnaryData<unknown>): void {
    const refusal = this.#refuse('ValidateJWTSVID', call.metadata, call.request);
    if (refusal !== undefined) return callback(refusal);
    if (this.#stalled.has('ValidateJWTSVID')) return;
    const td = TrustDomain.parse(this.ca.trustDomain);
    validateJwtSvid(call.request.svid, new Map([[td.name, parseJwtBundle(td, this.ca.jwks())]]), call.request.audience).then(
      (svid) => callback(null, { spiffe_id: svid.id.toString(), claims: (toStruct(svid.claims) as { structValue: unknown }).structValue }),
      (error: Error) => callback({ code: Status.INVALID_ARGUMENT, details: error.message }),
    );
  }
}
