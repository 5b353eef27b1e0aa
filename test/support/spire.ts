import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { commandFailure, spawnDaemon, type Daemon } from './daemon.ts';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

const run = promisify(execFile);

/** Must match scripts/test-deps.sh, which builds this version into SPIRE_BIN. */
export const SPIRE_VERSION = process.env.SPIFFE_HELPER_TEST_SPIRE_VERSION ?? '1.15.3';
export const SPIRE_BIN = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'spiffe-helper-test', `spire-${SPIRE_VERSION}`, 'bin');
export const SPIRE_SERVER = join(SPIRE_BIN, 'spire-server');
export const SPIRE_AGENT = join(SPIRE_BIN, 'spire-agent');

const MISSING = `SPIRE ${SPIRE_VERSION} binaries not found in ${SPIRE_BIN} (scripts/test-deps.sh builds them; it needs Go and gcc)`;

/**
 * Why the real-SPIRE tests cannot run here, or undefined when they can: pass it as a suite's or
 * test's `skip`. In CI (CI=true) a missing SPIRE is an error instead, so CI never skips silently.
 */
export function spireUnavailable(): string | undefined {
  if (existsSync(SPIRE_SERVER) && existsSync(SPIRE_AGENT)) return undefined;
  if (process.env.CI === 'true') throw new Error(MISSING);
  process.stderr.write(`\n*** SKIPPING real-SPIRE tests: ${MISSING} ***\n\n`);
  return MISSING;
}

export interface SpireOptions {
  /** Default "example.org". */
  readonly trustDomain?: string;
  /** The server's CA lifetime; default "2h". */
  readonly caTtl?: string;
  /** Default "DEBUG" (the logs are only read when something fails). */
  readonly logLevel?: string;
}

export interface EntryOptions {
  readonly spiffeId: string;
  /** The workload's uid (selector `unix:uid:<uid>`); default this process's uid. */
  readonly uid?: number;
  /** Default 30 s: SPIRE then rotates about every 20 s. */
  readonly x509TtlSeconds?: number;
  readonly jwtTtlSeconds?: number;
  /** Trust domain names or `spiffe://` IDs; their bundles must be set first (setFederatedBundle). */
  readonly federatesWith?: readonly string[];
  readonly hint?: string;
  /** DNS SANs for the X.509-SVID (e.g. "localhost", for clients that check a host name). */
  readonly dns?: readonly string[];
}

/** One X.509-SVID as `spire-agent api fetch x509 -write` wrote it. */
export interface FetchedSvid {
  readonly spiffeId: string;
  readonly serial: string;
  readonly fingerprint256: string;
  /** The SVID's certificate chain, leaf first. */
  readonly certFile: string;
  /** The PKCS#8 private key. */
  readonly keyFile: string;
  /** The trust domain's root certificates. */
  readonly bundleFile: string;
  /** One file of roots per federated trust domain the entry federates with. */
  readonly federatedBundleFiles: readonly string[];
}

/** JWT-SVIDs and JWT bundles as `spire-agent api fetch jwt` reports them. */
export interface FetchedJwt {
  readonly svids: readonly { readonly spiffeId: string; readonly token: string; readonly hint: string }[];
  /** Trust domain ID (spiffe://…) → its JWKS. */
  readonly bundles: Readonly<Record<string, { keys: readonly Record<string, unknown>[] }>>;
}

export interface Runner {
  readonly uid: number;
  readonly gid: number;
}

interface TestLike {
  after(fn: () => unknown): void;
}

/**
 * A real SPIRE server and agent on loopback (join_token node attestation, SQLite datastore, unix
 * workload attestor, 1 s cache reload and sync), every file in a fresh temp dir, every process
 * stopped by pid. The server keeps its keys on disk so that stopServer()/startServer() keeps the CA
 * the agent trusts; the agent's keys are in memory, so each agent start uses a new join token.
 */
export class Spire {
  readonly dir: string;
  readonly trustDomain: string;
  readonly agentSocket: string;
  readonly serverSocket: string;
  /** Chosen at start; another one if the first was taken before the server could bind it. */
  serverPort: number;
  readonly serverLog: string;
  readonly agentLog: string;
  readonly #options: SpireOptions;
  #server: Daemon | undefined;
  #agent: Daemon | undefined;
  #agentCopy: Promise<string> | undefined;

  private constructor(dir: string, serverPort: number, options: SpireOptions) {
    this.dir = dir;
    this.serverPort = serverPort;
    this.#options = options;
    this.trustDomain = options.trustDomain ?? 'example.org';
    this.agentSocket = join(dir, 'agent.sock');
    this.serverSocket = join(dir, 'server.sock');
    this.serverLog = join(dir, 'server.log');
    this.agentLog = join(dir, 'agent.log');
  }

  /** Starts a server and an agent; both are stopped and the temp dir removed after `t`. */
  static async start(t: TestLike, options: SpireOptions = {}): Promise<Spire> {
    if (!existsSync(SPIRE_SERVER) || !existsSync(SPIRE_AGENT)) throw new Error(MISSING);
    const dir = await mkdtemp(join(tmpdir(), 'spire-'));
    // Workloads of other users (the postgres tests) must reach the agent socket inside it.
    await chmod(dir, 0o755);
    const spire = new Spire(dir, await freePort(), options);
    t.after(() => spire.stop());
    if (Buffer.byteLength(spire.agentSocket) >= 108) throw new Error(`agent socket path too long for a unix socket: ${spire.agentSocket}`);
    await spire.#writeConfigs();
    await spire.#startServerOnFreePort();
    await spire.startAgent();
    return spire;
  }

  /** The agent's socket as a Workload API endpoint address. */
  get agentAddress(): string {
    return `unix://${this.agentSocket}`;
  }

  get serverPid(): number | undefined {
    return this.#server?.alive() ? this.#server.pid : undefined;
  }

  get agentPid(): number | undefined {
    return this.#agent?.alive() ? this.#agent.pid : undefined;
  }

  get #nodeId(): string {
    return `spiffe://${this.trustDomain}/node`;
  }

  async #writeConfigs(): Promise<void> {
    const serverData = join(this.dir, 'server');
    await mkdir(serverData, { recursive: true });
    const logLevel = this.#options.logLevel ?? 'DEBUG';
    await writeFile(
      join(this.dir, 'server.conf'),
      `server {
  bind_address = "127.0.0.1"
  bind_port = "${this.serverPort}"
  socket_path = "${this.serverSocket}"
  trust_domain = "${this.trustDomain}"
  data_dir = "${serverData}"
  log_level = "${logLevel}"
  ca_ttl = "${this.#options.caTtl ?? '2h'}"
  default_x509_svid_ttl = "1m"
  experimental {
    cache_reload_interval = "1s"
  }
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "${join(serverData, 'datastore.sqlite3')}"
    }
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "disk" {
    plugin_data {
      keys_path = "${join(serverData, 'keys.json')}"
    }
  }
}
`,
    );
    await writeFile(
      join(this.dir, 'agent.conf'),
      `agent {
  data_dir = "${join(this.dir, 'agent')}"
  log_level = "${logLevel}"
  server_address = "127.0.0.1"
  server_port = "${this.serverPort}"
  socket_path = "${this.agentSocket}"
  trust_domain = "${this.trustDomain}"
  insecure_bootstrap = true
  experimental {
    sync_interval = "1s"
  }
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "memory" {
    plugin_data {}
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
}
`,
    );
  }

  #spawn(binary: string, args: string[], logFile: string): Daemon {
    return spawnDaemon(undefined, { command: binary, args, logFile, graceMs: 5_000 });
  }

  async #healthy(daemon: Daemon, binary: string, socket: string): Promise<void> {
    await daemon.waitReady(() => run(binary, ['healthcheck', '-socketPath', socket]).then(() => true), {
      what: `${binary} healthcheck to pass`,
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  }

  /**
   * The first start: a port that was free a moment ago can be taken by another test's process before
   * the server binds it (files run side by side), so on "address already in use" another is chosen.
   */
  async #startServerOnFreePort(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startServer();
      } catch (error) {
        if (attempt === 3 || !String((error as Error).message).includes('address already in use')) throw error;
        this.serverPort = await freePort();
        await this.#writeConfigs();
      }
    }
  }

  /** Starts the server (again) on the same port and data: same CA, same entries. */
  async startServer(): Promise<void> {
    if (this.#server?.alive()) throw new Error('spire-server is already running');
    this.#server = this.#spawn(SPIRE_SERVER, ['run', '-config', join(this.dir, 'server.conf')], this.serverLog);
    await this.#healthy(this.#server, SPIRE_SERVER, this.serverSocket);
  }

  async stopServer(): Promise<void> {
    await this.#server?.stop();
  }

  /** Runs a `spire-server` CLI command against this server; its stdout. */
  async server(args: readonly string[]): Promise<string> {
    try {
      return (await run(SPIRE_SERVER, [...args, '-socketPath', this.serverSocket])).stdout;
    } catch (error) {
      throw commandFailure(`spire-server ${args.join(' ')}`, error);
    }
  }

  /** Attests a new agent with a fresh join token (tokens are single use; its keys are in memory). */
  async startAgent(): Promise<void> {
    if (this.#agent?.alive()) throw new Error('spire-agent is already running');
    const output = await this.server(['token', 'generate', '-spiffeID', this.#nodeId]);
    const token = /Token: (\S+)/.exec(output)?.[1];
    if (token === undefined) throw new Error(`no join token in: ${output}`);
    await rm(join(this.dir, 'agent'), { recursive: true, force: true });
    this.#agent = this.#spawn(SPIRE_AGENT, ['run', '-config', join(this.dir, 'agent.conf'), '-joinToken', token], this.agentLog);
    await this.#healthy(this.#agent, SPIRE_AGENT, this.agentSocket);
  }

  /** SIGKILL, as a crash: workloads see their stream break. The socket file is removed. */
  async killAgent(): Promise<void> {
    if (this.#agent?.alive()) {
      this.#agent.signal('SIGKILL');
      await this.#agent.exited;
    }
    await rm(this.agentSocket, { force: true });
  }

  async restartAgent(): Promise<void> {
    await this.killAgent();
    await this.startAgent();
  }

  /** Registers a workload by uid under this agent's node ID; returns the entry ID. */
  async createEntry(options: EntryOptions): Promise<string> {
    const args = [
      'entry', 'create',
      '-parentID', this.#nodeId,
      '-spiffeID', options.spiffeId,
      '-selector', `unix:uid:${options.uid ?? process.getuid!()}`,
      '-x509SVIDTTL', String(options.x509TtlSeconds ?? 30),
      '-jwtSVIDTTL', String(options.jwtTtlSeconds ?? 60),
    ];
    for (const td of options.federatesWith ?? []) args.push('-federatesWith', td.startsWith('spiffe://') ? td : `spiffe://${td}`);
    for (const name of options.dns ?? []) args.push('-dns', name);
    if (options.hint !== undefined) args.push('-hint', options.hint);
    const output = await this.server(args);
    const id = /Entry ID\s*:\s*(\S+)/.exec(output)?.[1];
    if (id === undefined) throw new Error(`no entry id in: ${output}`);
    return id;
  }

  async deleteEntry(id: string): Promise<void> {
    await this.server(['entry', 'delete', '-entryID', id]);
  }

  /** Sets (or replaces) the bundle of another trust domain from a PEM file of its roots. */
  async setFederatedBundle(trustDomain: string, pemPath: string): Promise<void> {
    await this.server(['bundle', 'set', '-id', trustDomain.startsWith('spiffe://') ? trustDomain : `spiffe://${trustDomain}`, '-path', pemPath]);
  }

  /** This trust domain's current roots, PEM, as the server reports them. */
  async bundlePem(): Promise<string> {
    return this.server(['bundle', 'show']);
  }

  /**
   * Asks the agent for X.509-SVIDs, as `runner` (default: this process) so that the unix attestor
   * sees that uid, with `spire-agent api fetch x509 -write <dir>`: the independent oracle for what
   * the agent serves. `dir` is created and handed to the runner. Rejects when the agent has none.
   */
  async fetchX509(dir: string, runner?: Runner): Promise<FetchedSvid[]> {
    await mkdir(dir, { recursive: true });
    if (runner !== undefined) await chown(dir, runner.uid, runner.gid);
    const binary = runner === undefined ? SPIRE_AGENT : await this.#agentBinaryForOthers();
    try {
      await run(binary, ['api', 'fetch', 'x509', '-socketPath', this.agentSocket, '-write', dir, '-silent'], {
        ...(runner === undefined ? {} : { uid: runner.uid, gid: runner.gid }),
        cwd: dir,
      });
    } catch (error) {
      throw commandFailure(`spire-agent api fetch x509${runner === undefined ? '' : ` as uid ${runner.uid}`}`, error);
    }
    const names = await readdir(dir);
    const svids: FetchedSvid[] = [];
    for (const name of names) {
      const index = /^svid\.(\d+)\.pem$/.exec(name)?.[1];
      if (index === undefined) continue;
      const certFile = join(dir, name);
      const leaf = new X509Certificate(await readFile(certFile));
      const spiffeId = /URI:(spiffe:\/\/[^,\s]+)/.exec(leaf.subjectAltName ?? '')?.[1];
      if (spiffeId === undefined) throw new Error(`${certFile} has no SPIFFE ID (SAN: ${leaf.subjectAltName})`);
      svids[Number(index)] = {
        spiffeId,
        serial: leaf.serialNumber,
        fingerprint256: leaf.fingerprint256,
        certFile,
        keyFile: join(dir, `svid.${index}.key`),
        bundleFile: join(dir, `bundle.${index}.pem`),
        federatedBundleFiles: names.filter((other) => other.startsWith(`federated_bundle.${index}.`)).sort().map((other) => join(dir, other)),
      };
    }
    return svids.filter((svid) => svid !== undefined);
  }

  /** JWT-SVIDs for `audience` and the JWT bundles, asked for as `runner` (default: this process). */
  async fetchJwt(audience: string, runner?: Runner): Promise<FetchedJwt> {
    const binary = runner === undefined ? SPIRE_AGENT : await this.#agentBinaryForOthers();
    let stdout: string;
    try {
      ({ stdout } = await run(binary, ['api', 'fetch', 'jwt', '-audience', audience, '-socketPath', this.agentSocket, '-output', 'json'], runner ?? {}));
    } catch (error) {
      throw commandFailure(`spire-agent api fetch jwt${runner === undefined ? '' : ` as uid ${runner.uid}`}`, error);
    }
    const parts = JSON.parse(stdout) as { svids?: { spiffe_id: string; svid: string; hint: string }[]; bundles?: Record<string, string> }[];
    return {
      svids: parts.flatMap((part) => part.svids ?? []).map((svid) => ({ spiffeId: svid.spiffe_id, token: svid.svid, hint: svid.hint })),
      bundles: Object.fromEntries(
        parts.flatMap((part) => Object.entries(part.bundles ?? {})).map(([td, jwks]) => [td, JSON.parse(Buffer.from(jwks, 'base64').toString('utf8'))]),
      ),
    };
  }

  /** The cache under root's home is not reachable by other users: a link (or copy) in the temp dir is. */
  #agentBinaryForOthers(): Promise<string> {
    this.#agentCopy ??= (async () => {
      const path = join(this.dir, 'spire-agent');
      await link(SPIRE_AGENT, path).catch(() => copyFile(SPIRE_AGENT, path));
      return path;
    })();
    return this.#agentCopy;
  }

  /**
   * Polls the agent (as `runner`, default this process) until it serves an X.509-SVID for
   * `spiffeId`; a new entry takes a sync or two. Resolves with that SVID, written under `dir`
   * (default: a fresh directory inside this SPIRE's temp dir).
   */
  async waitForSvid(spiffeId: string, options: { runner?: Runner; dir?: string; timeoutMs?: number } = {}): Promise<FetchedSvid> {
    let attempt = 0;
    return waitFor(
      async () => {
        const dir = options.dir ?? join(this.dir, 'fetched', `${Date.now()}-${attempt++}`);
        if (options.dir !== undefined) await rm(dir, { recursive: true, force: true });
        return (await this.fetchX509(dir, options.runner)).find((svid) => svid.spiffeId === spiffeId);
      },
      { what: `the agent to serve ${spiffeId}`, timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 500 },
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${(await this.#agent?.logTail()) ?? ''}`);
    });
  }

  /** Stops the agent and the server by pid and removes the temp dir. Safe to call twice. */
  async stop(): Promise<void> {
    await this.#agent?.stop();
    await this.#server?.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** startSpire(t) is Spire.start(t): a running SPIRE server and agent, stopped after `t`. */
export function startSpire(t: TestLike, options?: SpireOptions): Promise<Spire> {
  return Spire.start(t, options);
}
