import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TLSSocket } from 'node:tls';
import { PeerRefusedError, X509Source, authorizeId, createHttpsServer, httpsAgent, pickHint } from '../../src/spiffe/index.ts';
import { WorkloadApiTestServer } from '../support/workload-api-server.ts';
import { waitFor } from '../support/wait.ts';
import { get, listen } from './support.ts';

const SERVER = 'spiffe://example.org/server';
const CLIENT = 'spiffe://example.org/client';

const leafSerial = (source: X509Source): string => source.svid.certificates[0]!.serialNumber;

test('httpsAgent: each new connection presents the current SVID, through a rotation and after the first SVID expired', async (t) => {
  // The first SVIDs live a few seconds, so that the test can outlive them.
  const api = await WorkloadApiTestServer.start({ ttlSeconds: 4, svids: [{ spiffeId: SERVER, hint: 'server' }, { spiffeId: CLIENT, hint: 'client' }] });
  t.after(() => api.stop());
  const [server, client] = await Promise.all(['server', 'client'].map((hint) => X509Source.create({ endpoint: api.address, picker: pickHint(hint) })));
  t.after(() => Promise.all([server!.close(), client!.close()]));
  const presented: string[] = [];
  const service = createHttpsServer(server!, authorizeId(CLIENT), {}, (request, response) => {
    presented.push((request.socket as TLSSocket).getPeerX509Certificate()!.serialNumber);
    response.end('ok');
  });
  const port = await listen(t, service);
  // No keep-alive: every request is a new connection, as after an idle timeout.
  const agent = httpsAgent(client!, authorizeId(SERVER), { keepAlive: false });
  t.after(() => agent.destroy());

  const first = leafSerial(client!);
  const firstExpiry = client!.svid.notAfter.getTime();
  assert.deepEqual(await get(port, { agent }), { status: 200, body: 'ok' });
  assert.deepEqual(presented, [first]);

  await api.rotate({ ttlSeconds: 3600 });
  await waitFor(() => leafSerial(client!) !== first, { what: 'the client SVID to rotate' });
  assert.deepEqual(await get(port, { agent }), { status: 200, body: 'ok' });
  assert.equal(presented[1], leafSerial(client!), 'the same agent presents the rotated SVID on its next connection');

  await waitFor(() => Date.now() > firstExpiry + 1000, { what: 'the first SVID to expire', timeoutMs: 30_000, intervalMs: 250 });
  assert.deepEqual(await get(port, { agent }), { status: 200, body: 'ok' }, 'still served once the first SVID has expired');
  assert.equal(presented[2], leafSerial(client!));
});

test('httpsAgent: a server the authorizer refuses fails the request with PeerRefusedError, saying why', async (t) => {
  const api = await WorkloadApiTestServer.start({ svids: [{ spiffeId: SERVER, hint: 'server' }, { spiffeId: CLIENT, hint: 'client' }] });
  t.after(() => api.stop());
  const [server, client] = await Promise.all(['server', 'client'].map((hint) => X509Source.create({ endpoint: api.address, picker: pickHint(hint) })));
  t.after(() => Promise.all([server!.close(), client!.close()]));
  const port = await listen(t, createHttpsServer(server!, authorizeId(CLIENT), {}, (_request, response) => response.end('ok')));
  const agent = httpsAgent(client!, authorizeId('spiffe://example.org/other'));
  t.after(() => agent.destroy());
  await assert.rejects(get(port, { agent }), (error: unknown) => {
    assert.ok(error instanceof PeerRefusedError, String(error));
    assert.equal(error.message, `peer ${SERVER} is not authorized: expected spiffe://example.org/other`);
    return true;
  });
});
