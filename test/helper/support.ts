import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkloadApiTestServer } from '../support/workload-api-server.ts';

export const RECORDER = new URL('../process/fixtures/recorder.ts', import.meta.url).pathname;

/** The X.509 part of a config; the test adds the rest. */
export function x509Config(agentAddress: string, certDir: string, extra = ''): string {
  return `agent_address = ${JSON.stringify(agentAddress)}
cert_dir = ${JSON.stringify(certDir)}
svid_file_name = "svid.pem"
svid_key_file_name = "svid_key.pem"
svid_bundle_file_name = "svid_bundle.pem"
log_level = "debug"
${extra}`;
}

export function toml(value: unknown): string {
  return JSON.stringify(value);
}

/** The leaf certificate's serial in the written SVID file, or undefined before the first write. */
export async function servedSerial(certDir: string): Promise<string | undefined> {
  const pem = await readFile(join(certDir, 'svid.pem'), 'utf8').catch(() => undefined);
  return pem === undefined ? undefined : new X509Certificate(pem).serialNumber;
}

/** True when the key file holds the private key of the certificate file's leaf. */
export function keyMatches(certPem: string, keyPem: string): boolean {
  const certified = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  const derived = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  return certified.equals(derived);
}

export async function lines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

/** A Workload API test server stopped when the test ends. */
export async function server(t: { after(fn: () => unknown): void }, options: Parameters<typeof WorkloadApiTestServer.start>[0] = {}): Promise<WorkloadApiTestServer> {
  const s = await WorkloadApiTestServer.start(options);
  t.after(() => s.stop());
  return s;
}
