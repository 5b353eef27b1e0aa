// An app's own test, written as an app developer writes it: against the package's entries
// (`spiffe-helper` and `spiffe-helper/dev`, resolved through package.json's exports to the built
// dist/, as an installed package is), with real certificates and a real rotation and no SPIRE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { startDevWorkloadApi, type DevWorkloadApi } from 'spiffe-helper/dev';
import { X509Source, authorizeId, createHttpsServer, pickHint, tlsClientOptions } from 'spiffe-helper';
import { waitFor } from '../support/wait.ts';

const WEB = 'spiffe://shop.test/web';
const ORDERS = 'spiffe://shop.test/orders';

/** The app's back end: answers only the web front end, and says which certificate the caller showed. */
function ordersService(source: X509Source): Server {
  return createHttpsServer(source, authorizeId(WEB), {}, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    res.end(JSON.stringify({ orders: 3, caller: peer.serialNumber }));
  });
}

/** The app's front end calling it: a new connection each time, presenting its current SVID. */
function callOrders(source: X509Source, port: number): Promise<{ orders: number; caller: string; server: string }> {
  return new Promise((resolve, reject) => {
    const options = { ...tlsClientOptions(source, authorizeId(ORDERS)), host: '127.0.0.1', port, agent: false };
    request(options, (res) => {
      const server = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve({ ...(JSON.parse(body) as { orders: number; caller: string }), server })
          : reject(new Error(`${res.statusCode} ${body}`)),
      );
    })
      .on('error', reject)
      .end();
  });
}

const serialOf = (source: X509Source): string => source.svid.certificates[0]!.serialNumber;

type T = { after(fn: () => unknown): void };

/** The development Workload API serving the orders service and a caller with this identity, and the service listening. */
async function startApp(t: T, caller: string): Promise<{ api: DevWorkloadApi; caller: X509Source; orders: X509Source; port: number }> {
  const api = await startDevWorkloadApi({ svids: [{ spiffeId: caller, hint: 'caller' }, { spiffeId: ORDERS, hint: 'orders' }] });
  t.after(() => api.close());
  const sources = await Promise.all(['caller', 'orders'].map((hint) => X509Source.create({ endpoint: api.endpoint, picker: pickHint(hint) })));
  t.after(() => Promise.all(sources.map((source) => source.close())));
  const [callerSource, orders] = sources as [X509Source, X509Source];
  const server = ordersService(orders).listen(0, '127.0.0.1');
  t.after(() => new Promise((resolve) => server.close(resolve)));
  await once(server, 'listening');
  return { api, caller: callerSource, orders, port: (server.address() as AddressInfo).port };
}

test('an app tests its own mTLS with spiffe-helper/dev: both parts follow a rotation', async (t) => {
  const { api, caller: web, orders, port } = await startApp(t, WEB);
  const before = await callOrders(web, port);
  assert.equal(before.orders, 3);
  assert.equal(before.caller, serialOf(web), 'the server saw the web part\'s SVID');
  assert.equal(before.server, serialOf(orders), 'the client saw the orders part\'s SVID');

  api.rotate();
  await waitFor(() => serialOf(web) !== before.caller && serialOf(orders) !== before.server, { what: 'both parts to get new SVIDs', timeoutMs: 30_000 });
  const after = await callOrders(web, port);
  assert.equal(after.caller, serialOf(web), 'the server saw the web part\'s new SVID');
  assert.equal(after.server, serialOf(orders), 'the client saw the orders part\'s new SVID');
  assert.notEqual(after.caller, before.caller);
  assert.notEqual(after.server, before.server);
});

test('an impostor with another identity of the same trust domain is refused by the app', async (t) => {
  const { caller: intruder, port } = await startApp(t, 'spiffe://shop.test/intruder');
  // The server answers a refused HTTP peer 403 with the reason about its own certificate.
  await assert.rejects(callOrders(intruder, port), /^Error: 403 .*intruder is not authorized/);
});
