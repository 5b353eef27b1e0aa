import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { accepting, commandFailure, spawnDaemon, type Daemon, type Program } from './daemon.ts';
import { freePort } from './ports.ts';
import type { TlsFiles } from './tls.ts';

const run = promisify(execFile);

export const MARIADBD = '/usr/sbin/mariadbd';

/** A TCP account that must use TLS (REQUIRE SSL), no password, for client checks. */
export const MARIADB_TLS_USER = 'tls';

export interface MariadbProgram extends Program {
  readonly dataDir: string;
  /** The unix socket, where root logs in by socket authentication. */
  readonly socket: string;
  readonly pidFile: string;
  readonly errorLog: string;
  /** `FLUSH SSL` through the unix socket: argv for the helper's reload command. */
  readonly reload: readonly string[];
}

/**
 * Creates a MariaDB data directory in `<dir>/mariadb` (mariadb-install-db) and returns how to run
 * `mariadbd` as root on 127.0.0.1:<free port> with TLS from `tls` (--ssl-cert, --ssl-key, --ssl-ca),
 * its socket, pid file and error log in `dir`. MariaDB has no reload signal: `FLUSH SSL` (the
 * `reload` argv) re-reads the files. At each start an init file creates the MARIADB_TLS_USER account.
 */
export async function mariadb(dir: string, tls: TlsFiles): Promise<MariadbProgram> {
  const dataDir = join(dir, 'mariadb');
  const socket = join(dir, 'mariadb.sock');
  if (Buffer.byteLength(socket) >= 108) throw new Error(`MariaDB socket path too long for a unix socket: ${socket}`);
  await mkdir(dataDir, { recursive: true });
  try {
    await run('mariadb-install-db', ['--no-defaults', '--user=root', `--datadir=${dataDir}`, '--auth-root-authentication-method=socket', '--skip-test-db'], { timeout: 120_000 });
  } catch (error) {
    throw commandFailure(`mariadb-install-db into ${dataDir}`, error);
  }
  const initFile = join(dir, 'mariadb-init.sql');
  await writeFile(initFile, `CREATE USER IF NOT EXISTS '${MARIADB_TLS_USER}'@'127.0.0.1' REQUIRE SSL;\n`);
  const port = await freePort();
  const pidFile = join(dir, 'mariadb.pid');
  const errorLog = join(dir, 'mariadb.err');
  return {
    command: MARIADBD,
    args: [
      '--no-defaults', '--user=root', `--datadir=${dataDir}`, `--socket=${socket}`,
      '--skip-networking=0', '--bind-address=127.0.0.1', `--port=${port}`,
      `--pid-file=${pidFile}`, `--log-error=${errorLog}`, `--init-file=${initFile}`,
      `--ssl-cert=${tls.cert}`, `--ssl-key=${tls.key}`, `--ssl-ca=${tls.bundle}`,
      '--skip-log-bin', '--innodb-buffer-pool-size=16M', '--innodb-log-file-size=8M',
    ],
    port,
    dataDir,
    socket,
    pidFile,
    errorLog,
    reload: ['mariadb', '--no-defaults', `--socket=${socket}`, '-u', 'root', '-e', 'FLUSH SSL'],
  };
}

export interface MariadbServer extends MariadbProgram {
  readonly pid: number;
  readonly daemon: Daemon;
  /** Runs FLUSH SSL (synchronous: new connections get the new files); rejects with MariaDB's error when they are unusable, and the old ones stay. */
  flushSsl(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs mariadb(dir, tls) (or `prepared`, its result, when the test first works on the data
 * directory) until `t` ends; resolves once it answers on its socket and on TCP.
 */
export async function startMariadb(t: { after(fn: () => unknown): void }, dir: string, tls: TlsFiles, prepared?: MariadbProgram): Promise<MariadbServer> {
  const program = prepared ?? (await mariadb(dir, tls));
  // mariadbd sends its own stderr to the error log too: one file with everything.
  const daemon = spawnDaemon(t, { ...program, logFile: program.errorLog });
  await daemon.waitReady(
    async () => (await run('mariadb-admin', ['--no-defaults', `--socket=${program.socket}`, '-u', 'root', 'ping'])) && accepting(program.port),
    { what: `MariaDB to answer on ${program.socket} and port ${program.port}`, timeoutMs: 60_000, intervalMs: 200 },
  );
  return {
    ...program,
    pid: daemon.pid,
    daemon,
    stop: () => daemon.stop(),
    async flushSsl() {
      const [command, ...args] = program.reload;
      await run(command!, args).catch((error: unknown) => {
        throw commandFailure('FLUSH SSL', error);
      });
    },
  };
}

export interface MariadbClientOptions {
  readonly port: number;
  readonly caFile: string;
  /** Also check the host name: needs `host` among the certificate's DNS names. Default false. */
  readonly verifyServerCert?: boolean;
  /** Default 127.0.0.1 (TCP in either case). */
  readonly host?: string;
}

/**
 * Logs in over TCP as MARIADB_TLS_USER with the `mariadb` client and TLS (trusting `caFile`), and
 * reports the session's cipher and TLS version; rejects with the client's message on failure.
 */
export async function mariadbSsl(options: MariadbClientOptions): Promise<{ cipher: string; version: string }> {
  const args = [
    '--no-defaults', '--protocol=TCP', `--host=${options.host ?? '127.0.0.1'}`, `--port=${options.port}`, `--user=${MARIADB_TLS_USER}`,
    '--ssl', `--ssl-ca=${options.caFile}`, ...(options.verifyServerCert ? ['--ssl-verify-server-cert'] : []),
    '--connect-timeout=10', '-N', '-B', '-e', "SHOW STATUS WHERE Variable_name IN ('Ssl_cipher', 'Ssl_version')",
  ];
  const { stdout } = await run('mariadb', args, { timeout: 15_000 }).catch((error: unknown) => {
    throw commandFailure(`mariadb ${args.join(' ')}`, error);
  });
  const value = (name: string) => new RegExp(`^${name}\\t(.*)$`, 'm').exec(stdout)?.[1] ?? '';
  return { cipher: value('Ssl_cipher'), version: value('Ssl_version') };
}
