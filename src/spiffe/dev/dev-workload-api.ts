import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { workloadApiService } from '../workload/proto.ts';
import { SpiffeId, SpiffeIdError, TrustDomain } from '../svid/index.ts';
import { DevCa, type IssuedX509Svid } from './dev-ca.ts';
import { WorkloadApiService, type ServedIdentity, type ServedX509Svid } from './workload-service.ts';

export interface DevWorkloadApiOptions {
  /** Default: the trust domain of `spiffeId`, else example.org. */
  readonly trustDomain?: string;
  /** The workload's identity. Default: spiffe://<trust domain>/dev. */
  readonly spiffeId?: string;
  /** More identities, told apart by hint (an app whose parts each have their own); replaces `spiffeId`. */
  readonly svids?: readonly { readonly spiffeId: string; readonly hint?: string }[];
  /** X.509-SVID lifetime; a new one is issued at half of it. Default 90 s: a rotation every 45 s. */
  readonly x509TtlSeconds?: number;
  /** JWT-SVID lifetime. Default 90 s. */
  readonly jwtTtlSeconds?: number;
  /** Where the private 0700 directory holding the socket is made. Default: the OS temp dir. */
  readonly socketDir?: string;
}

export interface DevWorkloadApi {
  /** unix:///…/agent.sock: for SPIFFE_ENDPOINT_SOCKET, `agent_address`, or a source's `endpoint`. */
  readonly endpoint: string;
  readonly trustDomain: string;
  /** The X.509-SVIDs served now, in the order of the identities. */
  readonly x509Svids: readonly IssuedX509Svid[];
  /** Issues new X.509-SVIDs now and sends them to every watcher (and restarts the rotation clock). */
  rotate(): void;
  /** Stops serving and removes the socket's directory. */
  close(): Promise<void>;
}

const DEFAULT_TTL_SECONDS = 90;
const DEFAULT_TRUST_DOMAIN = 'example.org';
/** sockaddr_un's sun_path holds 108 bytes, the terminating NUL included. */
const MAX_SOCKET_PATH = 107;

interface Identity extends ServedIdentity {
  readonly id: SpiffeId;
}

/** Every given ID checked at once, before anything is made: a typo fails the caller's first line. */
function identitiesOf(options: DevWorkloadApiOptions): { trustDomain: TrustDomain; identities: Identity[] } {
  const given = options.svids ?? (options.spiffeId === undefined ? undefined : [{ spiffeId: options.spiffeId }]);
  const parsed = given?.map(({ spiffeId, hint }) => ({ id: SpiffeId.parse(spiffeId), spiffeId, hint: hint ?? '' }));
  const trustDomain = TrustDomain.parse(options.trustDomain ?? parsed?.[0]?.id.trustDomain.name ?? DEFAULT_TRUST_DOMAIN);
  const identities = parsed ?? [{ id: SpiffeId.fromParts(trustDomain, '/dev'), spiffeId: `${trustDomain.idString()}/dev`, hint: '' }];
  if (identities.length === 0) throw new SpiffeIdError('svids: a development Workload API serves at least one identity');
  for (const { id } of identities) {
    if (!id.memberOf(trustDomain)) throw new SpiffeIdError(`"${id}": not in the trust domain "${trustDomain.name}"`);
  }
  return { trustDomain, identities };
}

function positiveSeconds(name: string, value: number | undefined): number {
  if (value === undefined) return DEFAULT_TTL_SECONDS;
  if (!Number.isFinite(value) || value < 2) throw new RangeError(`${name}: a lifetime of at least 2 seconds, not ${value}`);
  return value;
}

/**
 * Starts a SPIFFE Workload API in this process for development and tests: a real gRPC server on a
 * unix socket in a private directory, serving X.509-SVIDs, JWT-SVIDs (any audience) and both bundles
 * from an in-memory CA made now, and rotating the X.509-SVIDs at half their lifetime. Nothing is
 * attested: every caller that can reach the socket gets the identities. Never for production.
 *
 * Bad options (a malformed SPIFFE ID: SpiffeIdError; a lifetime under 2 s: RangeError) throw at
 * once, before anything is started.
 */
export function startDevWorkloadApi(options: DevWorkloadApiOptions = {}): Promise<DevWorkloadApi> {
  const { trustDomain, identities } = identitiesOf(options);
  const x509Ttl = positiveSeconds('x509TtlSeconds', options.x509TtlSeconds);
  const jwtTtl = positiveSeconds('jwtTtlSeconds', options.jwtTtlSeconds);
  return listen(new DevCa(trustDomain), identities, x509Ttl, jwtTtl, options.socketDir ?? tmpdir());
}

async function listen(ca: DevCa, identities: readonly Identity[], x509Ttl: number, jwtTtl: number, parent: string): Promise<DevWorkloadApi> {
  // mkdtemp makes the directory 0700: only this user reaches the socket, whatever the umask.
  const dir = await mkdtemp(join(parent, 'spiffe-dev-'));
  const socketPath = join(dir, 'agent.sock');
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    await rm(dir, { recursive: true, force: true });
    throw new RangeError(`socketDir: the socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes`);
  }
  let issued: (IssuedX509Svid & ServedX509Svid)[] = [];
  let timer: NodeJS.Timeout | undefined;
  const service = new WorkloadApiService({
    trustDomain: ca.trustDomain.name,
    x509Svids: () => issued,
    identities: () => identities,
    issueJwtSvid: (spiffeId, audience) => ca.issueJwtSvid(SpiffeId.parse(spiffeId), audience, jwtTtl),
    bundleDer: () => ca.bundleDer(),
    jwks: () => ca.jwks(),
    federated: () => new Map(),
  });
  const rotate = (): void => {
    issued = identities.map(({ id, hint }) => ({ ...ca.issueX509Svid(id, x509Ttl), hint }));
    service.push('FetchX509SVID');
    clearTimeout(timer);
    // As SPIRE's agent: a new SVID at half the lifetime. Unref'd: the server's socket decides whether
    // the process stays up, not this clock.
    timer = setTimeout(rotate, (x509Ttl * 1000) / 2).unref();
  };
  rotate();

  const server = new Server();
  server.addService(workloadApiService, service.implementation);
  try {
    await new Promise<number>((resolve, reject) =>
      server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
  } catch (error) {
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    endpoint: `unix://${socketPath}`,
    trustDomain: ca.trustDomain.name,
    get x509Svids() {
      return issued;
    },
    rotate,
    async close() {
      clearTimeout(timer);
      server.forceShutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
