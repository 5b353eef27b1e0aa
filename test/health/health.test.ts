import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { HealthState, startHealthServer } from '../../src/health/index.ts';

function clock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function state(c = clock()) {
  return new HealthState(['x509', 'jwt_svid:a.jwt'], { expiryMarginMs: 30_000, agentLostThresholdMs: 60_000, heartbeatTimeoutMs: 10_000, now: c.now });
}

function healthy(c: ReturnType<typeof clock>) {
  const s = state(c);
  s.setAgentState('connected');
  s.setX509({ spiffeId: 'spiffe://example.org/w', notAfter: new Date(c.now() + 3_600_000) });
  s.recordWrite('x509');
  s.recordWrite('jwt_svid:a.jwt');
  return s;
}

test('not ready until every output is written', () => {
  const c = clock();
  const s = state(c);
  s.setAgentState('connected');
  assert.deepEqual(s.readiness().reasons, ['x509 not written yet', 'jwt_svid:a.jwt not written yet']);
  s.recordWrite('x509');
  assert.equal(s.readiness().ok, false);
  s.recordWrite('jwt_svid:a.jwt');
  assert.equal(s.readiness().ok, true);
  assert.equal(s.liveness().ok, true);
});

test('a failed update of one output makes it not ready, with the error', () => {
  const c = clock();
  const s = healthy(c);
  s.recordWriteFailure('jwt_svid:a.jwt', 'PermissionDenied');
  assert.deepEqual(s.readiness().reasons, ['jwt_svid:a.jwt: last update failed: PermissionDenied']);
  s.recordWrite('jwt_svid:a.jwt');
  assert.equal(s.readiness().ok, true);
});

test('an SVID within the expiry margin, or expired, is not ready', () => {
  const c = clock();
  const s = healthy(c);
  c.advance(3_600_000 - 20_000);
  assert.match(s.readiness().reasons[0]!, /expires in 20 s, within the 30 s margin/);
  c.advance(30_000);
  assert.match(s.readiness().reasons[0]!, /X.509-SVID expired at/);
  assert.equal(s.liveness().ok, false, 'no heartbeat meanwhile');
});

test('an agent outage turns readiness false only after the threshold, and never liveness', () => {
  const c = clock();
  const s = healthy(c);
  s.setAgentState('retrying', 'no identity issued');
  c.advance(59_000);
  s.beat();
  assert.equal(s.readiness().ok, true);
  s.setAgentState('connecting');
  c.advance(2_000);
  s.beat();
  assert.deepEqual(s.readiness().reasons, ['no agent connection for 61 s']);
  assert.equal(s.liveness().ok, true);
  s.setAgentState('connected');
  assert.equal(s.readiness().ok, true);
});

test('a stale heartbeat or a fatal error makes the helper not live', () => {
  const c = clock();
  const s = healthy(c);
  c.advance(11_000);
  assert.match(s.liveness().reasons[0]!, /has not run for 11 s/);
  s.beat();
  assert.equal(s.liveness().ok, true);
  s.recordFatal('InvalidArgument');
  assert.deepEqual(s.liveness().reasons, ['stopped: InvalidArgument']);
  assert.equal(s.readiness().ok, false);
});

test('the HTTP listener answers 200/503 with a JSON body, 404 and 405', async (t) => {
  const c = clock(Date.now());
  const s = state(c);
  const server = await startHealthServer({ bindAddress: '127.0.0.1', port: 0, livenessPath: '/live', readinessPath: '/ready', state: s });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;
  let response = await fetch(`${base}/ready`);
  assert.equal(response.status, 503);
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(body.status, 'unavailable');
  assert.deepEqual(Object.keys(body.outputs as object), ['x509', 'jwt_svid:a.jwt']);
  s.setAgentState('connected');
  s.setX509({ spiffeId: 'spiffe://example.org/w', notAfter: new Date(Date.now() + 3_600_000) });
  s.recordWrite('x509');
  s.recordWrite('jwt_svid:a.jwt');
  response = await fetch(`${base}/ready`);
  assert.equal(response.status, 200);
  const ready = (await response.json()) as Record<string, unknown>;
  assert.equal(ready.spiffe_id, 'spiffe://example.org/w');
  assert.ok((ready.x509_seconds_left as number) > 3500);
  assert.equal((ready.agent as { state: string }).state, 'connected');
  assert.equal((await fetch(`${base}/live`)).status, 200);
  assert.equal((await fetch(`${base}/other`)).status, 404);
  assert.equal((await fetch(`${base}/live`, { method: 'POST' })).status, 405);
});

test('a port in use is a clear error naming address and port', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  await assert.rejects(
    startHealthServer({ bindAddress: '127.0.0.1', port, livenessPath: '/live', readinessPath: '/ready', state: state() }),
    new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`),
  );
});
