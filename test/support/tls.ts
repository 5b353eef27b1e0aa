import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PeerCertificate {
  readonly serial: string;
  readonly spiffeId: string | undefined;
}

function describe(certificate: X509Certificate): PeerCertificate {
  const uri = /URI:(spiffe:\/\/[^,\s]+)/.exec(certificate.subjectAltName ?? '')?.[1];
  return { serial: certificate.serialNumber, spiffeId: uri };
}

/**
 * An HTTPS request over a TLS connection that trusts only `caFile`, presenting a client certificate
 * when given: returns the server's certificate and the HTTP status it answered.
 */
export async function httpsPeer(options: { port: number; caFile: string; certFile?: string; keyFile?: string; cert?: string; key?: string }): Promise<PeerCertificate & { status: number }> {
  const [ca, cert, key] = await Promise.all([
    readFile(options.caFile, 'utf8'),
    options.cert ?? (options.certFile === undefined ? undefined : readFile(options.certFile, 'utf8')),
    options.key ?? (options.keyFile === undefined ? undefined : readFile(options.keyFile, 'utf8')),
  ]);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port: options.port,
      ca,
      ...(cert === undefined ? {} : { cert, key }),
      // SVIDs name a SPIFFE ID, not a host: the caller checks the ID instead of a host name.
      checkServerIdentity: () => undefined,
    });
    let response = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS request timed out')));
    socket.once('secureConnect', () => {
      socket.write('GET / HTTP/1.0\r\nHost: localhost\r\n\r\n');
    });
    socket.on('data', (chunk: Buffer) => (response += chunk.toString()));
    socket.once('error', reject);
    socket.once('end', () => {
      const peer = socket.getPeerX509Certificate();
      const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(response)?.[1] ?? 0);
      if (peer === undefined) reject(new Error('no peer certificate'));
      else resolve({ ...describe(peer), status });
    });
  });
}

/**
 * The certificate a PostgreSQL or MySQL/MariaDB server presents after its STARTTLS-style upgrade,
 * verified against `caFile` by openssl (a failed verification rejects).
 */
export async function starttlsPeer(protocol: 'postgres' | 'mysql', port: number, caFile: string): Promise<PeerCertificate> {
  const child = run('openssl', ['s_client', '-starttls', protocol, '-connect', `127.0.0.1:${port}`, '-CAfile', caFile, '-verify_return_error', '-showcerts'], { timeout: 15_000 });
  child.child.stdin?.end();
  const { stdout } = await child.catch((error: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`openssl s_client -starttls ${protocol} failed: ${(error.stderr ?? '').split('\n').filter(Boolean).slice(-3).join(' | ') || error.message}`);
  });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(stdout)?.[0];
  if (pem === undefined) throw new Error(`no certificate in openssl output:\n${stdout.slice(0, 2000)}`);
  if (!/Verify return code: 0 \(ok\)/.test(stdout)) throw new Error('openssl did not verify the server certificate');
  return describe(new X509Certificate(pem));
}

/** The serial of the first certificate in a PEM file. */
export async function fileSerial(path: string): Promise<string> {
  return new X509Certificate(await readFile(path)).serialNumber;
}
