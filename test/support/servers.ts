import { execFile } from 'node:child_process';
import { chown, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.ts';

/** The real programs users wrap, configured to run as the helper's `cmd` on loopback from a temp dir. */

const run = promisify(execFile);

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly bundle: string;
}

export interface Program {
  readonly command: string;
  readonly args: readonly string[];
  readonly port: number;
}

/** nginx serving mutual TLS: a client must present a certificate that chains to the bundle. */
export async function nginx(dir: string, tls: TlsFiles): Promise<Program> {
  const port = await freePort();
  await mkdir(join(dir, 'nginx'), { recursive: true });
  const conf = join(dir, 'nginx', 'nginx.conf');
  await writeFile(
    conf,
    `worker_processes 1;
pid ${join(dir, 'nginx', 'nginx.pid')};
error_log ${join(dir, 'nginx', 'error.log')} info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'nginx')};
  proxy_temp_path ${join(dir, 'nginx')};
  fastcgi_temp_path ${join(dir, 'nginx')};
  uwsgi_temp_path ${join(dir, 'nginx')};
  scgi_temp_path ${join(dir, 'nginx')};
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    ssl_client_certificate ${tls.bundle};
    ssl_verify_client on;
    location / { return 200 "ok\\n"; }
  }
}
`,
  );
  return { command: '/usr/sbin/nginx', args: ['-c', conf, '-e', join(dir, 'nginx', 'error.log'), '-g', 'daemon off;'], port };
}

async function postgresBin(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a));
  return join('/usr/lib/postgresql', versions[0]!, 'bin');
}

export async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * A PostgreSQL cluster owned by the postgres user (PostgreSQL refuses to run as root), with SSL from
 * the helper's files; `dir` must be traversable by that user.
 */
export async function postgres(dir: string, tls: TlsFiles): Promise<Program> {
  const bin = await postgresBin();
  const { uid, gid } = await postgresUser();
  const data = join(dir, 'pgdata');
  const sockets = join(dir, 'pgsock');
  await mkdir(sockets, { recursive: true });
  await chown(sockets, uid, gid);
  await run('runuser', ['-u', 'postgres', '--', join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  return {
    command: join(bin, 'postgres'),
    args: [
      '-D', data, '-k', sockets, '-h', '127.0.0.1', '-p', String(port),
      '-c', 'ssl=on', '-c', `ssl_cert_file=${tls.cert}`, '-c', `ssl_key_file=${tls.key}`, '-c', `ssl_ca_file=${tls.bundle}`,
      '-c', 'fsync=off',
    ],
    port,
  };
}

/** A MariaDB server (as root, which it allows with --user=root) with TLS from the helper's files. */
export async function mariadb(dir: string, tls: TlsFiles): Promise<Program & { socket: string; reload: readonly string[] }> {
  const data = join(dir, 'mariadb');
  const socket = join(dir, 'mariadb.sock');
  await run('mariadb-install-db', ['--user=root', `--datadir=${data}`, '--auth-root-authentication-method=socket', '--skip-test-db'], { timeout: 120_000 });
  const port = await freePort();
  return {
    command: '/usr/sbin/mariadbd',
    args: [
      '--no-defaults', '--user=root', `--datadir=${data}`, `--socket=${socket}`, `--port=${port}`, '--bind-address=127.0.0.1',
      `--pid-file=${join(dir, 'mariadb.pid')}`, `--log-error=${join(dir, 'mariadb.err')}`,
      `--ssl-cert=${tls.cert}`, `--ssl-key=${tls.key}`, `--ssl-ca=${tls.bundle}`, '--skip-log-bin', '--innodb-buffer-pool-size=16M',
    ],
    port,
    socket,
    reload: ['mariadb', '--no-defaults', `--socket=${socket}`, '-u', 'root', '-e', 'FLUSH SSL'],
  };
}
