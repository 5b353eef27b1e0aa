import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDevWorkloadApi, type DevWorkloadApi } from '../../src/spiffe/dev/index.ts';
import { JwtSource, SpiffeIdError, WorkloadApiClient, X509Source, certificatesToPem, type X509SourceUpdate } from '../../src/spiffe/index.ts';
import { credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import { SpiffeWorkloadApi } from '../../src/spiffe/workload/proto.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);
type T = Parameters<typeof tempDir>[0];

async function devApi(t: T, options: Parameters<typeof startDevWorkloadApi>[0] = {}): Promise<DevWorkloadApi> {
  const api = await startDevWorkloadApi(options);
  t.after(() => api.close());
  return api;
}

async function x509Source(t: T, endpoint: string): Promise<X509Source> {
  const source = await X509Source.create({ endpoint });
  t.after(() => source.close());
  return source;
}

test('a malformed SPIFFE ID, or one outside the trust domain, throws SpiffeIdError at once and starts nothing', async (t) => {
  const socketDir = await tempDir(t);
  assert.throws(() => startDevWorkloadApi({ spiffeId: 'spiffe://Example.org/dev', socketDir }), (error: Error) => error instanceof SpiffeIdError && /trust domain/.test(error.message));
  assert.throws(() => startDevWorkloadApi({ spiffeId: 'https://example.org/dev', socketDir }), SpiffeIdError);
  assert.throws(() => startDevWorkloadApi({ svids: [{ spiffeId: 'spiffe://example.org/a/' }], socketDir }), /trailing/);
  assert.throws(() => startDevWorkloadApi({ trustDomain: 'example.org', spiffeId: 'spiffe://other.org/dev', socketDir }), /not in the trust domain "example.org"/);
  assert.throws(() => startDevWorkloadApi({ x509TtlSeconds: 0, socketDir }), /x509TtlSeconds/);
  assert.deepEqual(await readdir(socketDir), [], 'no socket directory was made');
});

test('serves spiffe://example.org/dev by default on a socket in a private 0700 directory, removed by close()', async (t) => {
  const socketDir = await tempDir(t);
  const api = await devApi(t, { socketDir });
  const socket = api.endpoint.replace(/^unix:\/\//, '');
  const dir = join(socket, '..');
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  const source = await x509Source(t, api.endpoint);
  assert.equal(source.svid.id.toString(), 'spiffe://example.org/dev');
  assert.equal(api.trustDomain, 'example.org');
  await source.close();
  await api.close();
  assert.deepEqual(await readdir(socketDir), []);
});

test('the X.509-SVID verifies with openssl against the bundle, as a leaf for TLS clients and servers', async (t) => {
  const dir = await tempDir(t);
  const api = await devApi(t, { spiffeId: 'spiffe://dev.test/app/web' });
  const source = await x509Source(t, api.endpoint);
  const leaf = source.svid.certificates[0]!;
  assert.equal(leaf.subjectAltName, 'URI:spiffe://dev.test/app/web');
  assert.equal(leaf.ca, false);
  const bundle = source.bundles.get('dev.test')!;
  await writeFile(join(dir, 'leaf.pem'), certificatesToPem([leaf]));
  await writeFile(join(dir, 'bundle.pem'), certificatesToPem(bundle.authorities));
  const { stdout } = await run('openssl', ['verify', '-x509_strict', '-CAfile', join(dir, 'bundle.pem'), join(dir, 'leaf.pem')]);
  assert.match(stdout, /leaf\.pem: OK/);
  const text = (await run('openssl', ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-text'])).stdout;
  assert.match(text, /X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/dev\.test\/app\/web/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
  assert.ok(new X509Certificate(bundle.authorities[0]!.raw).ca);
});

test('JWT-SVIDs for any audience, checked by the JWT bundle it serves and by its ValidateJWTSVID', async (t) => {
  const api = await devApi(t, { jwtTtlSeconds: 120 });
  const jwt = await JwtSource.create({ endpoint: api.endpoint });
  t.after(() => jwt.close());
  const svid = await jwt.fetchJwtSvid({ audience: 'https://api.example.org', extraAudiences: ['db'] });
  assert.equal(svid.id.toString(), 'spiffe://example.org/dev');
  assert.deepEqual(svid.audience, ['https://api.example.org', 'db']);
  assert.ok(svid.expiresAt.getTime() - Date.now() <= 120_000);
  const checked = await jwt.validateJwtSvid(svid.token, 'db');
  assert.equal(checked.id.toString(), 'spiffe://example.org/dev');
  const client = new WorkloadApiClient({ address: api.endpoint });
  t.after(() => client.close());
  assert.equal((await client.validateJwtSvid(svid.token, 'db')).id.toString(), 'spiffe://example.org/dev');
  await assert.rejects(client.validateJwtSvid(svid.token, 'elsewhere'), /audience/);
});

test('rotate() sends a new X.509-SVID to watchers at once, and it rotates by itself at half its lifetime', async (t) => {
  const api = await devApi(t, { x509TtlSeconds: 6 });
  const source = await x509Source(t, api.endpoint);
  const updates: X509SourceUpdate[] = [];
  source.on('update', (update: X509SourceUpdate) => updates.push(update));
  const first = source.svid.certificates[0]!.serialNumber;
  api.rotate();
  const rotated = await waitFor(() => updates[0], { what: 'the forced rotation', timeoutMs: 30_000 });
  assert.notEqual(rotated.svid.certificates[0]!.serialNumber, first);
  assert.equal(rotated.svid.certificates[0]!.serialNumber, new X509Certificate(api.x509Svids[0]!.chainDer).serialNumber);
  // 6 s lifetime: the next one comes about 3 s later, without asking.
  const again = await waitFor(() => updates[1], { what: 'a rotation at half the lifetime', timeoutMs: 30_000 });
  assert.notEqual(again.svid.certificates[0]!.serialNumber, rotated.svid.certificates[0]!.serialNumber);
});

test('a call without the security header is refused, as a conforming endpoint must', async (t) => {
  const api = await devApi(t);
  const stub = new SpiffeWorkloadApi(api.endpoint, credentials.createInsecure()) as unknown as { FetchJWTSVID: (request: unknown, done: (error: ServiceError | null) => void) => void; close(): void };
  t.after(() => stub.close());
  const error = await new Promise<ServiceError | null>((resolve) => stub.FetchJWTSVID({ audience: ['x'] }, resolve));
  assert.equal(error?.code, Status.INVALID_ARGUMENT);
  assert.match(error?.details ?? '', /security header missing/);
});
