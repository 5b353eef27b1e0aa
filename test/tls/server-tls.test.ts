import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import { createSecureServer } from 'node:http2';
import { createServer as createHttpsServer, type RequestOptions } from 'node:https';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import {
  BundleSource,
  PeerRefusedError,
  X509Source,
  authorizeId,
  certificatesToPem,
  parseX509Svid,
  peerSpiffeId,
  privateKeyToPem,
  serverTls,
  tlsClientOptions,
  type Authorizer,
} from '../../src/spiffe/index.ts';
import { waitFor } from '../support/wait.ts';
import { CLIENT, INTRUDER, SERVER, get, h2Get, listen, workloads } from './support.ts';


type T = { after(fn: () => unknown): void };

/** The server certificate a new connection is shown. */
async function presentedSerial(t: T, port: number, client: X509Source): Promise<string> {
  const socket = tlsConnect({ ...tlsClientOptions(client, authorizeId(SERVER)), host: '127.0.0.1', port });
  t.after(() => socket.destroy());
  await once(socket, 'secureConnect');
  return socket.getPeerX509Certificate()!.serialNumber;
}

test('serverTls: an https server made elsewhere (as a framework makes it) serves the authorized client, answers others 403, and follows rotation', async (t) => {
  const { api, server, client, intruder } = await workloads(t);
  const tls = serverTls(server, authorizeId(CLIENT), { minVersion: 'TLSv1.3' });
  const reached: string[] = [];
  // The framework's own server, made from the options; the guard is attached afterwards.
  const https = createHttpsServer(tls.options, (request, response) => {
    reached.push(String(peerSpiffeId(request.socket)));
    response.end('served');
  });
  assert.equal(tls.guard(https), https);
  const refused: Error[] = [];
  https.on('tlsClientError', (error) => refused.push(error));
  const port = await listen(t, https);

  assert.deepEqual(await get(port, tlsClientOptions(client, authorizeId(SERVER))), { status: 200, body: 'served' });
  assert.deepEqual(await get(port, tlsClientOptions(intruder, authorizeId(SERVER))), { status: 403, body: `${INTRUDER} is not authorized\n` });
  assert.deepEqual(reached, [CLIENT]);
  await waitFor(() => refused.length === 1, { what: 'the refusal reported' });
  assert.ok(refused[0] instanceof PeerRefusedError && refused[0].reason === `expected ${CLIENT}`);

  const before = await presentedSerial(t, port, client);
  assert.equal(before, server.svid.certificates[0]!.serialNumber);
  await api.rotate();
  await waitFor(() => server.svid.certificates[0]!.serialNumber !== before, { what: 'the server SVID to rotate' });
  assert.equal(await presentedSerial(t, port, client), server.svid.certificates[0]!.serialNumber, 'a new connection gets the rotated SVID');
  assert.deepEqual(await get(port, tlsClientOptions(client, authorizeId(SERVER))), { status: 200, body: 'served' }, 'the rotated client is trusted');
});

test('serverTls: an HTTP/2 server made elsewhere serves h2 and HTTP/1.1 clients; a refused one is answered 403 in its protocol', async (t) => {
  const { server, client, intruder } = await workloads(t);
  const tls = serverTls(server, authorizeId(CLIENT));
  const reached: string[] = [];
  const h2 = tls.guard(
    createSecureServer({ ...tls.options, allowHTTP1: true }, (request, response) => {
      reached.push(`${request.httpVersion} ${peerSpiffeId(request.socket)}`);
      response.end('h2 server');
    }),
  );
  const refused: Error[] = [];
  // An http2 server destroys the socket of each 'tlsClientError': the guard reports once the peer has been answered.
  h2.on('tlsClientError', (error) => refused.push(error));
  const port = await listen(t, h2);
  const http1 = (source: X509Source) => get(port, { ...tlsClientOptions(source, authorizeId(SERVER)), ALPNProtocols: ['http/1.1'] } as RequestOptions);
  assert.deepEqual(await h2Get(t, port, tlsClientOptions(client, authorizeId(SERVER))), { status: 200, body: 'h2 server' });
  assert.deepEqual(await http1(client), { status: 200, body: 'h2 server' });
  assert.deepEqual(await h2Get(t, port, tlsClientOptions(intruder, authorizeId(SERVER))), { status: 403, body: `${INTRUDER} is not authorized\n` });
  assert.deepEqual(await http1(intruder), { status: 403, body: `${INTRUDER} is not authorized\n` });
  assert.deepEqual(reached, [`2.0 ${CLIENT}`, `1.1 ${CLIENT}`]);
  await waitFor(() => refused.length === 2, { what: 'both refusals reported' });
  assert.deepEqual(refused.map((error) => (error as PeerRefusedError).peerId?.toString()), [INTRUDER, INTRUDER]);
});

test('a client whose certificate expired is told so (403 naming the reason), not reset; on a plain TLS server it sees the connection close', async (t) => {
  const { api, server, client } = await workloads(t);
  const expired = await api.ca.issueSvid(CLIENT, { notBefore: new Date(Date.now() - 7_200_000), notAfter: new Date(Date.now() - 3_600_000) });
  const withExpired = {
    ...tlsClientOptions(client, authorizeId(SERVER)),
    cert: certificatesToPem(expired.certificates.map((der) => new X509Certificate(der))),
    key: privateKeyToPem(createPrivateKey({ key: expired.keyDer, format: 'der', type: 'pkcs8' })),
  };
  const tls = serverTls(server, authorizeId(CLIENT));
  const reached: string[] = [];
  const port = await listen(t, tls.guard(createHttpsServer(tls.options, (_request, response) => response.end(void reached.push('https')))));
  assert.deepEqual(await get(port, withExpired), { status: 403, body: 'the client certificate was refused: CERT_HAS_EXPIRED\n' });

  // A plain TLS protocol has no way to carry a reason: the connection ends, and no listener saw it.
  const plain = await listen(t, tls.guard(createTlsServer(tls.options, (socket) => socket.end(void reached.push('tls')))));
  const socket = tlsConnect({ ...withExpired, host: '127.0.0.1', port: plain });
  t.after(() => socket.destroy());
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => undefined);
  await once(socket, 'close');
  assert.deepEqual(received, []);
  assert.deepEqual(reached, []);
});

test('separate sources: a server with a fixed SVID and a BundleSource; a client with bundles only verifies the server and presents nothing', async (t) => {
  const { api, client } = await workloads(t);
  const bundles = await BundleSource.create({ endpoint: api.address, jwt: false });
  t.after(() => bundles.close());
  const issued = await api.ca.issueSvid(SERVER);
  const fixed = { svid: parseX509Svid(issued.chainDer, issued.keyDer) };
  const tls = serverTls(fixed, bundles, authorizeId(CLIENT));
  const port = await listen(t, tls.guard(createHttpsServer(tls.options, (request, response) => response.end(String(peerSpiffeId(request.socket))))));
  assert.deepEqual(await get(port, tlsClientOptions(client, bundles, authorizeId(SERVER))), { status: 200, body: CLIENT });

  // One-way TLS: a server that asks for no client certificate, verified by a client that has none.
  const oneWay = createHttpsServer({ cert: tls.options.cert, key: tls.options.key }, (request, response) => response.end(`anonymous: ${peerSpiffeId(request.socket) === undefined}`));
  const oneWayPort = await listen(t, oneWay);
  const anonymous = tlsClientOptions(bundles, authorizeId(SERVER));
  assert.equal('cert' in anonymous, false);
  assert.deepEqual(await get(oneWayPort, anonymous), { status: 200, body: 'anonymous: true' });
  await assert.rejects(get(oneWayPort, tlsClientOptions(bundles, (id) => `not ${id}`)), (error: unknown) => error instanceof PeerRefusedError && error.reason === `not ${SERVER}`);
  // Only `true` accepts: an authorizer written in JavaScript that returns nothing, or something truthy, refuses.
  for (const sloppy of [() => undefined, () => 1]) {
    await assert.rejects(get(oneWayPort, tlsClientOptions(bundles, sloppy as unknown as Authorizer)), (error: unknown) => error instanceof PeerRefusedError && error.message === `peer ${SERVER} is not authorized`);
  }
});
