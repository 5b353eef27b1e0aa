/**
 * The SPIFFE Workload API's five calls served from whatever a content provider holds: the one
 * server-side implementation of the protocol in this project. The development Workload API serves
 * its in-memory CA through it; the test server (test/support/workload-api-server.ts) serves its
 * deliberately broken certificates through it and injects faults with `admit`.
 */
import { status as Status, type Metadata, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation, type sendUnaryData } from '@grpc/grpc-js';
import { TrustDomain, parseJwtBundle, validateJwtSvid } from '../svid/index.ts';

export type Method = 'FetchX509SVID' | 'FetchX509Bundles' | 'FetchJWTSVID' | 'FetchJWTBundles' | 'ValidateJWTSVID';
export type StreamMethod = 'FetchX509SVID' | 'FetchX509Bundles' | 'FetchJWTBundles';
const STREAM_METHODS: readonly StreamMethod[] = ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTBundles'];

export interface Refusal {
  readonly code: Status;
  readonly details: string;
}

/** One identity of the workload: its X.509-SVID (when issued) and the hint that tells it apart. */
export interface ServedIdentity {
  readonly spiffeId: string;
  readonly hint: string;
}
export interface ServedX509Svid extends ServedIdentity {
  /** Leaf then intermediates, concatenated DER. */
  readonly chainDer: Buffer;
  /** PKCS#8 DER. */
  readonly keyDer: Buffer;
}

/** A trust domain's two bundles. */
export interface ServedBundles {
  bundleDer(): Buffer;
  jwks(): Buffer;
}

/** What the server hands out; read afresh on every call and push. */
export interface WorkloadApiContent extends ServedBundles {
  /** The workload's own trust domain (a name, e.g. example.org). */
  readonly trustDomain: string;
  x509Svids(): readonly ServedX509Svid[];
  /** The identities JWT-SVIDs are issued for. */
  identities(): readonly ServedIdentity[];
  issueJwtSvid(spiffeId: string, audience: readonly string[]): string;
  /** Federated trust domains by name. */
  federated(): ReadonlyMap<string, ServedBundles>;
}

/**
 * Runs first on every call: a refusal ends the call with that status, 'stall' leaves it unanswered
 * for ever, undefined serves it.
 */
export type Admit = (method: Method, metadata: Metadata, request: unknown) => Refusal | 'stall' | undefined;

/** What a conforming endpoint must do (SPIFFE Workload Endpoint 4): refuse calls without the header. */
export const requireSecurityHeader: Admit = (_method, metadata) =>
  metadata.get('workload.spiffe.io')[0]?.toString() === 'true' ? undefined : { code: Status.INVALID_ARGUMENT, details: 'security header missing from request' };

type Stream = ServerWritableStream<unknown, unknown>;

const NO_IDENTITY: Refusal = { code: Status.PERMISSION_DENIED, details: 'no identity issued' };

export class WorkloadApiService {
  /** For `Server.addService(workloadApiService, service.implementation)`. */
  readonly implementation: UntypedServiceImplementation;
  readonly #content: WorkloadApiContent;
  readonly #admit: Admit;
  readonly #streams: Record<StreamMethod, Set<Stream>> = { FetchX509SVID: new Set(), FetchX509Bundles: new Set(), FetchJWTBundles: new Set() };

  constructor(content: WorkloadApiContent, admit: Admit = requireSecurityHeader) {
    this.#content = content;
    this.#admit = admit;
    this.implementation = {
      FetchX509SVID: (call: Stream) => this.#open('FetchX509SVID', call),
      FetchX509Bundles: (call: Stream) => this.#open('FetchX509Bundles', call),
      FetchJWTBundles: (call: Stream) => this.#open('FetchJWTBundles', call),
      FetchJWTSVID: (call: ServerUnaryCall<{ audience: string[]; spiffe_id: string }, unknown>, callback: sendUnaryData<unknown>) => this.#fetchJwtSvid(call, callback),
      ValidateJWTSVID: (call: ServerUnaryCall<{ audience: string; svid: string }, unknown>, callback: sendUnaryData<unknown>) => this.#validateJwtSvid(call, callback),
    };
  }

  /** Sends the current content on every open stream of `method` (of every stream method by default). */
  push(method?: StreamMethod): void {
    for (const each of method === undefined ? STREAM_METHODS : [method]) this.pushRaw(this.#response(each), each);
  }

  /** Sends this message, as it is, on every open stream of `method`. */
  pushRaw(message: unknown, method: StreamMethod): void {
    for (const call of this.#streams[method]) call.write(message);
  }

  /** Ends the open streams of `method` (of every stream method by default) with this status. */
  end(refusal: Refusal, method?: StreamMethod): void {
    for (const each of method === undefined ? STREAM_METHODS : [method]) {
      for (const call of [...this.#streams[each]]) {
        this.#streams[each].delete(call);
        call.emit('error', refusal);
      }
    }
  }

  openStreams(method: StreamMethod): number {
    return this.#streams[method].size;
  }

  #open(method: StreamMethod, call: Stream): void {
    const admitted = this.#admit(method, call.metadata, call.request);
    const refusal = admitted ?? (method === 'FetchX509SVID' && this.#content.x509Svids().length === 0 ? NO_IDENTITY : undefined);
    if (refusal === 'stall') return;
    if (refusal !== undefined) {
      call.emit('error', refusal);
      return;
    }
    const streams = this.#streams[method];
    streams.add(call);
    call.on('cancelled', () => streams.delete(call));
    call.on('close', () => streams.delete(call));
    call.write(this.#response(method));
  }

  #federated(render: (bundles: ServedBundles) => Buffer): Record<string, Buffer> {
    return Object.fromEntries([...this.#content.federated()].map(([name, bundles]) => [`spiffe://${name}`, render(bundles)]));
  }

  #response(method: StreamMethod): unknown {
    const content = this.#content;
    const own = `spiffe://${content.trustDomain}`;
    switch (method) {
      case 'FetchX509SVID':
        return {
          svids: content.x509Svids().map((svid) => ({ spiffe_id: svid.spiffeId, x509_svid: svid.chainDer, x509_svid_key: svid.keyDer, bundle: content.bundleDer(), hint: svid.hint })),
          crl: [],
          federated_bundles: this.#federated((bundles) => bundles.bundleDer()),
        };
      case 'FetchX509Bundles':
        return { crl: [], bundles: { [own]: content.bundleDer(), ...this.#federated((bundles) => bundles.bundleDer()) } };
      case 'FetchJWTBundles':
        return { bundles: { [own]: content.jwks(), ...this.#federated((bundles) => bundles.jwks()) } };
    }
  }

  #fetchJwtSvid(call: ServerUnaryCall<{ audience: string[]; spiffe_id: string }, unknown>, callback: sendUnaryData<unknown>): void {
    const refusal = this.#admit('FetchJWTSVID', call.metadata, call.request);
    if (refusal === 'stall') return;
    if (refusal !== undefined) return callback(refusal);
    const { audience, spiffe_id: spiffeId } = call.request;
    if (audience.length === 0) return callback({ code: Status.INVALID_ARGUMENT, details: 'audience must be specified' });
    const identities = this.#content.identities().filter((identity) => spiffeId === '' || identity.spiffeId === spiffeId);
    if (identities.length === 0) return callback(NO_IDENTITY);
    callback(null, {
      svids: identities.map((identity) => ({ spiffe_id: identity.spiffeId, svid: this.#content.issueJwtSvid(identity.spiffeId, audience), hint: identity.hint })),
    });
  }

  #validateJwtSvid(call: ServerUnaryCall<{ audience: string; svid: string }, unknown>, callback: sendUnaryData<unknown>): void {
    const refusal = this.#admit('ValidateJWTSVID', call.metadata, call.request);
    if (refusal === 'stall') return;
    if (refusal !== undefined) return callback(refusal);
    const trustDomain = TrustDomain.parse(this.#content.trustDomain);
    validateJwtSvid(call.request.svid, new Map([[trustDomain.name, parseJwtBundle(trustDomain, this.#content.jwks())]]), call.request.audience).then(
      (svid) => callback(null, { spiffe_id: svid.id.toString(), claims: toStruct(svid.claims).structValue }),
      (error: Error) => callback({ code: Status.INVALID_ARGUMENT, details: error.message }),
    );
  }
}

/** A JSON value as google.protobuf.Value (camelCase: the bundled Struct definition's field names). */
function toStruct(value: unknown): { structValue?: unknown } & Record<string, unknown> {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toStruct) } };
  return { structValue: { fields: Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toStruct(item)])) } };
}
