import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status as Status } from '@grpc/grpc-js';
import { WorkloadApiError } from '../../src/spiffe/workload/index.ts';
import type { JwtBundleSet } from '../../src/spiffe/svid/index.ts';
import { waitFor } from '../support/wait.ts';
import { recorder, setup } from './recorder.ts';

test('FetchJWTSVID sends the audience then the extra audiences, and the optional SPIFFE ID, with the header', async (t) => {
  const { server, client } = await setup(t, {
    svids: [{ spiffeId: 'spiffe://example.org/a', hint: 'internal' }, { spiffeId: 'spiffe://example.org/b', hint: 'external' }],
    jwtTtlSeconds: 120,
  });
  const all = await client.fetchJwtSvid({ audience: 'db', extraAudiences: ['cache', 'queue'] });
  assert.deepEqual(server.calls.at(-1), { method: 'FetchJWTSVID', header: 'true', request: { audience: ['db', 'cache', 'queue'], spiffe_id: '' } });
  assert.deepEqual(all.map((s) => [s.id.toString(), s.hint]), [['spiffe://example.org/a', 'internal'], ['spiffe://example.org/b', 'external']]);
  assert.deepEqual(all[0]!.audience, ['db', 'cache', 'queue']);
  assert.equal((all[0]!.expiresAt.getTime() - all[0]!.issuedAt!.getTime()) / 1000, 120);

  const one = await client.fetchJwtSvid({ audience: 'db', spiffeId: 'spiffe://example.org/b' });
  assert.deepEqual(server.calls.at(-1)?.request, { audience: ['db'], spiffe_id: 'spiffe://example.org/b' });
  assert.deepEqual(one.map((s) => s.id.toString()), ['spiffe://example.org/b']);

  await assert.rejects(client.fetchJwtSvid({ audience: 'db', spiffeId: 'spiffe://example.org/zzz' }), (error: unknown) => {
    assert.ok(error instanceof WorkloadApiError);
    assert.equal(error.code, 'PermissionDenied');
    assert.match(error.message, /no identity for this workload/);
    return true;
  });
  await assert.rejects(client.fetchJwtSvid({ audience: 'db', spiffeId: 'not an id' }), /not an id/);
  await assert.rejects(client.fetchJwtSvid({ audience: '' }), /non-empty audience/);
});

test('FetchJWTSVID keeps the first of two tokens with the same hint', async (t) => {
  const { client } = await setup(t, { svids: [{ spiffeId: 'spiffe://example.org/a', hint: 'x' }, { spiffeId: 'spiffe://example.org/b', hint: 'x' }] });
  const svids = await client.fetchJwtSvid({ audience: 'db' });
  assert.deepEqual(svids.map((s) => s.id.toString()), ['spiffe://example.org/a']);
});

test('ValidateJWTSVID returns the SPIFFE ID and claims; a token for another audience is refused', async (t) => {
  const { server, client } = await setup(t);
  const [svid] = await client.fetchJwtSvid({ audience: 'db', extraAudiences: ['cache'] });
  const validated = await client.validateJwtSvid(svid!.token, 'cache');
  assert.deepEqual(server.calls.at(-1), { method: 'ValidateJWTSVID', header: 'true', request: { audience: 'cache', svid: svid!.token } });
  assert.equal(validated.id.toString(), 'spiffe://example.org/workload');
  assert.deepEqual(validated.claims.aud, ['db', 'cache']);
  assert.equal(validated.claims.sub, 'spiffe://example.org/workload');
  assert.equal(typeof validated.claims.exp, 'number');
  await assert.rejects(client.validateJwtSvid(svid!.token, 'nope'), (error: unknown) => {
    assert.ok(error instanceof WorkloadApiError);
    assert.equal(error.code, 'InvalidArgument');
    assert.match(error.message, /found the JWT-SVID invalid: .*"nope"/);
    return true;
  });
});

test('a unary call honours its deadline, its abort signal, and the client closing', async (t) => {
  const { server, client } = await setup(t);
  server.stall('FetchJWTSVID');
  await assert.rejects(client.fetchJwtSvid({ audience: 'db' }, { timeoutMs: 100 }), (error: unknown) => {
    assert.ok(error instanceof WorkloadApiError);
    assert.equal(error.code, 'DeadlineExceeded');
    assert.match(error.message, /FetchJWTSVID to unix:\/\/\/.* timed out/);
    return true;
  });

  const controller = new AbortController();
  const aborted = client.fetchJwtSvid({ audience: 'db' }, { signal: controller.signal });
  await waitFor(() => server.callCount('FetchJWTSVID') === 2, { what: 'the second call to reach the server' });
  const reason = new Error('the caller gave up');
  controller.abort(reason);
  await assert.rejects(aborted, (error: unknown) => error === reason);
  await assert.rejects(client.fetchJwtSvid({ audience: 'db' }, { signal: controller.signal }), (error: unknown) => error === reason);

  const stalled = client.fetchJwtSvid({ audience: 'db' });
  await waitFor(() => server.callCount('FetchJWTSVID') === 3);
  client.close();
  await assert.rejects(stalled, /the Workload API client was closed/);
  await assert.rejects(client.fetchJwtSvid({ audience: 'db' }), /closed/);
});

test('JWT bundles are watched: the JWKS is parsed, federated bundles added and redacted, an invalid message discarded', async (t) => {
  const { server, client } = await setup(t);
  const r = recorder<JwtBundleSet>();
  client.watchJwtBundles(r);
  await waitFor(() => r.updates.length === 1);
  const own = r.updates[0]!.get('example.org');
  assert.ok(own?.keys.has(server.ca.jwtKeyId), 'the JWT authority is keyed by its kid');
  const other = await server.addFederatedBundle('other.org');
  await waitFor(() => r.updates.length === 2);
  assert.ok(r.updates[1]!.get('other.org')?.keys.has(other.jwtKeyId));
  server.removeFederatedBundle('other.org');
  await waitFor(() => r.updates.length === 3);
  assert.deepEqual([...r.updates[2]!.keys()], ['example.org']);

  server.pushRaw({ bundles: { 'spiffe://example.org': Buffer.from('not json') } }, 'FetchJWTBundles');
  server.pushRaw({ bundles: {} }, 'FetchJWTBundles');
  await waitFor(() => r.errors.length === 2);
  assert.match(r.errors[0]!.message, /bundles spiffe:\/\/example\.org/);
  assert.match(r.errors[1]!.message, /mandatory field bundles is empty/);
  server.pushCurrent();
  await waitFor(() => r.updates.length === 4);
  assert.equal(server.callCount('FetchJWTBundles'), 1);
});

test('PermissionDenied on FetchJWTBundles is retried', async (t) => {
  const { server, client } = await setup(t);
  server.failNext('FetchJWTBundles', Status.PERMISSION_DENIED, 'no identity issued');
  const r = recorder<JwtBundleSet>();
  client.watchJwtBundles(r);
  await waitFor(() => r.updates.length === 1);
  assert.equal(r.retries()[0]?.error.code, 'PermissionDenied');
  assert.equal(server.callCount('FetchJWTBundles'), 2);
});
