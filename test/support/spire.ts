import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { freePort } from './ports.ts';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './wait.ts';

const run = promisify(execFile);

export const SPIRE_VERSION = '1.15.3';
export const SPIRE_BIN = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'spiffe-helper-test', `spire-${SPIRE_VERSION}`, 'bin');
const SERVER = join(SPIRE_BIN, 'spire-server');
const AGENT = join(SPIRE_BIN, 'spire-agent');

/**
 * Why the real-SPIRE tests cannot run here, or undefined when they can. In CI a missing SPIRE is an
 * error (scripts/test-deps.sh builds it), so this only ever skips on a developer's machine.
 */
export function spireUnavailable(): string | undefined {
  if (existsSync(SERVER) && existsSync(AGENT)) return undefined;
  const why = `SPIRE ${SPIRE_VERSION} binaries not found in ${SPIRE_BIN} (scripts/test-deps.sh builds them; it needs Go)`;
  if (process.env.CI === 'true') throw new Error(why);
  process.stderr.write(`\n*** SKIPPING real-SPIRE tests: ${why} ***\n\n`);
  return why;
}


function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || !alive(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export interface EntryOptions {
  readonly spiffeId: string;
  /** Default: this process's uid. */
  readonly uid?: number;
  readonly x509TtlSeconds?: number;
  readonly jwtTtlSeconds?: number;
  readonly federatesWith?: readonly string[];
  readonly hint?: string;
}

/** A real SPIRE server and agent on loopback, their files in a temp dir, stopped by pid. */
export class Spire {
  readonly dir: string;
  readonly trustDomain = 'example.org';
  readonly agentSocket: string;
  readonly serverSocket: string;
  readonly #serverPort: number;
  #server: ChildProcess | undefined;
  #agent: ChildProcess | undefined;

  private constructor(dir: string, serverPort: number) {
    this.dir = dir;
    this.#serverPort = serverPort;
    this.agentSocket = join(dir, 'agent.sock');
    this.serverSocket = join(dir, 'server.sock');
  }

  static async start(t: { after(fn: () => unknown): void }): Promise<Spire> {
    const dir = await mkdtemp(join(tmpdir(), 'spire-'));
    // Workloads of other users (the postgres test) must reach the agent socket inside it.
    await chmod(dir, 0o755);
    const spire = new Spire(dir, await freePort());
    t.after(() => spire.stop());
    await spire.#writeConfigs();
    await spire.startServer();
    await spire.startAgent();
    return spire;
  }

  get agentAddress(): string {
    return `unix://${this.agentSocket}`;
  }

  async #writeConfigs(): Promise<void> {
    await mkdir(join(this.dir, 'server'), { recursive: true });
    await writeFile(
      join(this.dir, 'server.conf'),
      `server {
  bind_address = "127.0.0.1"
  bind_port = "${this.#serverPort}"
  socket_path = "${this.serverSocket}"
  trust_domain = "${this.trustDomain}"
  data_dir = "${join(this.dir, 'server')}"
  log_level = "DEBUG"
  ca_ttl = "2h"
  default_x509_svid_ttl = "1m"
  experimental {
    cache_reload_interval = "1s"
  }
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "${join(this.dir, 'server', 'datastore.sqlite3')}"
    }
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "disk" {
    plugin_data {
      keys_path = "${join(this.dir, 'server', 'keys.json')}"
    }
  }
}
`,
    );
    await writeFile(
      join(this.dir, 'agent.conf'),
      `agent {
  data_dir = "${join(this.dir, 'agent')}"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = "${this.#serverPort}"
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

  #spawn(binary: string, args: string[], log: string): ChildProcess {
    const fd = openSync(join(this.dir, log), 'a');
    const child = spawn(binary, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    return child;
  }

  async #logTail(log: string): Promise<string> {
    return (await readFile(join(this.dir, log), 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
  }

  async #waitHealthy(binary: string, socket: string, child: ChildProcess, log: string): Promise<void> {
    await waitFor(
      async () => {
        if (!alive(child)) throw new Error(`${binary} exited with ${child.exitCode ?? child.signalCode}`);
        await run(binary, ['healthcheck', '-socketPath', socket]);
        return true;
      },
      { what: `${binary} to be healthy`, timeoutMs: 60_000, intervalMs: 200 },
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n--- ${log} ---\n${await this.#logTail(log)}`);
    });
  }

  /** The server keeps its CA (disk key manager, same data dir) across a stop and start. */
  async startServer(): Promise<void> {
    this.#server = this.#spawn(SERVER, ['run', '-config', join(this.dir, 'server.conf')], 'server.log');
    await this.#waitHealthy(SERVER, this.serverSocket, this.#server, 'server.log');
  }

  async stopServer(): Promise<void> {
    await stopProcess(this.#server);
  }

  async #cli(args: string[]): Promise<string> {
    try {
      return (await run(SERVER, [...args, '-socketPath', this.serverSocket])).stdout;
    } catch (error) {
      const e = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(`spire-server ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
    }
  }

  /** A new join token each time: tokens are single use, and the memory key manager forgets the agent. */
  async startAgent(): Promise<void> {
    const output = await this.#cli(['token', 'generate', '-spiffeID', `spiffe://${this.trustDomain}/node`]);
    const token = /Token: (\S+)/.exec(output)?.[1];
    if (token === undefined) throw new Error(`no join token in: ${output}`);
    await rm(join(this.dir, 'agent'), { recursive: true, force: true });
    this.#agent = this.#spawn(AGENT, ['run', '-config', join(this.dir, 'agent.conf'), '-joinToken', token], 'agent.log');
    await this.#waitHealthy(AGENT, this.agentSocket, this.#agent, 'agent.log');
  }

  async killAgent(): Promise<void> {
    if (this.#agent !== undefined && alive(this.#agent)) {
      const exited = new Promise((resolve) => this.#agent!.once('exit', resolve));
      this.#agent.kill('SIGKILL');
      await exited;
    }
    await rm(this.agentSocket, { force: true });
  }

  async restartAgent(): Promise<void> {
    await this.killAgent();
    await this.startAgent();
  }

  async createEntry(options: EntryOptions): Promise<string> {
    const args = [
      'entry', 'create',
      '-parentID', `spiffe://${this.trustDomain}/node`,
      '-spiffeID', options.spiffeId,
      '-selector', `unix:uid:${options.uid ?? process.getuid!()}`,
      '-x509SVIDTTL', String(options.x509TtlSeconds ?? 30),
      '-jwtSVIDTTL', String(options.jwtTtlSeconds ?? 60),
    ];
    for (const td of options.federatesWith ?? []) args.push('-federatesWith', td);
    if (options.hint !== undefined) args.push('-hint', options.hint);
    const output = await this.#cli(args);
    const id = /Entry ID\s*:\s*(\S+)/.exec(output)?.[1];
    if (id === undefined) throw new Error(`no entry id in: ${output}`);
    return id;
  }

  async deleteEntry(id: string): Promise<void> {
    await this.#cli(['entry', 'delete', '-entryID', id]);
  }

  /** Polls the agent (as root) until it serves an X.509-SVID for `spiffeId`. */
  async waitForSvid(spiffeId: string, timeoutMs = 60_000): Promise<void> {
    await waitFor(
      async () => {
        const { stdout } = await run(AGENT, ['api', 'fetch', 'x509', '-socketPath', this.agentSocket]);
        return stdout.includes(spiffeId);
      },
      { what: `the agent to serve ${spiffeId}`, timeoutMs, intervalMs: 500 },
    );
  }

  async stop(): Promise<void> {
    await stopProcess(this.#agent);
    await stopProcess(this.#server);
    await rm(this.dir, { recursive: true, force: true });
  }
}
