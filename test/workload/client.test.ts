import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { status as Status } from '@grpc/grpc-js';
import { WorkloadApiError, type X509Context } from '../../src/spiffe/workload/index.ts';
import { TestCa } from '../support/test-ca.ts';
import { waitFor } from '../support/wait.ts';
import { FAST, recorder, setup } from './recorder.ts';

const serial = (context: X509Context, index = 0): string => context.svids[index]!.certificates[0]!.serialNumber;

test('the first X.509 context arrives with the security header on the call, then a rotation', async (t) => {
  const { server, client } = await setup(t);
  const r = recorder<X509Context>();
  client.watchX509Context(r);
  await waitFor(() => r.updates.length === 1, { what: 'first X.509 context' });
  const first = r.updates[0]!;
  assert.equal(first.svids[0]!.id.toString(), 'spiffe://example.org/workload');
  assert.deepEqual([...first.bundles.keys()], ['example.org']);
  assert.equal(first.federatedTrustDomains.size, 0);
  assert.deepEqual(server.calls.map((call) => [call.method, call.header]), [['FetchX509SVID', 'true']]);
  assert.deepEqual(r.states.map((s) => s.status), ['connecting', 'connected']);
  await server.rotate();
  await waitFor(() => r.updates.length === 2, { what: 'rotation' });
  assert.notEqual(serial(r.updates[1]!), serial(r.updates[0]!));
  assert.equal(serial(r.updates[1]!), new X509Certificate(server.currentSvids[0]!.certificates[0]!).serialNumber, 'the newly issued SVID');
  assert.equal(server.callCount('FetchX509SVID'), 1, 'the rotation came on the same stream');
});

test('an SVID issued by an intermediate CA arrives with its chain and verifies to the root', async (t) => {
  const { client } = await setup(t, { intermediate: true });
  const r = recorder<X509Context>();
  client.watchX509Context(r);
  await waitFor(() => r.updates.length === 1);
  assert.equal(r.updates[0]!.svids[0]!.certificates.length, 2);
  assert.equal(r.errors.length, 0);
});

test('InvalidArgument (security header refused) is fatal: state failed, done rejects, no retry', async (t) => {
  const { server, client } = await setup(t);
  server.failNext('FetchX509SVID', Status.INVALID_ARGUMENT, 'security header missing from request');
  const r = recorder<X509Context>();
  const watch = client.watchX509Context(r);
  await assert.rejects(watch.done, (error: unknown) => {
    assert.ok(error instanceof WorkloadApiError);
    assert.equal(error.code, 'InvalidArgument');
    assert.ok(error.fatal);
    assert.equal(error.details, 'security header missing from request');
    assert.match(error.message, /rejected FetchX509SVID as invalid \(is the workload\.spiffe\.io security header stripped.*security header missing/);
    return true;
  });
  assert.deepEqual(r.states.map((s) => s.status), ['connecting', 'failed']);
  assert.equal(server.callCount('FetchX509SVID'), 1);
});

test('Unimplemented is fatal too', async (t) => {
  const { server, client } = await setup(t);
  server.failNext('FetchJWTBundles', Status.UNIMPLEMENTED, 'no such method');
  const r = recorder<ReadonlyMap<string, unknown>>();
  const watch = client.watchJwtBundles(r);
  await assert.rejects(watch.done, (error: unknown) => error instanceof WorkloadApiError && error.code === 'Unimplemented' && /does not implement FetchJWTBundles/.test(error.message));
  assert.equal(r.states.at(-1)?.status, 'failed');
  assert.equal(server.callCount('FetchJWTBundles'), 1);
});

test('several SVIDs keep their order and hints; a removed SVID and a removed federated bundle are redacted', async (t) => {
  const { server, client } = await setup(t, {
    svids: [{ spiffeId: 'spiffe://example.org/a', hint: 'internal' }, { spiffeId: 'spiffe://example.org/b', hint: 'external' }],
  });
  await server.addFederatedBundle('other.org');
  const r = recorder<X509Context>();
  client.watchX509Context(r);
  await waitFor(() => r.updates.length === 1);
  const first = r.updates[0]!;
  assert.deepEqual(first.svids.map((s) => [s.id.toString(), s.hint]), [['spiffe://example.org/a', 'internal'], ['spiffe://example.org/b', 'external']]);
  assert.deepEqual([...first.federatedTrustDomains], ['other.org']);
  assert.deepEqual([...first.bundles.keys()].sort(), ['example.org', 'other.org']);

  await server.setSvids([{ spiffeId: 'spiffe://example.org/b', hint: 'external' }]);
  await waitFor(() => r.updates.length === 2);
  assert.deepEqual(r.updates[1]!.svids.map((s) => s.id.toString()), ['spiffe://example.org/b']);
  assert.ok(r.updates[1]!.bundles.has('other.org'));

  server.removeFederatedBundle('other.org');
  await waitFor(() => r.updates.length === 3);
  const last = r.updates[2]!;
  assert.equal(last.federatedTrustDomains.size, 0);
  assert.deepEqual([...last.bundles.keys()], ['example.org']);
  assert.equal(r.errors.length, 0);
});

test('when a server repeats a hint, only the first SVID with it is kept', async (t) => {
  const { server, client } = await setup(t, {
    svids: [{ spiffeId: 'spiffe://example.org/a' }, { spiffeId: 'spiffe://example.org/b' }, { spiffeId: 'spiffe://example.org/c' }],
  });
  const r = recorder<X509Context>();
  client.watchX509Context(r);
  await waitFor(() => r.updates.length === 1);
  assert.equal(r.updates[0]!.svids.length, 3, 'SVIDs without a hint are all kept');
  const entry = (index: number, hint: string) => {
    const svid = server.currentSvids[index]!;
    return { spiffe_id: svid.spiffeId, x509_svid: svid.chainDer, x509_svid_key: svid.keyDer, bundle: server.ca.bundleDer(), hint };
  };
  server.pushRaw({ svids: [entry(0, 'x'), entry(1, 'x'), entry(2, 'y')] });
  await waitFor(() => r.updates.length === 2);
  assert.deepEqual(r.updates[1]!.svids.map((s) => [s.id.toString(), s.hint]), [['spiffe://example.org/a', 'x'], ['spiffe://example.org/c', 'y']]);
});

test('the backoff grows while the agent refuses, and resets after a good message', async (t) => {
  const { server, client } = await setup(t);
  server.setRefusal(Status.UNAVAILABLE, 'agent starting');
  const r = recorder<X509Context>();
  client.watchX509Context(r);
  await waitFor(() => r.retries().length >= 4, { what: 'four retries' });
  // Equal jitter: retry n waits between half and all of min(max, initial * 2^n).
  const [first, , , fourth] = r.retries();
  assert.ok(first!.retryInMs >= FAST.initialMs / 2 && first!.retryInMs <= FAST.initialMs, `first retry ${first!.retryInMs} ms`);
  assert.ok(fourth!.retryInMs >= 4 * FAST.initialMs && fourth!.retryInMs <= 8 * FAST.initialMs, `fourth retry ${fourth!.retryInMs} ms`);
  assert.equal(first!.error.code, 'Unavailable');

  server.setRefusal(undefined);
  await waitFor(() => r.updates.length === 1, { what: 'recovery' });
  assert.equal(r.states.at(-1)?.status, 'connected');
  const before = r.retries().length;
  server.dropStreams();
  await waitFor(() => r.updates.length === 2, { what: 'update after the dropped stream' });
  const afterDrop = r.retries().slice(before);
  assert.equal(afterDrop.length, 1);
  assert.ok(afterDrop[0]!.retryInMs <= FAST.initialMs, `retry after a good message waits ${afterDrop[0]!.retryInMs} ms`);
  assert.deepEqual(r.states.slice(-3).map((s) => s.status), ['retrying', 'connecting', 'connected']);
  assert.equal(server.openStreams('FetchX509SVID'), 1);
});

test('PermissionDenied is retried, with a message saying no registration entry matches, until an identity is issued', async (t) => {
  const { server, client } = await setup(t, { svids: [] });
  const r = recorder<X509Context>();
  const watch = client.watchX509Context(r);
  await waitFor(() => r.retries().length >= 2, { what: 'two retries' });
  const error = r.retries()[0]!.error;
  assert.equal(error.code, 'PermissionDenied');
  assert.equal(error.fatal, false);
  assert.match(error.message, /has no identity for this workload \(usually no registration entry matches it\): no identity issued/);
  assert.ok(r.errors.includes(error), 'the stream error is also reported through onError');
  await server.setSvids([{ spiffeId: 'spiffe://example.org/late' }]);
  await waitFor(() => r.updates.length === 1, { what: 'the identity once issued' });
  assert.equal(r.updates[0]!.svids[0]!.id.toString(), 'spiffe://example.org/late');
  watch.close();
  await watch.done;
  assert.equal(r.states.at(-1)?.status, 'closed');
});

test('an entry deleted under an open stream (PermissionDenied) is retried; the last good value stays with the caller', async (t) => {
  const { server, client } = await setup(t);
  const r = recorder<X509Context>();
  client.watchX509Context(r);
  await waitFor(() => r.updates.length === 1);
  await server.setSvids([]);
  await waitFor(() => r.retries().some((s) => s.error.code === 'PermissionDenied'));
  assert.equal(r.updates.length, 1);
  await server.setSvids([{ spiffeId: 'spiffe://example.org/workload' }]);
  await waitFor(() => r.updates.length === 2);
});

test('invalid messages are reported and discarded; the stream goes on', async (t) => {
  const { server, client } = await setup(t);
  const r = recorder<X509Context>();
  client.watchX509Context(r);
  await waitFor(() => r.updates.length === 1);
  const good = server.currentSvids[0]!;
  const entry = { spiffe_id: good.spiffeId, x509_svid: good.chainDer, x509_svid_key: good.keyDer, bundle: server.ca.bundleDer(), hint: '' };
  const forged = await (await TestCa.create('example.org')).issueSvid(good.spiffeId);
  const expired = await server.ca.issueSvid(good.spiffeId, { notBefore: new Date(Date.now() - 7_200_000), notAfter: new Date(Date.now() - 3_600_000) });
  const cases: [unknown, RegExp][] = [
    [{ svids: [], crl: [], federated_bundles: {} }, /mandatory field svids is empty/],
    [{ svids: [{ ...entry, spiffe_id: '' }] }, /svids\[0\]\.spiffe_id is empty/],
    [{ svids: [{ ...entry, x509_svid_key: Buffer.alloc(0) }] }, /svids\[0\]\.x509_svid_key is empty/],
    [{ svids: [{ ...entry, bundle: Buffer.alloc(0) }] }, /svids\[0\]\.bundle is empty/],
    [{ svids: [{ ...entry, spiffe_id: 'spiffe://example.org/other' }] }, /does not match the certificate/],
    [{ svids: [{ ...entry, x509_svid: forged.chainDer, x509_svid_key: forged.keyDer }] }, /svids\[0\]: .*does not verify to any authority of the example\.org bundle/],
    [{ svids: [{ ...entry, x509_svid: expired.chainDer, x509_svid_key: expired.keyDer }] }, /svids\[0\]: .*expired/],
    [{ svids: [entry], federated_bundles: { 'not a trust domain': server.ca.bundleDer() } }, /federated_bundles key "not a trust domain"/],
  ];
  for (const [message] of cases) server.pushRaw(message);
  await waitFor(() => r.errors.length === cases.length, { what: `${cases.length} errors` });
  cases.forEach(([, pattern], index) => assert.match(r.errors[index]!.message, pattern));
  assert.equal(r.updates.length, 1, 'nothing invalid reached onUpdate');
  assert.equal(r.states.at(-1)?.status, 'connected');
  await server.rotate();
  await waitFor(() => r.updates.length === 2);
  assert.equal(server.callCount('FetchX509SVID'), 1, 'no reconnect was needed');
});

test('X.509 bundles are watched, federated ones added and redacted', async (t) => {
  const { server, client } = await setup(t);
  const r = recorder<ReadonlyMap<string, unknown>>();
  client.watchX509Bundles(r);
  await waitFor(() => r.updates.length === 1);
  assert.deepEqual([...r.updates[0]!.keys()], ['example.org']);
  await server.addFederatedBundle('other.org');
  await waitFor(() => r.updates.length === 2);
  assert.deepEqual([...r.updates[1]!.keys()].sort(), ['example.org', 'other.org']);
  server.removeFederatedBundle('other.org');
  await waitFor(() => r.updates.length === 3);
  assert.deepEqual([...r.updates[2]!.keys()], ['example.org']);
  server.pushRaw({ crl: [], bundles: {} }, 'FetchX509Bundles');
  await waitFor(() => r.errors.length === 1);
  assert.match(r.errors[0]!.message, /mandatory field bundles is empty/);
});
