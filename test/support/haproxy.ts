import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Program } from './daemon.ts';
import { freePort } from './ports.ts';

export const HAPROXY = '/usr/sbin/haproxy';

export interface HaproxyProgram extends Program {
  readonly conf: string;
}

/**
 * Writes an HAProxy config into `<dir>/haproxy/` serving mutual TLS on 127.0.0.1:<free port> from
 * one combined PEM (key, leaf, intermediates) and a CA file: a client must present a certificate
 * that chains to it (`verify required`), and is answered 200 "ok". Runs in the foreground (-db) in
 * master-worker mode (-W): SIGUSR2 to the master re-reads the config and the certificate.
 */
export async function haproxy(dir: string, tls: { combinedPem: string; caFile: string }): Promise<HaproxyProgram> {
  const port = await freePort();
  const home = join(dir, 'haproxy');
  await mkdir(home, { recursive: true });
  const conf = join(home, 'haproxy.cfg');
  await writeFile(
    conf,
    `global
  log stderr format raw local0 notice
  nbthread 1
defaults
  mode http
  log global
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend mtls
  bind 127.0.0.1:${port} ssl crt ${tls.combinedPem} ca-file ${tls.caFile} verify required
  http-request return status 200 content-type text/plain string "ok"
`,
  );
  return { command: HAPROXY, args: ['-W', '-db', '-f', conf], port, conf };
}
