// The library against real SPIRE 1.15 servers and agents on loopback: workloads that serve and call
// each other over mTLS by SPIFFE ID while SPIRE rotates their SVIDs, refusals before any handler,
// federation between two real trust domains, and undici and grpc-js clients on the same options.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Agent, request as undiciRequest } from 'undici';
import {
  JwtSource,
  PeerRefusedError,
  WorkloadApiClient,
  X509Source,
  authorizeId,
  authorizeMemberOf,
  certificatesToPem,
  createHttpsServer,
  peerSpiffeId,
  pickHint,
  privateKeyToPem,
  tlsClientOptions,
  type Authorizer,
} from '../../src/spiffe/index.ts';
import { Spire, spireUnavailable } from '../support/spire.ts';
import { TestCa } from '../support/test-ca.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { get, grpcRoundTrip, listen } from '../tls/support.ts';

const FRONTEND = 'spiffe://example.org/frontend';
const BACKEND = 'spiffe://example.org/backend';
const INTRUDER = 'spiffe://example.org/intruder';
const PARTNER = 'spiffe://other.org/partner';
const skip = spireUnavailable();

type T = { after(fn: () => unknown): void };

async function source(t: T, endpoint: string, hint: string): Promise<X509Source> {
  const created = await X509Source.create({ endpoint, picker: pickHint(hint), timeoutMs: 90_000 });
  t.after(() => created.close());
  return created;
}

/** An HTTPS service on `source` for the peers `authorizer` accepts; it records who reached the handler, with which client certificate. */
async function service(t: T, source: X509Source, authorizer: Authorizer) {
  const reached: { id: string; serial: string }[] = [];
  const refused: Error[] = [];
  const server = createHttpsServer(source, authorizer, {}, (request, response) => {
    reached.push({ id: String(peerSpiffeId(request.socket)), serial: (request.socket as TLSSocket).getPeerX509Certificate()!.serialNumber });
    response.end(String(source.svid.id));
  });
  server.on('tlsClientError', (error) => refused.push(error));
  return { port: await listen(t, server), reached, refused };
}

/** The serial of the certificate a server presents to a client on `source`. */
async function servedSerial(t: T, port: number, client: X509Source, expected: string): Promise<string> {
  const socket = tlsConnect({ ...tlsClientOptions(client, authorizeId(expected)), host: '127.0.0.1', port });
  t.after(() => socket.destroy());
  await once(socket, 'secureConnect');
  const serial = socket.getPeerX509Certificate()!.serialNumber;
  socket.destroy();
  return serial;
}

const serialOf = (source: X509Source): string => source.svid.certificates[0]!.serialNumber;

describe('the library against real SPIRE', { skip }, () => {
  test('two workloads serve and call each other over mTLS while SPIRE rotates; refusals happen before any handler', async (t) => {
    const spire = await Spire.start(t);
    // One uid, three registration entries told apart by hint: three workloads' identities.
    for (const [spiffeId, hint] of [[FRONTEND, 'frontend'], [BACKEND, 'backend'], [INTRUDER, 'intruder']] as const) {
      await spire.createEntry({ spiffeId, hint, x509TtlSeconds: 30 });
    }
    const [frontend, backend, intruder] = await Promise.all(['frontend', 'backend', 'intruder'].map((hint) => source(t, spire.agentAddress, hint)));
    assert.deepEqual([frontend!.svid.id.toString(), backend!.svid.id.toString(), intruder!.svid.id.toString()], [FRONTEND, BACKEND, INTRUDER]);

    const backendService = await service(t, backend!, authorizeId(FRONTEND));
    const frontendService = await service(t, frontend!, authorizeId(BACKEND));
    assert.deepEqual(await get(backendService.port, tlsClientOptions(frontend!, authorizeId(BACKEND))), { status: 200, body: BACKEND });
    assert.deepEqual(await get(frontendService.port, tlsClientOptions(backend!, authorizeId(FRONTEND))), { status: 200, body: FRONTEND });
    assert.deepEqual(backendService.reached.map((r) => r.id), [FRONTEND]);
    assert.deepEqual(frontendService.reached.map((r) => r.id), [BACKEND]);

    // A third workload the backend does not authorize: refused before the handler.
    assert.deepEqual(await get(backendService.port, tlsClientOptions(intruder!, authorizeId(BACKEND))), { status: 403, body: `${INTRUDER} is not authorized\n` });
    await waitFor(() => backendService.refused.length === 1, { what: 'the refusal of the intruder' });
    assert.equal(backendService.refused[0]!.message, `peer ${INTRUDER} is not authorized: expected ${FRONTEND}`);
    assert.equal(backendService.reached.length, 1, 'the handler never saw the intruder');
    // A server that is not the one the client expects: refused by the client.
    await assert.rejects(get(frontendService.port, tlsClientOptions(backend!, authorizeId(INTRUDER))), (error: unknown) => error instanceof PeerRefusedError && error.message === `peer ${FRONTEND} is not authorized: expected ${INTRUDER}`);
    assert.equal(frontendService.reached.length, 1);

    // SPIRE rotates both SVIDs (TTL 30 s: about every 20 s); the same servers, new connections.
    const before = { backend: serialOf(backend!), frontend: serialOf(frontend!) };
    assert.equal(await servedSerial(t, backendService.port, frontend!, BACKEND), before.backend);
    assert.equal(backendService.reached[0]!.serial, before.frontend);
    await waitFor(() => serialOf(backend!) !== before.backend && serialOf(frontend!) !== before.frontend, { what: 'SPIRE to rotate both SVIDs', timeoutMs: 90_000, intervalMs: 250 });
    assert.equal(await servedSerial(t, backendService.port, frontend!, BACKEND), serialOf(backend!), 'the backend presents its rotated SVID without a restart');
    assert.deepEqual(await get(backendService.port, tlsClientOptions(frontend!, authorizeId(BACKEND))), { status: 200, body: BACKEND });
    assert.equal(backendService.reached.at(-1)!.serial, serialOf(frontend!), 'the frontend presents its rotated SVID');
    assert.notEqual(serialOf(frontend!), before.frontend);

    // undici and grpc-js with the same options.
    const agent = new Agent({ connect: tlsClientOptions(frontend!, authorizeId(BACKEND)) });
    t.after(() => agent.close());
    const response = await undiciRequest(`https://127.0.0.1:${backendService.port}/`, { dispatcher: agent });
    assert.equal(await response.body.text(), BACKEND);
    const wrong = new Agent({ connect: tlsClientOptions(frontend!, authorizeId(INTRUDER)) });
    t.after(() => wrong.close());
    await assert.rejects(undiciRequest(`https://127.0.0.1:${backendService.port}/`, { dispatcher: wrong }), /peer spiffe:\/\/example\.org\/backend is not authorized/);
    await grpcRoundTrip(t, backend!, frontend!, INTRUDER);
  });

  test('JwtSource: a real JWT-SVID from the cache, validated locally against the real JWT bundle as the agent validates it', async (t) => {
    const spire = await Spire.start(t);
    await spire.createEntry({ spiffeId: FRONTEND, jwtTtlSeconds: 60 });
    await spire.waitForSvid(FRONTEND);
    const jwt = await JwtSource.create({ endpoint: spire.agentAddress });
    t.after(() => jwt.close());
    const svid = await jwt.fetchJwtSvid({ audience: 'orders' });
    assert.equal(svid.id.toString(), FRONTEND);
    assert.equal((await jwt.fetchJwtSvid({ audience: 'orders' })).token, svid.token, 'served from the cache');
    const local = await jwt.validateJwtSvid(svid.token, 'orders');
    const client = new WorkloadApiClient({ address: spire.agentAddress });
    t.after(() => client.close());
    const byAgent = await client.validateJwtSvid(svid.token, 'orders');
    assert.equal(local.id.toString(), byAgent.id.toString());
    assert.deepEqual(local.claims, byAgent.claims);
    await assert.rejects(jwt.validateJwtSvid(svid.token, 'payments'), /audience "payments" is not in its "aud" claim/);
    const [header, payload] = svid.token.split('.');
    await assert.rejects(jwt.validateJwtSvid(`${header}.${payload}.${'A'.repeat(86)}`, 'orders'), /the signature does not verify/);
  });

  test('federation: a peer of another real trust domain verifies against its own bundle only', async (t) => {
    const [home, away] = await Promise.all([Spire.start(t), Spire.start(t, { trustDomain: 'other.org' })]);
    const dir = await tempDir(t);
    await writeFile(join(dir, 'example.org.pem'), await home.bundlePem());
    await writeFile(join(dir, 'other.org.pem'), await away.bundlePem());
    await home.setFederatedBundle('other.org', join(dir, 'other.org.pem'));
    await away.setFederatedBundle('example.org', join(dir, 'example.org.pem'));
    await home.createEntry({ spiffeId: BACKEND, hint: 'backend', federatesWith: ['other.org'] });
    await away.createEntry({ spiffeId: PARTNER, hint: 'partner', federatesWith: ['example.org'] });
    const backend = await source(t, home.agentAddress, 'backend');
    const partner = await source(t, away.agentAddress, 'partner');
    await waitFor(() => backend.bundleFor('other.org') !== undefined && partner.bundleFor('example.org') !== undefined, { what: 'the federated bundles', timeoutMs: 60_000 });

    const backendService = await service(t, backend, authorizeMemberOf('other.org'));
    assert.deepEqual(await get(backendService.port, tlsClientOptions(partner, authorizeId(BACKEND))), { status: 200, body: BACKEND });
    assert.deepEqual(backendService.reached.map((r) => r.id), [PARTNER]);

    // other.org's authority cannot vouch for an example.org ID: a certificate it signed for one is refused.
    const otherCa = await TestCa.create('other.org');
    await writeFile(join(dir, 'impostor.pem'), otherCa.bundlePem());
    await home.setFederatedBundle('other.org', join(dir, 'impostor.pem'));
    await waitFor(() => backend.bundleFor('other.org')!.authorities.some((a) => a.raw.equals(otherCa.bundleDer())), { what: "the replaced other.org bundle", timeoutMs: 60_000 });
    const forged = await otherCa.issueSvid(FRONTEND);
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: backendService.port,
      cert: certificatesToPem([new X509Certificate(forged.certificates[0]!)]),
      key: privateKeyToPem(createPrivateKey({ key: forged.keyDer, format: 'der', type: 'pkcs8' })),
      ca: tlsClientOptions(backend, authorizeId(BACKEND)).ca,
      checkServerIdentity: () => undefined,
    });
    t.after(() => socket.destroy());
    socket.on('error', () => undefined);
    await waitFor(() => backendService.refused.length === 1, { what: 'the forged example.org peer refused', timeoutMs: 60_000 });
    assert.match(backendService.refused[0]!.message, /spiffe:\/\/example\.org\/frontend: the chain does not verify to any authority of the example\.org bundle/);
    assert.equal(backendService.reached.length, 1);
  });
});
