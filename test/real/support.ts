import { X509Certificate } from 'node:crypto';
import { chmod, chown, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HelperProcess } from '../support/helper-process.ts';
import { keyMatches, x509Config } from '../helper/support.ts';
import { waitFor } from '../support/wait.ts';

export const files = (certs: string) => ({ cert: join(certs, 'svid.pem'), key: join(certs, 'svid_key.pem'), bundle: join(certs, 'svid_bundle.pem') });

/** The X.509 part of a config against a real agent, with a short debounce. */
export function realConfig(agentAddress: string, certDir: string, extra = ''): string {
  return x509Config(agentAddress, certDir, `renew_debounce = "200ms"\n${extra}`);
}

/** The written set is whole and valid: the registered SPIFFE ID, a key that matches, a leaf the bundle signed. */
export async function validSet(certDir: string, spiffeId: string): Promise<string> {
  const paths = files(certDir);
  const [certPem, keyPem, bundlePem] = await Promise.all([readFile(paths.cert, 'utf8'), readFile(paths.key, 'utf8'), readFile(paths.bundle, 'utf8')]);
  const leaf = new X509Certificate(certPem);
  if (!leaf.subjectAltName?.includes(`URI:${spiffeId}`)) throw new Error(`leaf names ${leaf.subjectAltName}, not ${spiffeId}`);
  if (!keyMatches(certPem, keyPem)) throw new Error('the key does not match the certificate');
  const roots = bundlePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((pem) => new X509Certificate(pem));
  if (!roots.some((root) => leaf.checkIssued(root) && leaf.verify(root.publicKey))) throw new Error('the leaf does not chain to the bundle');
  if (new Date(leaf.validTo).getTime() < Date.now()) throw new Error('the leaf has expired');
  return leaf.serialNumber;
}

export async function serialOnDisk(certDir: string): Promise<string | undefined> {
  const pem = await readFile(files(certDir).cert, 'utf8').catch(() => undefined);
  return pem === undefined ? undefined : new X509Certificate(pem).serialNumber;
}

/** Waits for the next real rotation: a serial different from `after` on disk. */
export function nextRotation(certDir: string, after: string | undefined, timeoutMs = 60_000): Promise<string> {
  return waitFor(
    async () => {
      const serial = await serialOnDisk(certDir);
      return serial !== undefined && serial !== after ? serial : undefined;
    },
    { what: 'a real SVID rotation', timeoutMs, intervalMs: 200 },
  );
}

/** Gives a directory to a user so a helper running as that user can write its files there. */
export async function handOver(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  await chown(dir, owner.uid, owner.gid);
  await chmod(dir, 0o755);
}

export async function healthPort(helper: HelperProcess): Promise<number> {
  return (await helper.waitForLog((l) => l.msg === 'health listener started')).port as number;
}

export async function readiness(port: number): Promise<{ status: number; body: { reasons: string[]; [key: string]: unknown } }> {
  const response = await fetch(`http://127.0.0.1:${port}/ready`);
  return { status: response.status, body: (await response.json()) as { reasons: string[] } };
}

