import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { status as Status } from '@grpc/grpc-js';
import {
  BundleSource,
  JwtSource,
  JwtSvidError,
  WorkloadApiError,
  X509Source,
  fetchJwtSvid,
  fetchX509Svid,
  NoMatchingSvidError,
  pickHint,
  requireSvid,
  selectSvid,
  type ConnectionState,
  type X509SourceUpdate,
} from '../../src/spiffe/index.ts';
import { WorkloadApiTestServer, type TestServerOptions } from '../support/workload-api-server.ts';
import { waitFor } from '../support/wait.ts';

const FAST = { initialMs: 20, maxMs: 200 } as const;
const ID = 'spiffe://example.org/workload';

async function serve(t: { after(fn: () => unknown): void }, options: TestServerOptions = {}): Promise<WorkloadApiTestServer> {
  const server = await WorkloadApiTestServer.start(options);
  t.after(() => server.stop());
  return server;
}

/** Closed when the test ends, also when it fails. */
function closing<S extends { close(): Promise<void> }>(t: { after(fn: () => unknown): void }, source: S): S {
  t.after(() => source.close());
  return source;
}

const served = (server: WorkloadApiTestServer, index = 0): string => new X509Certificate(server.currentSvids[index]!.certificates[0]!).serialNumber;

test('X509Source: the first context on create(), each rotation replaces svid and bundles at once, with an update event', async (t) => {
  const server = await serve(t);
  const source = closing(t, await X509Source.create({ endpoint: server.address }));
  assert.equal(source.svid.id.toString(), ID);
  assert.equal(source.svid.certificates[0]!.serialNumber, served(server));
  assert.deepEqual([...source.bundles.keys()], ['example.org']);
  assert.equal(source.bundleFor('example.org'), source.bundles.get('example.org'));
  assert.equal(source.bundleFor('spiffe://example.org'), source.bundles.get('example.org'));
  assert.equal(source.bundleFor('other.org'), undefined);
  assert.equal(source.state.status, 'connected');
  const updates: X509SourceUpdate[] = [];
  source.on('update', (update) => updates.push(update));
  await server.rotate();
  await waitFor(() => updates.length === 1, { what: 'the rotation' });
  assert.equal(updates[0]!.svid, source.svid);
  assert.equal(source.svid.certificates[0]!.serialNumber, served(server), 'the new SVID');
  const federated = await server.addFederatedBundle('other.org');
  await waitFor(() => source.bundleFor('other.org') !== undefined, { what: 'the federated bundle' });
  assert.equal(source.bundleFor('other.org')!.authorities[0]!.raw.equals(federated.bundleDer()), true);
});

test('X509Source picker: pickHint chooses among identities; an update without a fitting SVID is refused and the last good stays', async (t) => {
  const server = await serve(t, { svids: [{ spiffeId: 'spiffe://example.org/a', hint: 'a' }, { spiffeId: 'spiffe://example.org/b', hint: 'b' }] });
  const source = closing(t, await X509Source.create({ endpoint: server.address, picker: pickHint('b') }));
  assert.equal(source.svid.id.toString(), 'spiffe://example.org/b');
  assert.equal(source.svids.length, 2);
  const errors: Error[] = [];
  source.on('error', (error) => errors.push(error));
  const before = source.svid;
  await server.setSvids([{ spiffeId: 'spiffe://example.org/a', hint: 'a' }]);
  await waitFor(() => errors.length > 0, { what: 'the refused update' });
  assert.ok(errors[0] instanceof NoMatchingSvidError);
  assert.match(errors[0].message, /no X\.509-SVID has hint "b" \(the agent sent hints: "a"\)/);
  assert.equal(source.svid, before, 'the last good SVID stays');
  await assert.rejects(
    X509Source.create({ endpoint: server.address, picker: pickHint('b'), timeoutMs: 300 }),
    /no X\.509 context from the Workload API at unix:\/\/.* within 300 ms \(last error: no X\.509-SVID has hint "b"/,
  );
  // A picker of the caller's own that finds none: the source says what the agent sent.
  await assert.rejects(
    X509Source.create({ endpoint: server.address, picker: () => undefined, timeoutMs: 300 }),
    /last error: the picker chose none of the X\.509-SVIDs the Workload API sent: spiffe:\/\/example\.org\/a \(hint "a"\)/,
  );
});

test('selectSvid: one rule for X.509 and JWT: hint "" is the first, else the hint or the SPIFFE ID; requireSvid says what the agent sent', () => {
  const svids = [
    { id: 'spiffe://example.org/a', hint: 'a' },
    { id: 'spiffe://example.org/b', hint: 'b' },
  ];
  assert.equal(selectSvid(svids, { hint: '' }), svids[0]);
  assert.equal(selectSvid(svids, { hint: 'b' }), svids[1]);
  assert.equal(selectSvid(svids, { spiffeId: 'spiffe://example.org/b' }), svids[1]);
  assert.equal(selectSvid(svids, { hint: 'c' }), undefined);
  assert.throws(() => requireSvid(svids, { spiffeId: 'spiffe://example.org/c' }, 'X.509-SVID'), (error: Error) =>
    error instanceof NoMatchingSvidError && /no X\.509-SVID for spiffe:\/\/example\.org\/c \(the agent sent: spiffe:\/\/example\.org\/a, spiffe:\/\/example\.org\/b\)/.test(error.message));
  assert.throws(() => requireSvid([], { hint: '' }, 'JWT-SVID'), /the Workload API sent no JWT-SVID/);
});

test('X509Source rides out agent loss: the last good SVID stays, state says retrying, and it resumes on the new stream', async (t) => {
  const server = await serve(t);
  const source = closing(t, await X509Source.create({ endpoint: server.address, backoff: FAST }));
  const states: ConnectionState[] = [];
  source.on('state', (state) => states.push(state));
  const before = source.svid;
  server.setRefusal(Status.UNAVAILABLE, 'agent gone');
  await waitFor(() => states.filter((s) => s.status === 'retrying').length >= 2, { what: 'retries while the agent is gone' });
  assert.equal(source.svid, before, 'the last good SVID stays while the agent is gone');
  assert.equal(source.state.status, 'retrying');
  server.setRefusal(undefined);
  await server.rotate();
  await waitFor(() => source.svid.certificates[0]!.serialNumber === served(server), { what: 'the SVID after the agent came back' });
  assert.equal(source.state.status, 'connected');
});

test('X509Source: an invalid message is reported and discarded; nobody listening for errors is no crash', async (t) => {
  const server = await serve(t);
  const source = closing(t, await X509Source.create({ endpoint: server.address }));
  const before = source.svid;
  server.pushRaw({ svids: [{ spiffe_id: ID, x509_svid: Buffer.from('nope'), x509_svid_key: Buffer.alloc(0), bundle: Buffer.alloc(0), hint: '' }], crl: [], federated_bundles: {} });
  const errors: Error[] = [];
  source.on('error', (error) => errors.push(error));
  server.pushRaw({ svids: [], crl: [], federated_bundles: {} });
  await waitFor(() => errors.some((error) => /mandatory field svids is empty/.test(error.message)), { what: 'the invalid message reported' });
  assert.equal(source.svid, before);
});

test('X509Source.create rejects on a fatal error, on its deadline with the last error, and on its signal; nothing is left open', async (t) => {
  const server = await serve(t);
  server.failNext('FetchX509SVID', Status.UNIMPLEMENTED, 'no X.509 here');
  await assert.rejects(X509Source.create({ endpoint: server.address }), (error: unknown) => error instanceof WorkloadApiError && error.fatal && /does not implement FetchX509SVID/.test(error.message));
  await server.setSvids([]);
  const heard: { states: string[]; errors: Error[] } = { states: [], errors: [] };
  const on = { state: (state: ConnectionState) => heard.states.push(state.status), error: (error: Error) => heard.errors.push(error) };
  await assert.rejects(X509Source.create({ endpoint: server.address, timeoutMs: 400, backoff: FAST, on }), (error: unknown) => {
    assert.ok(error instanceof WorkloadApiError && error.code === 'DeadlineExceeded' && !error.fatal, String(error));
    assert.match(error.message, /no X\.509 context from the Workload API at .* within 400 ms \(last error: .*has no identity for this workload/);
    return true;
  });
  assert.deepEqual(heard.states.slice(0, 2), ['connecting', 'retrying'], 'listeners given to create() hear it wait');
  assert.match(heard.errors[0]!.message, /has no identity for this workload/);
  const controller = new AbortController();
  const pending = X509Source.create({ endpoint: server.address, signal: controller.signal, timeoutMs: Infinity });
  controller.abort(new Error('shutting down'));
  await assert.rejects(pending, /shutting down/);
  await server.setSvids([{ spiffeId: ID }]);
  await waitFor(() => server.openStreams('FetchX509SVID') === 0, { what: 'no stream left open by the failed creations' });
});

test('X509Source: a fatal error after creation is reported; the last good SVID stays; the signal closes the source', async (t) => {
  const server = await serve(t);
  const controller = new AbortController();
  const source = closing(t, await X509Source.create({ endpoint: server.address, signal: controller.signal, backoff: FAST }));
  const errors: Error[] = [];
  source.on('error', (error) => errors.push(error));
  server.failNext('FetchX509SVID', Status.INVALID_ARGUMENT, 'header stripped');
  server.dropStreams();
  await waitFor(() => errors.some((error) => error instanceof WorkloadApiError && error.fatal), { what: 'the fatal error' });
  assert.equal(source.state.status, 'failed');
  assert.equal(source.svid.id.toString(), ID);
  controller.abort();
  await waitFor(() => source.closed, { what: 'the signal to close the source' });
  assert.equal(source.state.status, 'closed');
});

test('JwtSource: tokens come from a cache renewed half way through their lifetime; validation uses the live JWT bundles', async (t) => {
  const server = await serve(t, { jwtTtlSeconds: 2 });
  const source = closing(t, await JwtSource.create({ endpoint: server.address }));
  const first = await source.fetchJwtSvid({ audience: 'db' });
  assert.equal(first.id.toString(), ID);
  assert.deepEqual(first.audience, ['db']);
  assert.equal((await source.fetchJwtSvid({ audience: 'db' })).token, first.token, 'served from the cache');
  assert.equal(server.callCount('FetchJWTSVID'), 1);
  const other = await source.fetchJwtSvid({ audience: 'db', extraAudiences: ['cache'] });
  assert.deepEqual(other.audience, ['db', 'cache'], 'another audience set is another token');
  const renewed = await waitFor(async () => {
    const svid = await source.fetchJwtSvid({ audience: 'db' });
    return svid.token !== first.token ? svid : undefined;
  }, { what: 'a renewed token', intervalMs: 100 });
  assert.ok(renewed.expiresAt > first.expiresAt);
  assert.ok(Date.now() < first.expiresAt.getTime() + 1000, 'renewed before the old token expired');

  const validated = await source.validateJwtSvid(renewed.token, 'db');
  assert.equal(validated.id.toString(), ID);
  await assert.rejects(source.validateJwtSvid(renewed.token, 'other'), (error: unknown) => error instanceof JwtSvidError && /audience "other" is not in its "aud" claim/.test(error.message));
  const stranger = await WorkloadApiTestServer.start({ trustDomain: 'example.org' });
  t.after(() => stranger.stop());
  const forged = stranger.ca.issueJwt(ID, ['db']);
  await assert.rejects(source.validateJwtSvid(forged, 'db'), /is not in the example\.org bundle/);
  assert.equal(source.jwtBundleFor('example.org')!.keys.has(server.ca.jwtKeyId), true);
});

test('JwtSource: a failed renewal serves the cached token while it is valid, and says why', async (t) => {
  const server = await serve(t, { jwtTtlSeconds: 2 });
  const source = closing(t, await JwtSource.create({ endpoint: server.address }));
  const first = await source.fetchJwtSvid({ audience: 'db' });
  const errors: Error[] = [];
  source.on('error', (error) => errors.push(error));
  server.setRefusal(Status.UNAVAILABLE, 'agent gone');
  await waitFor(async () => (await source.fetchJwtSvid({ audience: 'db' })) === first && errors.length > 0, { what: 'a failed renewal', intervalMs: 100 });
  assert.match(errors[0]!.message, /agent gone/);
  await waitFor(() => Date.now() > first.expiresAt.getTime(), { what: 'the cached token to expire', intervalMs: 100 });
  await assert.rejects(source.fetchJwtSvid({ audience: 'db' }), (error: unknown) => error instanceof WorkloadApiError);
});

test('BundleSource: X.509 and JWT bundles, own and federated, kept current', async (t) => {
  const server = await serve(t);
  const source = closing(t, await BundleSource.create({ endpoint: server.address }));
  assert.deepEqual([...source.x509Bundles.keys()], ['example.org']);
  assert.equal(source.bundleFor('example.org')!.authorities[0]!.raw.equals(server.ca.bundleDer()), true);
  assert.equal(source.jwtBundleFor('example.org')!.keys.has(server.ca.jwtKeyId), true);
  let updates = 0;
  source.on('update', () => updates++);
  const other = await server.addFederatedBundle('other.org');
  await waitFor(() => source.bundleFor('other.org') !== undefined && source.jwtBundleFor('other.org') !== undefined, { what: 'the federated bundles' });
  assert.ok(updates >= 2);
  assert.equal(source.jwtBundleFor('other.org')!.keys.has(other.jwtKeyId), true);
  const x509Only = closing(t, await BundleSource.create({ endpoint: server.address, jwt: false }));
  assert.equal(x509Only.jwtBundles.size, 0);
  assert.equal(server.openStreams('FetchJWTBundles'), 1, 'no JWT bundle stream for an X.509-only source');
  await assert.rejects(BundleSource.create({ endpoint: server.address, x509: false, jwt: false }), /needs X\.509 or JWT bundles/);
});

test('one-shot fetchX509Svid and fetchJwtSvid', async (t) => {
  const server = await serve(t, { svids: [{ spiffeId: ID }, { spiffeId: 'spiffe://example.org/second', hint: 'second' }] });
  assert.equal((await fetchX509Svid({ endpoint: server.address })).id.toString(), ID);
  assert.equal((await fetchX509Svid({ endpoint: server.address, picker: pickHint('second') })).id.toString(), 'spiffe://example.org/second');
  const jwt = await fetchJwtSvid({ audience: 'db', spiffeId: 'spiffe://example.org/second' }, { endpoint: server.address });
  assert.equal(jwt.id.toString(), 'spiffe://example.org/second');
  await waitFor(() => server.openStreams('FetchX509SVID') === 0, { what: 'the one-shot streams closed' });
});

test('closing every kind of source leaves nothing running: the process exits by itself', async (t) => {
  const server = await serve(t);
  const child = spawn(process.execPath, [new URL('./fixtures/open-and-close.ts', import.meta.url).pathname, server.address], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.exitCode === null && child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const exited = once(child, 'exit');
  await waitFor(() => child.exitCode !== null, { what: `the process to exit by itself after closing its sources (output: ${output})`, timeoutMs: 20_000 });
  const [code] = await exited;
  assert.equal(code, 0, output);
  assert.equal(output, 'closed\n');
});
