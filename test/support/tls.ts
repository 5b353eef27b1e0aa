import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { chmod, chown, readFile, rename, writeFile } from 'node:fs/promises';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';

// TLS clients for tests: what certificate does a real server present, verified against a given bundle?

const run = promisify(execFile);

export interface PeerCertificate {
  /** The URI SAN, when it is a SPIFFE ID. */
  readonly spiffeId: string | undefined;
  /** Hex, as node:crypto prints it. */
  readonly serial: string;
  /** SHA-256, colon-separated hex. */
  readonly fingerprint256: string;
  readonly pem: string;
}

function describeCertificate(certificate: X509Certificate): PeerCertificate {
  return {
    spiffeId: /URI:(spiffe:\/\/[^,\s]+)/.exec(certificate.subjectAltName ?? '')?.[1],
    serial: certificate.serialNumber,
    fingerprint256: certificate.fingerprint256,
    pem: certificate.toString(),
  };
}

/** The three files a server's TLS is configured from (the helper's svid, key and bundle files). */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly bundle: string;
}

/**
 * Copies a set of TLS files over another, each by write-then-rename, the key with mode 0600; all
 * owned by `owner` when given (PostgreSQL wants its key owned by its own user).
 */
export async function installTlsFiles(from: TlsFiles, to: TlsFiles, owner?: { uid: number; gid: number }): Promise<void> {
  for (const part of ['cert', 'bundle', 'key'] as const) {
    const temp = `${to[part]}.tmp`;
    await writeFile(temp, await readFile(from[part]), { mode: part === 'key' ? 0o600 : 0o644 });
    await chmod(temp, part === 'key' ? 0o600 : 0o644);
    if (owner !== undefined) await chown(temp, owner.uid, owner.gid);
    await rename(temp, to[part]);
  }
}

/** How the client gets to TLS: directly, or after PostgreSQL's SSLRequest or MySQL/MariaDB's SSL request packet. */
export type Starttls = 'postgres' | 'mysql';

export interface TlsClientOptions {
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** The only roots trusted: the server's chain must end in one of them. */
  readonly caFile: string;
  /** A client certificate (chain) and key, as files or PEM text. */
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly starttls?: Starttls;
  /** Default 10 s. */
  readonly timeoutMs?: number;
}

async function readMaybe(text: string | undefined, file: string | undefined): Promise<string | undefined> {
  return text ?? (file === undefined ? undefined : readFile(file, 'utf8'));
}

/** Reads exactly `n` bytes from a socket that is not yet flowing into anything else. */
async function readBytes(socket: Socket, n: number): Promise<Buffer> {
  for (;;) {
    const chunk = socket.read(n) as Buffer | null;
    if (chunk !== null) return chunk;
    if (socket.readableEnded || socket.destroyed) throw socket.errored ?? new Error(`the server closed the connection before sending ${n} bytes`);
    await new Promise((resolve) => {
      const done = () => {
        socket.off('readable', done).off('end', done).off('close', done);
        resolve(undefined);
      };
      socket.on('readable', done).on('end', done).on('close', done);
    });
  }
}

/** PostgreSQL: SSLRequest (length 8, code 80877103), then the server answers 'S' and TLS starts. */
async function postgresStarttls(socket: Socket): Promise<void> {
  const request = Buffer.alloc(8);
  request.writeInt32BE(8, 0);
  request.writeInt32BE(80877103, 4);
  socket.write(request);
  const answer = (await readBytes(socket, 1)).toString('latin1');
  if (answer !== 'S') throw new Error(`PostgreSQL refused SSL (answered ${JSON.stringify(answer)})`);
}

const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SSL = 0x800;
const CLIENT_SECURE_CONNECTION = 0x8000;

/** MySQL/MariaDB: read the server's greeting, answer with an SSL request packet, then TLS starts. */
async function mysqlStarttls(socket: Socket): Promise<void> {
  const header = await readBytes(socket, 4);
  const greeting = await readBytes(socket, header.readUIntLE(0, 3));
  if (greeting[0] === 0xff) throw new Error(`the server refused the connection: ${greeting.subarray(3).toString('utf8')}`);
  // protocol version, NUL-terminated server version, thread id (4), auth data (8), filler (1), capabilities (2)
  const capabilities = greeting.readUInt16LE(greeting.indexOf(0, 1) + 1 + 4 + 8 + 1);
  if ((capabilities & CLIENT_SSL) === 0) throw new Error('the server does not offer TLS (no CLIENT_SSL capability)');
  const body = Buffer.alloc(32);
  body.writeUInt32LE(CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION, 0);
  body.writeUInt32LE(16 * 1024 * 1024, 4);
  body[8] = 33; // utf8_general_ci
  const packet = Buffer.alloc(4);
  packet.writeUIntLE(body.length, 0, 3);
  packet[3] = header[3]! + 1;
  socket.write(Buffer.concat([packet, body]));
}

/**
 * Opens a TLS connection that trusts only `caFile` (after a STARTTLS-style upgrade when asked),
 * presenting a client certificate when given. The server's certificate chain must verify; the host
 * name is not checked, since SVIDs name a SPIFFE ID (callers compare `spiffeId`). The caller ends
 * the socket.
 */
export async function connectTlsClient(options: TlsClientOptions): Promise<TLSSocket> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const [ca, cert, key] = await Promise.all([
    readFile(options.caFile, 'utf8'),
    readMaybe(options.cert, options.certFile),
    readMaybe(options.key, options.keyFile),
  ]);
  let tcp: Socket | undefined;
  let socket: TLSSocket | undefined;
  const timer = setTimeout(() => {
    const error = new Error(`no TLS session with ${host}:${options.port} within ${timeoutMs} ms`);
    socket?.destroy(error);
    tcp?.destroy(error);
  }, timeoutMs);
  try {
    if (options.starttls !== undefined) {
      tcp = connectTcp({ host, port: options.port });
      await once(tcp, 'connect');
      await (options.starttls === 'postgres' ? postgresStarttls(tcp) : mysqlStarttls(tcp));
    }
    socket = connectTls({
      ...(tcp === undefined ? { host, port: options.port } : { socket: tcp }),
      ca,
      ...(cert === undefined ? {} : { cert, key }),
      checkServerIdentity: () => undefined,
    });
    await once(socket, 'secureConnect');
    return socket;
  } catch (error) {
    socket?.destroy();
    tcp?.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The certificate the server presents, verified against `caFile`. */
export async function tlsPeer(options: TlsClientOptions): Promise<PeerCertificate> {
  const socket = await connectTlsClient(options);
  try {
    const peer = socket.getPeerX509Certificate();
    if (peer === undefined) throw new Error('the server presented no certificate');
    return describeCertificate(peer);
  } finally {
    socket.destroy();
  }
}

/**
 * An HTTP/1.0 GET / over a verified TLS connection (a client certificate when given): the server's
 * certificate and the HTTP status it answered (nginx answers 400 to a missing or untrusted client
 * certificate when ssl_verify_client is on).
 */
export async function httpsPeer(options: TlsClientOptions): Promise<PeerCertificate & { status: number }> {
  const socket = await connectTlsClient(options);
  try {
    const peer = socket.getPeerX509Certificate();
    if (peer === undefined) throw new Error('the server presented no certificate');
    socket.setTimeout(options.timeoutMs ?? 10_000, () => socket.destroy(new Error('HTTPS request timed out')));
    socket.end('GET / HTTP/1.0\r\nHost: localhost\r\n\r\n');
    let response = '';
    for await (const chunk of socket) response += (chunk as Buffer).toString();
    return { ...describeCertificate(peer), status: Number(/^HTTP\/1\.\d (\d{3})/.exec(response)?.[1] ?? 0) };
  } finally {
    socket.destroy();
  }
}

/**
 * The certificate a server presents as `openssl s_client` sees it (an independent second client),
 * verified against `caFile`; a failed verification rejects with openssl's reason.
 */
export async function opensslPeer(options: { port: number; caFile: string; starttls?: Starttls; certFile?: string; keyFile?: string }): Promise<PeerCertificate> {
  const args = ['s_client', '-connect', `127.0.0.1:${options.port}`, '-CAfile', options.caFile, '-verify_return_error'];
  if (options.starttls !== undefined) args.push('-starttls', options.starttls);
  if (options.certFile !== undefined) args.push('-cert', options.certFile, '-key', options.keyFile ?? options.certFile);
  const child = run('openssl', args, { timeout: 15_000 });
  child.child.stdin?.end();
  const { stdout } = await child.catch((error: { stdout?: string; stderr?: string; message: string }) => {
    const reason = (error.stderr ?? '').split('\n').filter(Boolean).slice(-3).join(' | ');
    throw new Error(`openssl s_client${options.starttls === undefined ? '' : ` -starttls ${options.starttls}`} to port ${options.port} failed: ${reason || error.message}`);
  });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(stdout)?.[0];
  if (pem === undefined) throw new Error(`no certificate in openssl output:\n${stdout.slice(0, 2000)}`);
  if (!/Verify return code: 0 \(ok\)/.test(stdout)) throw new Error('openssl did not verify the server certificate');
  return describeCertificate(new X509Certificate(pem));
}

/** opensslPeer for PostgreSQL or MySQL/MariaDB. */
export function starttlsPeer(protocol: Starttls, port: number, caFile: string): Promise<PeerCertificate> {
  return opensslPeer({ port, caFile, starttls: protocol });
}
