import { execFile } from 'node:child_process';
import { appendFile, chmod, chown, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { commandFailure, spawnDaemon, type Daemon, type Program } from './daemon.ts';
import { freePort } from './ports.ts';
import type { TlsFiles } from './tls.ts';
import { waitFor } from './wait.ts';

const run = promisify(execFile);

/** The newest installed PostgreSQL's bin directory (Debian keeps them in /usr/lib/postgresql/<major>/bin). */
async function postgresBin(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a));
  if (versions[0] === undefined) throw new Error('no PostgreSQL under /usr/lib/postgresql (scripts/test-deps.sh installs it)');
  return join('/usr/lib/postgresql', versions[0], 'bin');
}

/** The `postgres` system user: PostgreSQL refuses to run as root. */
export async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export interface PostgresProgram extends Program {
  readonly dataDir: string;
  readonly socketDir: string;
  /** postmaster.pid: its first line is the server's pid (for the helper's pid_file_name). */
  readonly pidFile: string;
  /** The user the server must run as. */
  readonly owner: { uid: number; gid: number };
}

/**
 * Creates a PostgreSQL cluster in `<dir>/pgdata` as the postgres user, configured for SSL from `tls`
 * (ssl_cert_file, ssl_key_file, ssl_ca_file), listening on 127.0.0.1:<free port> with its unix socket
 * in `<dir>/pgsock`; TCP clients must use SSL (hostssl), the unix socket is trusted. Returns how to
 * run it: `postgres -D <dataDir>`, as `owner`. SIGHUP reloads the certificates.
 *
 * `dir` is made traversable (0755) for the postgres user; the TLS files must be readable by it, and
 * the key owned by it with mode 0600 (or root-owned 0640 in its group), or PostgreSQL refuses them.
 */
export async function postgres(dir: string, tls: TlsFiles): Promise<PostgresProgram> {
  const bin = await postgresBin();
  const owner = await postgresUser();
  await chmod(dir, 0o755);
  const dataDir = join(dir, 'pgdata');
  const socketDir = join(dir, 'pgsock');
  for (const owned of [socketDir, dataDir]) {
    await mkdir(owned, { recursive: true });
    await chown(owned, owner.uid, owner.gid);
  }
  try {
    await run(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-locale', '-E', 'UTF8'], { uid: owner.uid, gid: owner.gid, cwd: dir });
  } catch (error) {
    throw commandFailure(`initdb as postgres in ${dataDir}`, error);
  }
  const port = await freePort();
  await appendFile(
    join(dataDir, 'postgresql.conf'),
    `
listen_addresses = '127.0.0.1'
port = ${port}
unix_socket_directories = '${socketDir}'
ssl = on
ssl_cert_file = '${tls.cert}'
ssl_key_file = '${tls.key}'
ssl_ca_file = '${tls.bundle}'
fsync = off
`,
  );
  await writeFile(join(dataDir, 'pg_hba.conf'), 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n');
  return { command: join(bin, 'postgres'), args: ['-D', dataDir], port, dataDir, socketDir, pidFile: join(dataDir, 'postmaster.pid'), owner };
}

export interface PostgresServer extends PostgresProgram {
  readonly pid: number;
  readonly daemon: Daemon;
  /**
   * SIGHUP to the postmaster; resolves once it has re-read its configuration. PostgreSQL only logs a
   * failed SSL reload ("SSL configuration was not reloaded") and keeps the old certificate: this
   * rejects with that line.
   */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs postgres(dir, tls) as the postgres user until `t` ends; resolves once it accepts connections. */
export async function startPostgres(t: { after(fn: () => unknown): void }, dir: string, tls: TlsFiles): Promise<PostgresServer> {
  const program = await postgres(dir, tls);
  const bin = await postgresBin();
  const log = join(dir, 'postgres.log');
  // SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected at once.
  const daemon = spawnDaemon(t, { ...program, ...program.owner, logFile: log, stopSignal: 'SIGINT' });
  await daemon.waitReady(
    () => run(join(bin, 'pg_isready'), ['-q', '-h', program.socketDir, '-p', String(program.port)]).then(() => true),
    { what: `PostgreSQL to accept connections on port ${program.port}` },
  );
  return {
    ...program,
    pid: daemon.pid,
    daemon,
    stop: () => daemon.stop(),
    async reload() {
      const offset = (await stat(log)).size;
      daemon.signal('SIGHUP');
      await waitFor(
        async () => /received SIGHUP, reloading configuration files/.test((await readFile(log, 'utf8')).slice(offset)),
        { what: `PostgreSQL to log the reload (see ${log})`, timeoutMs: 10_000 },
      );
      // The postmaster rebuilds its SSL context in the same signal handler, before it accepts another
      // connection: once a query over the unix socket is answered, the outcome is in the log.
      await run(join(bin, 'psql'), ['-h', program.socketDir, '-p', String(program.port), '-U', 'postgres', '-d', 'postgres', '-tAc', 'select 1']);
      const failure = /.*(SSL configuration was not reloaded|private key file|could not load).*/.exec((await readFile(log, 'utf8')).slice(offset))?.[0];
      if (failure !== undefined) throw new Error(`PostgreSQL kept its old certificate: ${failure}`);
    },
  };
}

export interface PsqlOptions {
  readonly port: number;
  /** sslrootcert: the only roots trusted. */
  readonly caFile: string;
  /** Default verify-ca; verify-full also checks `host` against the certificate's DNS names. */
  readonly sslmode?: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  /** Default 127.0.0.1; with another name, the connection still goes to 127.0.0.1 (hostaddr). */
  readonly host?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/**
 * Connects with psql (libpq's own TLS verification, as users' clients do) and reports what the
 * server says about the session; rejects with psql's message when the connection fails.
 */
export async function psqlSsl(options: PsqlOptions): Promise<{ ssl: boolean; version: string; cipher: string }> {
  const conninfo = [
    `host=${options.host ?? '127.0.0.1'}`,
    'hostaddr=127.0.0.1',
    `port=${options.port}`,
    'user=postgres',
    'dbname=postgres',
    `sslmode=${options.sslmode ?? 'verify-ca'}`,
    `sslrootcert=${options.caFile}`,
    'connect_timeout=10',
    ...(options.certFile === undefined ? [] : [`sslcert=${options.certFile}`, `sslkey=${options.keyFile}`]),
  ].join(' ');
  try {
    const { stdout } = await run('psql', [conninfo, '-tAF', '|', '-c', 'select ssl, version, cipher from pg_stat_ssl where pid = pg_backend_pid()'], { timeout: 15_000 });
    const [ssl, version, cipher] = stdout.trim().split('|');
    return { ssl: ssl === 't', version: version ?? '', cipher: cipher ?? '' };
  } catch (error) {
    throw commandFailure(`psql (${conninfo})`, error);
  }
}
