import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Agent, buildConnector, request as undiciRequest } from 'undici';
import {
  PeerRefusedError,
  SpiffeId,
  X509Source,
  authorizeAny,
  authorizeId,
  authorizeIdPrefix,
  authorizeMemberOf,
  authorizeOneOf,
  certificatesToPem,
  createHttp2SecureServer,
  createHttpsServer,
  createTlsServer,
  grpcCredentials,
  peerSpiffeId,
  pickHint,
  privateKeyToPem,
  tlsClientOptions,
  verifyX509Svid,
  X509SvidError,
} from '../../src/spiffe/index.ts';
import { WorkloadApiTestServer } from '../support/workload-api-server.ts';
import { waitFor } from '../support/wait.ts';
import { CLIENT, INTRUDER, SERVER, get, grpcRoundTrip, h2Get, listen, workloads } from './support.ts';
import { Server as GrpcServer, ServerCredentials, status as Status, type ServerUnaryCall, type ServiceError, type sendUnaryData } from '@grpc/grpc-js';
import { SpiffeWorkloadApi, workloadApiService } from '../../src/spiffe/workload/proto.ts';


type T = { after(fn: () => unknown): void };

/** An HTTPS server on the server source that only CLIENT may call; it records who reached the handler. */
async function httpsService(t: T, source: X509Source) {
  const reached: string[] = [];
  const clientSerials: string[] = [];
  const refused: Error[] = [];
  const server = createHttpsServer(source, authorizeId(CLIENT), {}, (request, response) => {
    reached.push(String(peerSpiffeId(request.socket)));
    clientSerials.push(leafSerial(request.socket as TLSSocket));
    response.end(`hello ${peerSpiffeId(request.socket)}`);
  });
  server.on('tlsClientError', (error) => refused.push(error));
  return { port: await listen(t, server), reached, clientSerials, refused, server };
}

const leafSerial = (socket: TLSSocket): string => socket.getPeerX509Certificate()!.serialNumber;

test('authorizers accept with true and say why they refuse', () => {
  const id = SpiffeId.parse(CLIENT);
  assert.equal(authorizeId(CLIENT)(id, []), true);
  assert.equal(authorizeId(SERVER)(id, []), `expected ${SERVER}`);
  assert.equal(authorizeOneOf(SERVER, SpiffeId.parse(CLIENT))(id, []), true);
  assert.equal(authorizeOneOf(SERVER, INTRUDER)(id, []), `expected one of ${SERVER}, ${INTRUDER}`);
  assert.equal(authorizeMemberOf('example.org')(id, []), true);
  assert.equal(authorizeMemberOf('spiffe://other.org')(id, []), 'expected a member of other.org');
  assert.equal(authorizeAny()(id, []), true);
  const agents = authorizeIdPrefix('spiffe://example.org/spire/agent');
  assert.equal(agents(SpiffeId.parse('spiffe://example.org/spire/agent/node-a'), []), true);
  assert.equal(agents(SpiffeId.parse('spiffe://example.org/spire/agentish'), []), 'expected spiffe://example.org/spire/agent or an ID below it');
  assert.deepEqual(agents.trustDomains?.map(String), ['example.org'], 'a server trusts only that trust domain');
  assert.throws(() => authorizeIdPrefix('spiffe://example.org/spire/'), /trailing "\/"/);
  assert.throws(() => authorizeId('spiffe://example.org/a/../b'), /"\.\." segment/);
  assert.throws(() => authorizeOneOf(), /at least one SPIFFE ID/);
});

test('HTTPS: the authorized client is served and both sides learn the peer SPIFFE ID; no host name is checked', async (t) => {
  const { server, client } = await workloads(t);
  const service = await httpsService(t, server);
  const response = await get(service.port, tlsClientOptions(client, authorizeId(SERVER)));
  assert.deepEqual(response, { status: 200, body: `hello ${CLIENT}` });
  assert.deepEqual(service.reached, [CLIENT]);
  const socket = tlsConnect({ ...tlsClientOptions(client, authorizeId(SERVER)), host: '127.0.0.1', port: service.port, servername: 'not-the-server.example' });
  t.after(() => socket.destroy());
  await once(socket, 'secureConnect');
  assert.equal(peerSpiffeId(socket)?.toString(), SERVER);
});

test('HTTPS: a peer the server does not authorize never reaches the handler; it is answered 403', async (t) => {
  const { server, intruder } = await workloads(t);
  const service = await httpsService(t, server);
  assert.deepEqual(await get(service.port, tlsClientOptions(intruder, authorizeId(SERVER))), { status: 403, body: `${INTRUDER} is not authorized\n` });
  await waitFor(() => service.refused.length === 1, { what: 'the refusal reported' });
  assert.ok(service.refused[0] instanceof PeerRefusedError);
  assert.equal(service.refused[0].message, `peer ${INTRUDER} is not authorized: expected ${CLIENT}`);
  assert.equal(service.refused[0].reason, `expected ${CLIENT}`, "the authorizer's reason, kept for the server's log");
  assert.deepEqual(service.reached, [], 'the handler never ran');
  // A client with no certificate at all is refused too, and told so.
  const anonymous = await get(service.port, { ca: tlsClientOptions(intruder, authorizeAny()).ca, checkServerIdentity: () => undefined });
  assert.equal(anonymous.status, 403);
  assert.match(anonymous.body, /^the client certificate was refused: /);
  assert.deepEqual(service.reached, []);
});

test('a server whose SPIFFE ID the client does not expect is refused before any request is sent', async (t) => {
  const { server, client } = await workloads(t);
  const service = await httpsService(t, server);
  await assert.rejects(get(service.port, tlsClientOptions(client, authorizeId(INTRUDER))), (error: unknown) => {
    assert.ok(error instanceof PeerRefusedError, String(error));
    assert.equal(error.message, `peer ${SERVER} is not authorized: expected ${INTRUDER}`);
    assert.equal(error.peerId?.toString(), SERVER);
    return true;
  });
  assert.deepEqual(service.reached, []);
});

test('rotation: new connections, also without SNI, get the new SVID from the same server; the client presents its new SVID', async (t) => {
  const { api, server, client } = await workloads(t);
  const seenClients: string[] = [];
  const tlsServer = createTlsServer(server, authorizeId(CLIENT), {}, (socket) => {
    seenClients.push(leafSerial(socket));
    socket.end('ok');
  });
  const port = await listen(t, tlsServer);
  const connectOnce = async (): Promise<string> => {
    // An IP address: Node sends no SNI for it.
    const socket = tlsConnect({ ...tlsClientOptions(client, authorizeId(SERVER)), host: '127.0.0.1', port });
    t.after(() => socket.destroy());
    await once(socket, 'secureConnect');
    // With TLS 1.3 the client is connected before the server has checked its certificate: the
    // listener's answer shows that the server accepted it.
    assert.equal((await once(socket, 'data'))[0].toString(), 'ok');
    return leafSerial(socket);
  };
  const before = await connectOnce();
  assert.equal(before, server.svid.certificates[0]!.serialNumber);
  await api.rotate();
  await waitFor(() => server.svid.certificates[0]!.serialNumber !== before && client.svid.certificates[0]!.serialNumber !== seenClients[0], { what: 'both sources rotated' });
  const after = await connectOnce();
  assert.notEqual(after, before);
  assert.equal(after, server.svid.certificates[0]!.serialNumber, 'the rotated server SVID');
  await waitFor(() => seenClients.length === 2, { what: 'the second connection at the listener' });
  assert.equal(seenClients[1], client.svid.certificates[0]!.serialNumber, 'the rotated client SVID');
});

test('a federated peer verifies only against its own trust domain bundle: another domain cannot vouch for ours', async (t) => {
  const { api, server } = await workloads(t);
  const other = await api.addFederatedBundle('other.org');
  await waitFor(() => server.bundleFor('other.org') !== undefined, { what: 'the federated bundle' });
  const reached: string[] = [];
  const refused: Error[] = [];
  const tlsServer = createTlsServer(server, authorizeAny(), {}, (socket) => {
    reached.push(String(peerSpiffeId(socket)));
    socket.end();
  });
  tlsServer.on('tlsClientError', (error) => refused.push(error));
  const port = await listen(t, tlsServer);
  const present = async (spiffeId: string): Promise<void> => {
    const issued = await other.issueSvid(spiffeId);
    const leaf = new X509Certificate(issued.certificates[0]!);
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      cert: certificatesToPem([leaf]),
      key: privateKeyToPem(createPrivateKey({ key: issued.keyDer, format: 'der', type: 'pkcs8' })),
      ca: tlsClientOptions(server, authorizeAny()).ca,
      checkServerIdentity: () => undefined,
    });
    t.after(() => socket.destroy());
    await Promise.race([once(socket, 'close'), once(socket, 'end')]).catch(() => undefined);
  };
  await present('spiffe://other.org/friend');
  await waitFor(() => reached.length === 1, { what: 'the other.org peer accepted' });
  assert.deepEqual(reached, ['spiffe://other.org/friend']);
  await present('spiffe://example.org/client');
  await waitFor(() => refused.length === 1, { what: 'the forged example.org peer refused' });
  assert.match(refused[0]!.message, /not a valid SVID: X\.509-SVID spiffe:\/\/example\.org\/client: the chain does not verify to any authority of the example\.org bundle/);
  assert.equal(reached.length, 1);

  // verifyX509Svid says the same about the bare chains.
  const friend = await other.issueSvid('spiffe://other.org/friend');
  assert.equal(verifyX509Svid(friend.chainDer, server).toString(), 'spiffe://other.org/friend');
  const forged = await other.issueSvid('spiffe://example.org/client');
  assert.throws(() => verifyX509Svid(forged.chainDer, server), (error: unknown) => error instanceof X509SvidError && /example\.org bundle/.test(error.message));
  const unknown = await api.ca.issueSvid('spiffe://third.org/x');
  assert.throws(() => verifyX509Svid(unknown.chainDer, server), /no X\.509 bundle for its trust domain third\.org/);
});

test('SVIDs issued through an intermediate CA: servers that authorize by ID or trust domain accept them; authorizeAny cannot', async (t) => {
  const api = await WorkloadApiTestServer.start({ intermediate: true, svids: [{ spiffeId: SERVER, hint: 'server' }, { spiffeId: CLIENT, hint: 'client' }] });
  t.after(() => api.stop());
  const [server, client] = await Promise.all(['server', 'client'].map((hint) => X509Source.create({ endpoint: api.address, picker: pickHint(hint) })));
  t.after(() => Promise.all([server!.close(), client!.close()]));
  assert.equal(client!.svid.certificates.length, 2, 'leaf and intermediate');
  const reached: string[] = [];
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    reached.push(String(peerSpiffeId(request.socket)));
    response.end('ok');
  };
  // Node shows a server only the client's leaf: trusting just example.org's authorities, OpenSSL's check of the whole chain is the proof.
  for (const authorizer of [authorizeId(CLIENT), authorizeOneOf(CLIENT), authorizeMemberOf('example.org')]) {
    const port = await listen(t, createHttpsServer(server!, authorizer, {}, handler));
    assert.deepEqual(await get(port, tlsClientOptions(client!, authorizeId(SERVER))), { status: 200, body: 'ok' }, 'the client verifies the server through its intermediate too');
  }
  assert.deepEqual(reached, [CLIENT, CLIENT, CLIENT]);
  const refused: Error[] = [];
  const any = createHttpsServer(server!, authorizeAny(), {}, handler);
  any.on('tlsClientError', (error) => refused.push(error));
  assert.equal((await get(await listen(t, any), tlsClientOptions(client!, authorizeId(SERVER)))).status, 403);
  await waitFor(() => refused.length === 1, { what: 'the refusal' });
  assert.match(refused[0]!.message, /does not verify to any authority of the example\.org bundle \(if it chains through intermediate certificates: .*authorize by ID or trust domain/);
  assert.equal(reached.length, 3);
});

test('HTTP/2: an authorized client is served; a refused one never reaches the handler and is answered 403', async (t) => {
  const { server, client, intruder } = await workloads(t);
  const reached: string[] = [];
  const h2 = createHttp2SecureServer(server, authorizeId(CLIENT), {}, (request, response) => {
    reached.push(String(peerSpiffeId(request.socket)));
    response.end('h2 ok');
  });
  const port = await listen(t, h2);
  const fetchH2 = (source: X509Source) => h2Get(t, port, tlsClientOptions(source, authorizeId(SERVER)));
  assert.deepEqual(await fetchH2(client), { status: 200, body: 'h2 ok' });
  assert.deepEqual(await fetchH2(intruder), { status: 403, body: `${INTRUDER} is not authorized\n` }, 'the refused client is answered, not its handler');
  assert.deepEqual(reached, [CLIENT]);
});

test('undici: an Agent with the client options as its connect options; with buildConnector per connection it presents each rotated SVID', async (t) => {
  const { api, server, client } = await workloads(t);
  const service = await httpsService(t, server);
  const agent = new Agent({ connect: tlsClientOptions(client, authorizeId(SERVER)) });
  t.after(() => agent.close());
  const response = await undiciRequest(`https://127.0.0.1:${service.port}/`, { dispatcher: agent });
  assert.equal(response.statusCode, 200);
  assert.equal(await response.body.text(), `hello ${CLIENT}`);
  const wrong = new Agent({ connect: tlsClientOptions(client, authorizeId(INTRUDER)) });
  t.after(() => wrong.close());
  await assert.rejects(undiciRequest(`https://127.0.0.1:${service.port}/`, { dispatcher: wrong }), /peer spiffe:\/\/example\.org\/server is not authorized/);

  // As docs/library.md shows it: the options read afresh for every new connection.
  const rotating = new Agent({ connect: (options, callback) => buildConnector(tlsClientOptions(client, authorizeId(SERVER)))(options, callback), pipelining: 0 });
  t.after(() => rotating.close());
  const presented = async (): Promise<string> => {
    const answer = await undiciRequest(`https://127.0.0.1:${service.port}/`, { dispatcher: rotating, reset: true });
    await answer.body.text();
    return service.clientSerials.at(-1)!;
  };
  assert.equal(await presented(), client.svid.certificates[0]!.serialNumber);
  const before = client.svid.certificates[0]!.serialNumber;
  await api.rotate();
  await waitFor(() => client.svid.certificates[0]!.serialNumber !== before, { what: 'the client SVID to rotate' });
  assert.equal(await presented(), client.svid.certificates[0]!.serialNumber, 'the rotated client SVID');
});

test('grpc-js: channel credentials from the client options', async (t) => {
  const { server, client } = await workloads(t);
  await grpcRoundTrip(t, server, client, INTRUDER);
});

test('grpcCredentials: a grpc-js channel presents the current SVID on each new connection, also after a rotation', async (t) => {
  const { api, server, client } = await workloads(t);
  const seen: string[] = [];
  const grpcServer = new GrpcServer();
  grpcServer.addService(workloadApiService, {
    FetchJWTSVID: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      seen.push(call.getAuthContext().sslPeerCertificate!.serialNumber);
      callback(null, { svids: [] });
    },
  });
  const material = tlsClientOptions(server, authorizeAny());
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', ServerCredentials.createSsl(Buffer.from(material.ca.join('')), [{ cert_chain: Buffer.from(material.cert), private_key: Buffer.from(material.key) }], true), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  t.after(() => grpcServer.forceShutdown());
  const credentials = grpcCredentials(client, authorizeId(SERVER));
  const call = (channelCredentials = credentials) => {
    // Its own connections, as a new process or a reconnect would have.
    const stub = new SpiffeWorkloadApi(`127.0.0.1:${port}`, channelCredentials, { 'grpc.use_local_subchannel_pool': 1 }) as unknown as {
      FetchJWTSVID: (r: unknown, cb: (e: ServiceError | null, v: unknown) => void) => void;
      close(): void;
    };
    t.after(() => stub.close());
    return new Promise<unknown>((resolve, reject) => stub.FetchJWTSVID({ audience: ['x'] }, (error, value) => (error ? reject(error) : resolve(value))));
  };
  await call();
  const before = client.svid.certificates[0]!.serialNumber;
  assert.deepEqual(seen, [before]);
  await api.rotate();
  await waitFor(() => client.svid.certificates[0]!.serialNumber !== before, { what: 'the client SVID to rotate' });
  await call();
  assert.equal(seen[1], client.svid.certificates[0]!.serialNumber, 'the same credentials present the rotated SVID');
  await assert.rejects(call(grpcCredentials(client, authorizeId(INTRUDER))), (error: ServiceError) => error.code === Status.UNAVAILABLE && error.details.includes(`peer ${SERVER} is not authorized`));
});
