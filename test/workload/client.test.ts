import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { WorkloadApiClient, WorkloadApiError, type ConnectionState, type WatchHandler, type X509Context } from '../../src/workload/index.ts';
import { WorkloadApiTestServer } from '../support/workload-api-server.ts';
import { waitFor } from '../support/wait.ts';
import { tempDir } from '../support/tmp.ts';

const FAST = { initialMs: 20, maxMs: 200 };

interface Recorder<T> extends WatchHandler<T> {
  updates: T[];
  errors: Error[];
  states: ConnectionState[];
}

function recorder<T>(): Recorder<T> {
  const r: Recorder<T> = {
    updates: [],
    errors: [],
    states: [],
    onUpdate: (value) => r.updates.push(value),
    onError: (error) => r.errors.push(error),
    onStateChange: (state) => r.states.push(state),
  };
  return r;
}

async function setup(t: { after(fn: () => unknown): void }, options: Parameters<typeof WorkloadApiTestServer.start>[0] = {}) {
  const server = await WorkloadApiTestServer.start(options);
  t.after(() => server.stop());
  const client = new WorkloadApiClient({ address: server.address, backoff: FAST });
  t.after(() => client.close());
  return { server, client };
}

const serial = (context: X509Context): string => context.svids[0]!.certificates[0]!.serialNumber;

test('the first message arrives with the security header, then a rotation', async (t) => {
  const { server, client } = await setup(t);
  const r = recorder<X509Context>();
  client.watchX509Context(r);
  await waitFor(() => r.updates.length === 1, { what: 'first X.509 context' });
  assert.equal(r.updates[0]!.svids[0]!.id.toString(), 'spiffe://example.org/workload');
  assert.ok(server.calls.every((call) => call.header === 'true'));
  assert.deepEqual(r.states.map((s) => s.status), ['connecting', 'connected']);
  await server.rotate();
  await waitFor(() => r.updates.length === 2, { what: 'rotation' });
  assert.notEqual(serial(r.updates[1]!), serial(r.updates[0]!));
});

test('a server that requires the header refuses a call without it (InvalidArgument), and the client treats that as fatal', async (t) => {
  const { server, client } = await setup(t);
  server.failNext('FetchX509SVID', Status.INVALID_ARGUMENT, 'security header missing from request');
  const r = recorder<X509Context>();
  const watch = client.watchX509Context(r);
  await assert.rejects(watch.done, (error: unknown) => error instanceof WorkloadApiError && error.code === 'InvalidArgument' && error.fatal);
  assert.equal(r.states.at(-1)?.status, 'failed');
  assert.equal(server.callCount('FetchX509SVID'), 1);
});

test('Unimplemented is fatal too', async (t) => {
  const { server, client } = await setup(t);
  server.failNext('FetchJWTBundles', Status.UNIMPLEMENTED, 'no such method');
  const watch = client.watchJwtBundles(recorder());
  await assert.rejects(watch.done, /does not implement FetchJWTBundles/);
});

test('several SVIDs keep their order and hints; a removed SVID and a removed federated bundle are redacted', async (t) => {
  const { server, client } = await setup(t, {
    svids: [{ spiffeId: 'spiffe://example.org/a', hint: 'internal' }, { spiffeId: 'spiffe://example.org/b', hint: 'external' }],
  });
  await server.addFederatedBundle('other.org');
  const r = recorder<X509Context>();
  client.watchX509Context(r);
  await waitFor(() => r.updates.length >= 1);
  const first = r.updates.at(-1)!;
  assert.deepEqual(first.svids.map((s) => [s.id.toString(), s.hint]), [['spiffe://example.org/a', 'internal'], ['spiffe://example.org/b', 'external']]);
  assert.deepEqual([...first.federatedTrustDomains], ['other.org']);
  assert.ok(first.bundles.has('example.org') && first.bundles.has('other.org'));
  const before = r.updates.length;
  await server.setSvids([{ spiffeId: 'spiffe://example.org/b', hint: 'external' }]);
  server.removeFederatedBundle('other.org');
  await waitFor(() => r.updates.length >= before + 2);
  const last = r.updates.at(-1)!;
  assert.deepEqual(last.svids.map((s) => s.id.toString()), ['spiffe://example.org/b']);
  assert.equal(last.federatedTrustDomains.size, 0);
  assert.ok(!last.bundles.has('other.org'));
});

test('a dropped stream is re-established and the backoff resets after a good message', async (t) => {
  const { server, client } = await setup(t);
  const r = recorder<X509Context>();
  client.watchX509Context(r);
  await waitFor(() => r.updates.length === 1);
  for (let round = 2; round <= 4; round++) {
    server.dropStreams();
    await waitFor(() => r.updates.length === round, { what: `update after drop ${round - 1}` });
  }
  const retries = r.states.filter((s): s is Extract<ConnectionState, { status: 'retrying' }> => s.status === 'retrying');
  assert.equal(retries.length, 3);
  // Each retry follows a good message, so none waits longer than the first step's ceiling.
  assert.ok(retries.every((s) => s.retryInMs <= FAST.initialMs), JSON.stringify(retries.map((s) => s.retryInMs)));
  assert.equal(server.openStreams('FetchX509SVID'), 1);
});

test('PermissionDenied and Unavailable are retried with growing backoff until the agent serves', async (t) => {
  const { server, client } = await setup(t);
  server.setRefusal(Status.PERMISSION_DENIED, 'no identity issued');
  const r = recorder<X509Context>();
  client.watchX509Context(r);
  await waitFor(() => r.states.filter((s) => s.status === 'retrying').length >= 4, { what: 'four retries' });
  const retrying = r.states.filter((s): s is Extract<ConnectionState, { status: 'retrying' }> => s.status === 'retrying');
  assert.equal(retrying[0]!.error.code, 'PermissionDenied');
  assert.match(retrying[0]!.error.message, /no identity for this workload.*no identity issued/);
  assert.ok(retrying[3]!.retryInMs > FAST.initialMs, 'the backoff grows');
  server.setRefusal(Status.UNAVAILABLE, 'agent starting');
  await waitFor(() => r.states.some((s) => s.status === 'retrying' && s.error.code === 'Unavailable'));
  server.setRefusal(undefined);
  await waitFor(() => r.updates.length === 1, { what: 'recovery', timeoutMs: 5_000 });
  assert.equal(r.states.at(-1)?.status, 'connected');
});

test('a socket that appears late is connected to, and the missing socket is named meanwhile', async (t) => {
  const server = await WorkloadApiTestServer.start({ startLate: true });
  t.after(() => server.stop());
  const client = new WorkloadApiClient({ address: server.address, backoff: FAST });
  t.after(() => client.close());
  const r = recorder<X509Context>();
  client.watchX509Context(r);
  await waitFor(() => r.errors.length >= 2);
  assert.match(r.errors[0]!.message, new RegExp(`no Workload API socket at ${server.socketPath}`));
  await server.listen();
  await waitFor(() => r.updates.length === 1, { what: 'update after late start', timeoutMs: 10_000 });
});

test('an invalid message is reported and discarded; the stream goes on', async (t) => {
  const { server, client } = await setup(t);
  const r = recorder<X509Context>();
  client.watchX509Context(r);
  await waitFor(() => r.updates.length === 1);
  server.pushRaw({ svids: [], crl: [], federated_bundles: {} });
  const good = server.currentSvids[0]!;
  server.pushRaw({ svids: [{ spiffe_id: good.spiffeId, x509_svid: good.chainDer, x509_svid_key: Buffer.alloc(0), bundle: server.ca.bundleDer(), hint: '' }] });
  server.pushRaw({ svids: [{ spiffe_id: 'spiffe://example.org/other', x509_svid: good.chainDer, x509_svid_key: good.keyDer, bundle: server.ca.bundleDer(), hint: '' }] });
  const forged = await (await import('../support/test-ca.ts')).TestCa.create('example.org');
  const forgedSvid = await forged.issueSvid(good.spiffeId);
  server.pushRaw({ svids: [{ spiffe_id: good.spiffeId, x509_svid: forgedSvid.chainDer, x509_svid_key: forgedSvid.keyDer, bundle: server.ca.bundleDer(), hint: '' }] });
  await waitFor(() => r.errors.length === 4);
  assert.match(r.errors[0]!.message, /mandatory field svids is empty/);
  assert.match(r.errors[1]!.message, /x509_svid_key is empty/);
  assert.match(r.errors[2]!.message, /does not match the certificate/);
  assert.match(r.errors[3]!.message, /does not verify to any authority/);
  await server.rotate();
  await waitFor(() => r.updates.length === 2);
  assert.equal(server.callCount('FetchX509SVID'), 1, 'no reconnect was needed');
});

test('X.509 bundles and JWT bundles are watched', async (t) => {
  const { server, client } = await setup(t);
  const x = recorder<ReadonlyMap<string, unknown>>();
  const j = recorder<ReadonlyMap<string, unknown>>();
  client.watchX509Bundles(x);
  client.watchJwtBundles(j);
  await waitFor(() => x.updates.length === 1 && j.updates.length === 1);
  assert.deepEqual([...x.updates[0]!.keys()], ['example.org']);
  await server.addFederatedBundle('other.org');
  await waitFor(() => j.updates.length === 2 && x.updates.length === 2);
  assert.deepEqual([...j.updates[1]!.keys()].sort(), ['example.org', 'other.org']);
});

test('FetchJWTSVID sends the audience with extra audiences and an optional SPIFFE ID; ValidateJWTSVID checks a token', async (t) => {
  const { client } = await setup(t, { svids: [{ spiffeId: 'spiffe://example.org/a' }, { spiffeId: 'spiffe://example.org/b' }] });
  const all = await client.fetchJwtSvid({ audience: 'db', extraAudiences: ['cache'] });
  assert.deepEqual(all.map((s) => s.id.toString()), ['spiffe://example.org/a', 'spiffe://example.org/b']);
  assert.deepEqual(all[0]!.audience, ['db', 'cache']);
  const one = await client.fetchJwtSvid({ audience: 'db', spiffeId: 'spiffe://example.org/b' });
  assert.deepEqual(one.map((s) => s.id.toString()), ['spiffe://example.org/b']);
  await assert.rejects(client.fetchJwtSvid({ audience: 'db', spiffeId: 'spiffe://example.org/zzz' }), /no identity for this workload/);
  const validated = await client.validateJwtSvid(all[0]!.token, 'cache');
  assert.equal(validated.id.toString(), 'spiffe://example.org/a');
  assert.deepEqual(validated.claims.aud, ['db', 'cache']);
  await assert.rejects(client.validateJwtSvid(all[0]!.token, 'nope'), /audience "nope"/);
});

test('close() ends watches at once and leaves nothing keeping a process alive', async (t) => {
  const server = await WorkloadApiTestServer.start();
  t.after(() => server.stop());
  const dir = await tempDir(t);
  const script = join(dir, 'watch-then-close.ts');
  const clientModule = new URL('../../src/workload/index.ts', import.meta.url).href;
  const { writeFile } = await import('node:fs/promises');
  await writeFile(
    script,
    `import { WorkloadApiClient } from ${JSON.stringify(clientModule)};
const client = new WorkloadApiClient({ address: ${JSON.stringify(server.address)} });
const watch = client.watchX509Context({ onUpdate: () => { client.close(); } });
client.watchJwtBundles({ onUpdate: () => {} });
await watch.done;
console.log('closed');
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = once(child, 'exit');
  await waitFor(() => child.exitCode !== null, { what: 'the child to exit by itself', timeoutMs: 10_000 });
  const [code] = await exit;
  assert.equal(code, 0);
  assert.equal(output.trim(), 'closed');
});
