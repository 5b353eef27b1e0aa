import { stat, readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { accepting, spawnDaemon, type Daemon, type Program } from './daemon.ts';
import { freePort } from './ports.ts';
import type { TlsFiles } from './tls.ts';
import { waitFor } from './wait.ts';

export const NGINX = '/usr/sbin/nginx';

export interface NginxProgram extends Program {
  readonly conf: string;
  /** The master's pid, written by nginx itself (also when the helper runs it as `cmd`). */
  readonly pidFile: string;
  readonly errorLog: string;
}

/**
 * Writes an nginx config into `<dir>/nginx/` serving mutual TLS on 127.0.0.1:<free port> from `tls`
 * (`ssl_verify_client on`: a client must present a certificate that chains to the bundle; it then
 * answers 200 "ok", otherwise 400), and returns how to run it in the foreground with a master process
 * (`daemon off`): SIGHUP to the master reloads config and certificates.
 */
export async function nginx(dir: string, tls: TlsFiles): Promise<NginxProgram> {
  const port = await freePort();
  const home = join(dir, 'nginx');
  await mkdir(home, { recursive: true });
  const conf = join(home, 'nginx.conf');
  const pidFile = join(home, 'nginx.pid');
  const errorLog = join(home, 'error.log');
  await writeFile(
    conf,
    `daemon off;
master_process on;
worker_processes 1;
pid ${pidFile};
error_log ${errorLog} notice;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${home}/client_body;
  proxy_temp_path ${home}/proxy;
  fastcgi_temp_path ${home}/fastcgi;
  uwsgi_temp_path ${home}/uwsgi;
  scgi_temp_path ${home}/scgi;
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
  // -e: the error log before the config is read (the compiled-in default is under /var/log).
  return { command: NGINX, args: ['-c', conf, '-e', errorLog], port, conf, pidFile, errorLog };
}

export interface NginxServer extends NginxProgram {
  readonly pid: number;
  readonly daemon: Daemon;
  /**
   * SIGHUP to the master; resolves when nginx has started workers with the new configuration, and
   * rejects with nginx's complaint when it kept the old one (bad certificate or key).
   */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs nginx(dir, tls) as root (workers as nobody) until `t` ends; resolves once it accepts connections. */
export async function startNginx(t: { after(fn: () => unknown): void }, dir: string, tls: TlsFiles): Promise<NginxServer> {
  const program = await nginx(dir, tls);
  const daemon = spawnDaemon(t, { ...program, logFile: join(dir, 'nginx', 'stderr.log') });
  await daemon.waitReady(() => accepting(program.port), { what: `nginx to accept connections on port ${program.port}` });
  return {
    ...program,
    pid: daemon.pid,
    daemon,
    stop: () => daemon.stop(),
    async reload() {
      const offset = (await stat(program.errorLog)).size;
      daemon.signal('SIGHUP');
      const outcome = await waitFor(
        async () => {
          const since = (await readFile(program.errorLog, 'utf8')).slice(offset);
          return /\[(emerg|alert|crit)\].*/.exec(since)?.[0] ?? (/reconfiguring[\s\S]*start worker process/.test(since) ? 'reloaded' : undefined);
        },
        { what: `nginx to reload (see ${program.errorLog})`, timeoutMs: 10_000 },
      );
      if (outcome !== 'reloaded') throw new Error(`nginx kept its old configuration: ${outcome}`);
    },
  };
}
