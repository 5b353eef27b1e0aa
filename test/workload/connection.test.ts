import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import { WorkloadApiClient, type X509Context } from '../../src/spiffe/workload/index.ts';
import { SpiffeWorkloadApi, type WorkloadApiStub } from '../../src/spiffe/workload/proto.ts';
import { WorkloadApiTestServer } from '../support/workload-api-server.ts';
import { waitFor } from '../support/wait.ts';
import { tempDir } from '../support/tmp.ts';
import { FAST, recorder } from './recorder.ts';

async function started(t: { after(fn: () => unknown): void }, options: Parameters<typeof WorkloadApiTestServer.start>[0] = {}) {
  const server = await WorkloadApiTestServer.start(options);
  t.after(() => server.stop());
  return server;
}

function client(t: { after(fn: () => unknown): void }, address: string): WorkloadApiClient {
  const c = new WorkloadApiClient({ address, backoff: FAST });
  t.after(() => c.close());
  return c;
}

/** FetchJWTSVID by hand, with or without the security header. */
async function rawFetch(t: { after(fn: () => unknown): void }, server: WorkloadApiTestServer, header: boolean): Promise<ServiceError | null> {
  const stub = new SpiffeWorkloadApi(server.address, credentials.createInsecure()) as WorkloadApiStub;
  t.after(() => stub.close());
  const metadata = new Metadata();
  if (header) metadata.set('workload.spiffe.io', 'true');
  return new Promise((resolve) => stub.FetchJWTSVID!({ audience: ['db'] }, metadata, (error: ServiceError | null) => resolve(error)));
}

test('the test server refuses a call without the security header with InvalidArgument, as a conforming agent must', async (t) => {
  const server = await started(t);
  const refused = await rawFetch(t, server, false);
  assert.equal(refused?.code, 3 /* InvalidArgument */);
  assert.equal(refused?.details, 'security header missing from request');
  assert.equal(await rawFetch(t, server, true), null);
  assert.deepEqual(server.calls.map((call) => call.header), [undefined, 'true']);

  const lax = await started(t, { requireHeader: false });
  assert.equal(await rawFetch(t, lax, false), null);
});

test('a socket that appears late is connected to; meanwhile the errors name the missing socket', async (t) => {
  const server = await started(t, { startLate: true });
  const r = recorder<X509Context>();
  client(t, server.address).watchX509Context(r);
  await waitFor(() => r.retries().length >= 2, { what: 'two retries' });
  const error = r.retries()[0]!.error;
  assert.equal(error.code, 'Unavailable');
  assert.equal(error.message, `no Workload API socket at ${server.socketPath} (is the SPIRE agent running, and is its socket mounted here?)`);
  await server.listen();
  await waitFor(() => r.updates.length === 1, { what: 'update after the late start' });
});

test('an agent restarted on the same socket is reconnected to', async (t) => {
  const dir = await tempDir(t);
  const socketPath = join(dir, 'agent.sock');
  const first = await started(t, { socketPath });
  const r = recorder<X509Context>();
  client(t, `unix://${socketPath}`).watchX509Context(r);
  await waitFor(() => r.updates.length === 1);
  await first.stop();
  await waitFor(() => r.retries().length >= 1, { what: 'the client to notice the agent is gone' });
  await rm(socketPath, { force: true });
  await started(t, { socketPath });
  await waitFor(() => r.updates.length === 2, { what: 'update from the restarted agent' });
  assert.notEqual(r.updates[1]!.bundles.get('example.org')!.authorities[0]!.fingerprint256, r.updates[0]!.bundles.get('example.org')!.authorities[0]!.fingerprint256);
});

test('a file nobody listens on is reported as such, naming the path', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'stale.sock');
  await writeFile(path, '');
  const r = recorder<X509Context>();
  client(t, path).watchX509Context(r);
  await waitFor(() => r.retries().length >= 1);
  assert.equal(r.retries()[0]!.error.message, `nothing accepts connections on ${path} (a socket file left by a stopped agent?)`);
});

test('a socket path as long as the OS allows works, in the unix:// and the bare form', async (t) => {
  const dir = await tempDir(t);
  const socketPath = join(dir, 's'.repeat(107 - dir.length - 1));
  assert.equal(Buffer.byteLength(socketPath), 107);
  await started(t, { socketPath });
  for (const address of [`unix://${socketPath}`, socketPath]) {
    const r = recorder<X509Context>();
    client(t, address).watchX509Context(r);
    await waitFor(() => r.updates.length === 1, { what: `an update over ${address}` });
  }
});

test('a tcp:// endpoint works', async (t) => {
  const server = await started(t, { tcp: true });
  assert.match(server.address, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  const c = client(t, server.address);
  assert.equal(c.address.kind, 'tcp');
  const r = recorder<X509Context>();
  c.watchX509Context(r);
  await waitFor(() => r.updates.length === 1);
  assert.equal((await c.fetchJwtSvid({ audience: 'db' })).length, 1);
});

test('the address comes from SPIFFE_ENDPOINT_SOCKET when none is configured; a bad one is refused up front', (t) => {
  const saved = process.env.SPIFFE_ENDPOINT_SOCKET;
  t.after(() => {
    if (saved === undefined) delete process.env.SPIFFE_ENDPOINT_SOCKET;
    else process.env.SPIFFE_ENDPOINT_SOCKET = saved;
  });
  process.env.SPIFFE_ENDPOINT_SOCKET = 'unix:///run/spire/agent.sock';
  const c = new WorkloadApiClient();
  c.close();
  assert.deepEqual(c.address, { kind: 'unix', path: '/run/spire/agent.sock' });
  assert.throws(() => new WorkloadApiClient({ address: 'tcp://localhost:1' }), /"tcp:\/\/localhost:1"/);
});

/** Runs a script in a child Node process; resolves with its exit code and output once it exits by itself. */
async function runChild(t: { after(fn: () => unknown): void }, dir: string, source: string): Promise<{ code: number | null; output: string }> {
  const script = join(dir, 'child.ts');
  await writeFile(script, source);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = once(child, 'exit');
  await waitFor(() => child.exitCode !== null || child.signalCode !== null, { what: 'the child to exit by itself', timeoutMs: 10_000 });
  const [code] = (await exit) as [number | null];
  return { code, output };
}

const CLIENT_MODULE = JSON.stringify(new URL('../../src/spiffe/workload/index.ts', import.meta.url).href);

test('close() from inside a handler ends every watch; the process then exits by itself', async (t) => {
  const server = await started(t);
  const dir = await tempDir(t);
  const { code, output } = await runChild(
    t,
    dir,
    `import { WorkloadApiClient } from ${CLIENT_MODULE};
const client = new WorkloadApiClient({ address: ${JSON.stringify(server.address)} });
const states = [];
const watch = client.watchX509Context({ onUpdate: () => client.close(), onStateChange: (s) => states.push(s.status) });
const bundles = client.watchJwtBundles({ onUpdate: () => {} });
await watch.done;
await bundles.done;
console.log(states.join(' '));
`,
  );
  assert.equal(code, 0);
  assert.equal(output.trim(), 'connecting connected closed');
});

test('close() while a retry is pending and a unary call is in flight leaves nothing keeping the process alive', async (t) => {
  const server = await started(t);
  server.failNext('FetchX509SVID', 14 /* Unavailable */, 'agent starting');
  server.stall('FetchJWTSVID');
  const dir = await tempDir(t);
  // Both the retry timer and the call's deadline are a minute away: only close() can end them in time.
  const { code, output } = await runChild(
    t,
    dir,
    `import { WorkloadApiClient } from ${CLIENT_MODULE};
const client = new WorkloadApiClient({ address: ${JSON.stringify(server.address)}, backoff: { initialMs: 60000, maxMs: 60000 } });
const fetched = client.fetchJwtSvid({ audience: 'db' }, { timeoutMs: 60000 }).catch((error) => console.log('fetch: ' + error.message));
await new Promise((resolve) => client.watchX509Context({ onUpdate: () => {}, onStateChange: (s) => s.status === 'retrying' && resolve() }));
client.close();
await fetched;
`,
  );
  assert.equal(server.callCount('FetchJWTSVID'), 1, 'the call reached the server');
  assert.equal(code, 0);
  assert.equal(output.trim(), 'fetch: the Workload API client was closed');
});
