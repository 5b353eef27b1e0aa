import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { HealthState, startHealthServer, type HealthBody } from '../../src/helper/health/index.ts';

const START = Date.parse('2026-01-01T00:00:00Z');

function clock(start = START) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function state(c = clock()) {
  return new HealthState(['x509', 'jwt_svid:a.jwt'], { expiryMarginMs: 30_000, agentLostThresholdMs: 60_000, now: c.now });
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
  assert.deepEqual(s.readiness().reasons, ['jwt_svid:a.jwt not written yet']);
  s.recordWrite('jwt_svid:a.jwt');
  assert.equal(s.readiness().ok, true);
  assert.equal(s.liveness().ok, true);
});

test('an output that failed before its first write says why', () => {
  const s = state();
  s.setAgentState('connected');
  s.recordWrite('x509');
  s.recordRejected('jwt_svid:a.jwt', 'PermissionDenied: no identity issued');
  assert.deepEqual(s.readiness().reasons, ['jwt_svid:a.jwt not written yet: PermissionDenied: no identity issued']);
});

test('a refused update after a good write is degraded at once and not ready once the last good credential nears expiry', () => {
  const c = clock();
  const s = healthy(c);
  s.setCredential('jwt_svid:a.jwt', { what: 'JWT-SVID for audience "a"', notAfter: new Date(c.now() + 300_000), issuedAt: new Date(c.now()) });
  s.recordRejected('jwt_svid:a.jwt', 'it expired at 2025-12-31T00:00:00.000Z');
  s.recordRejected('x509', 'key mismatch');
  const degraded = s.readiness();
  assert.equal(degraded.ok, true, 'the last good files are still valid');
  assert.equal(degraded.body.status, 'degraded');
  assert.deepEqual(degraded.body.warnings, [
    'x509: last update failed; the last good file stays: key mismatch',
    'jwt_svid:a.jwt: last update failed; the last good file stays: it expired at 2025-12-31T00:00:00.000Z',
  ]);
  s.recordWrite('jwt_svid:a.jwt');
  assert.equal(s.readiness().body.warnings.length, 2, 'writing the old material again does not clear a refusal');
  c.advance(300_000 - 29_000);
  assert.deepEqual(s.readiness().reasons, ['JWT-SVID for audience "a" expires in 29 s, within the 30 s margin; the last update failed: it expired at 2025-12-31T00:00:00.000Z']);
  s.recordAccepted('jwt_svid:a.jwt');
  s.setCredential('jwt_svid:a.jwt', { what: 'JWT-SVID for audience "a"', notAfter: new Date(c.now() + 300_000), issuedAt: new Date(c.now()) });
  s.recordAccepted('x509');
  assert.equal(s.readiness().body.status, 'ok');
});

test('the expiry margin is capped at 40 % of a credential\'s lifetime', () => {
  const c = clock();
  const s = healthy(c);
  s.setCredential('jwt_svid:a.jwt', { what: 'JWT-SVID', notAfter: new Date(c.now() + 20_000), issuedAt: new Date(c.now()) });
  assert.equal(s.readiness().ok, true, 'a fresh 20 s token is not within a 30 s margin');
  c.advance(12_500);
  assert.deepEqual(s.readiness().reasons, ['JWT-SVID expires in 8 s, within the 8 s margin']);
});

test('problems make it not ready until cleared; warnings only degrade', () => {
  const s = healthy(clock());
  s.setProblem('files', 'the files on disk are not the last set written: /c/a is missing');
  s.setWarning('federated', 'federated bundle file for x not written: too long');
  assert.deepEqual(s.readiness().reasons, ['the files on disk are not the last set written: /c/a is missing']);
  assert.deepEqual(s.readiness().body.warnings, ['federated bundle file for x not written: too long']);
  s.setProblem('files', undefined);
  assert.equal(s.readiness().ok, true);
  assert.equal(s.readiness().body.status, 'degraded');
  s.setWarning('federated', undefined);
  assert.equal(s.readiness().body.status, 'ok');
});

test('an SVID within the expiry margin, or expired, is not ready', () => {
  const c = clock();
  const s = healthy(c);
  c.advance(3_600_000 - 31_000);
  assert.equal(s.readiness().ok, true, 'just outside the margin');
  c.advance(11_000);
  assert.deepEqual(s.readiness().reasons, ['X.509-SVID expires in 20 s, within the 30 s margin']);
  assert.equal(s.readiness().body.x509_seconds_left, 20);
  c.advance(30_000);
  assert.deepEqual(s.readiness().reasons, ['X.509-SVID expired at 2026-01-01T01:00:00.000Z']);
  assert.equal(s.readiness().body.x509_seconds_left, -10);
  s.setX509({ spiffeId: 'spiffe://example.org/w', notAfter: new Date(c.now() + 3_600_000) });
  assert.equal(s.readiness().ok, true, 'a rotated SVID is ready again');
});

test('an agent outage turns readiness false only after the threshold, and never liveness', () => {
  const c = clock();
  const s = healthy(c);
  s.setAgentState('retrying', 'no identity issued');
  c.advance(59_000);
  assert.equal(s.readiness().ok, true);
  s.setAgentState('connecting');
  c.advance(2_000);
  assert.deepEqual(s.readiness().reasons, ['no agent connection for 61 s'], 'the outage counts from the first loss');
  assert.equal(s.liveness().ok, true);
  s.setAgentState('connected');
  assert.equal(s.readiness().ok, true);
  s.setAgentState('retrying', 'connection refused');
  c.advance(30_000);
  assert.equal(s.readiness().ok, true, 'a reconnect restarts the count');
});

test('failed and closed agent states count as lost', () => {
  for (const status of ['failed', 'closed'] as const) {
    const c = clock();
    const s = healthy(c);
    s.setAgentState(status, 'InvalidArgument');
    c.advance(60_001);
    assert.deepEqual(s.readiness().reasons, ['no agent connection for 60 s: InvalidArgument'], status);
  }
});

test('an agent that never connects makes the helper not ready after the threshold', () => {
  const c = clock();
  const s = state(c);
  c.advance(61_000);
  assert.ok(s.readiness().reasons.includes('no agent connection for 61 s'));
  assert.equal(s.liveness().ok, true);
});

test('only a fatal error makes the helper not live: an idle helper stays live however long nothing happens', () => {
  const c = clock();
  const s = healthy(c);
  c.advance(30 * 60_000);
  assert.equal(s.liveness().ok, true, 'half an hour without any event');
  s.recordFatal('InvalidArgument');
  assert.deepEqual(s.liveness().reasons, ['stopped: InvalidArgument']);
  assert.deepEqual(s.readiness().reasons, ['stopped: InvalidArgument']);
});

test('the body reports identity, expiry, agent, update time and each output', () => {
  const c = clock();
  const s = state(c);
  s.setAgentState('connected');
  c.advance(1_000);
  s.setX509({ spiffeId: 'spiffe://example.org/w', notAfter: new Date(START + 3_601_000) });
  s.recordWrite('x509');
  c.advance(1_000);
  s.recordRejected('jwt_svid:a.jwt', 'PermissionDenied');
  s.setAgentState('retrying', 'connection refused');
  const expected: HealthBody = {
    status: 'unavailable',
    reasons: ['jwt_svid:a.jwt not written yet: PermissionDenied'],
    warnings: [],
    spiffe_id: 'spiffe://example.org/w',
    x509_expires_at: '2026-01-01T01:00:01.000Z',
    x509_seconds_left: 3599,
    last_update: '2026-01-01T00:00:01.000Z',
    agent: { state: 'retrying', since: '2026-01-01T00:00:02.000Z', detail: 'connection refused' },
    outputs: {
      x509: { written_at: '2026-01-01T00:00:01.000Z', error: null },
      'jwt_svid:a.jwt': { written_at: null, error: 'PermissionDenied' },
    },
  };
  assert.deepEqual(s.readiness().body, expected);
  assert.deepEqual(s.liveness().body, { ...expected, status: 'ok', reasons: [] });
});

async function get(url: string, method = 'GET') {
  const response = await fetch(url, { method });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: method !== 'HEAD' && response.headers.get('content-type') === 'application/json' ? (JSON.parse(text) as HealthBody) : undefined };
}

test('the HTTP listener answers 200/503 with the JSON body', async (t) => {
  const s = state(clock(Date.now()));
  const server = await startHealthServer({ bindAddress: '127.0.0.1', port: 0, livenessPath: '/live', readinessPath: '/healthz/ready', state: s });
  t.after(() => server.close());
  assert.equal(server.address, '127.0.0.1');
  assert.notEqual(server.port, 0);
  const base = `http://127.0.0.1:${server.port}`;

  const notReady = await get(`${base}/healthz/ready`);
  assert.equal(notReady.status, 503);
  assert.equal(notReady.headers.get('content-type'), 'application/json');
  assert.equal(notReady.body?.status, 'unavailable');
  assert.deepEqual(notReady.body?.reasons, ['x509 not written yet', 'jwt_svid:a.jwt not written yet']);

  s.setAgentState('connected');
  s.setX509({ spiffeId: 'spiffe://example.org/w', notAfter: new Date(Date.now() + 3_600_000) });
  s.recordWrite('x509');
  s.recordWrite('jwt_svid:a.jwt');
  const ready = await get(`${base}/healthz/ready?verbose=1`);
  assert.equal(ready.status, 200);
  assert.equal(ready.body?.status, 'ok');
  assert.equal(ready.body?.spiffe_id, 'spiffe://example.org/w');
  assert.equal(ready.body?.agent.state, 'connected');
  assert.ok(ready.body.x509_seconds_left !== null && ready.body.x509_seconds_left > 3500);

  assert.equal((await get(`${base}/live`)).status, 200);
  s.recordFatal('InvalidArgument');
  const dead = await get(`${base}/live`);
  assert.equal(dead.status, 503);
  assert.deepEqual(dead.body?.reasons, ['stopped: InvalidArgument']);
});

test('HEAD has the status and no body; unknown paths 404; other methods 405', async (t) => {
  const s = healthy(clock(Date.now()));
  const server = await startHealthServer({ bindAddress: '127.0.0.1', port: 0, livenessPath: '/live', readinessPath: '/ready', state: s });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;
  const head = await get(`${base}/ready`, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-type'), 'application/json');
  assert.equal(head.text, '');
  assert.equal((await get(`${base}/`)).status, 404);
  assert.equal((await get(`${base}/ready/`)).status, 404);
  assert.equal((await get(`${base}/live`, 'POST')).status, 405);
  assert.equal((await get(`${base}/ready`, 'DELETE')).status, 405);
});

test('a malformed request target does not take the listener down', async (t) => {
  const s = healthy(clock(Date.now()));
  const server = await startHealthServer({ bindAddress: '127.0.0.1', port: 0, livenessPath: '/live', readinessPath: '/ready', state: s });
  t.after(() => server.close());
  const socket = connect(server.port, '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  let reply = '';
  socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
  socket.end('GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await once(socket, 'close');
  assert.match(reply, /^HTTP\/1\.1 404/);
  assert.equal((await get(`http://127.0.0.1:${server.port}/ready`)).status, 200, 'still answering');
});

test('a port in use is a clear error naming address and port', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  await assert.rejects(
    startHealthServer({ bindAddress: '127.0.0.1', port, livenessPath: '/live', readinessPath: '/ready', state: state() }),
    { message: `health listener cannot listen on 127.0.0.1:${port}: the port is in use` },
  );
});

test('an address this host does not have is a clear error', async (t) => {
  // 192.0.2.1 is TEST-NET-1 (RFC 5737): never a local address unless the kernel allows non-local binds.
  const attempt = startHealthServer({ bindAddress: '192.0.2.1', port: 0, livenessPath: '/live', readinessPath: '/ready', state: state() });
  const outcome = await attempt.then(
    (server) => server,
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  );
  if (!(outcome instanceof Error)) {
    await outcome.close();
    t.skip('this kernel binds non-local addresses');
    return;
  }
  assert.equal(outcome.message, 'health listener cannot listen on 192.0.2.1:0: no such local address');
});
