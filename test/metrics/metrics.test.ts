import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthState, startHealthServer } from '../../src/helper/health/index.ts';
import { HelperMetrics, metricsExposition } from '../../src/helper/metrics/index.ts';
import { tempDir } from '../support/tmp.ts';
import { noPrometheus, promtoolCheck, sample } from './support.ts';

async function serve(t: { after(fn: () => unknown): void }, metrics: HelperMetrics) {
  const server = await startHealthServer({
    bindAddress: '127.0.0.1',
    port: 0,
    livenessPath: '/live',
    readinessPath: '/ready',
    state: new HealthState(['x509'], { expiryMarginMs: 30_000, agentLostThresholdMs: 60_000 }),
    metrics: await metricsExposition(metrics, { version: '9.9.9' }),
  });
  t.after(() => server.close());
  return `http://127.0.0.1:${server.port}`;
}

function recorded(): HelperMetrics {
  const m = new HelperMetrics();
  m.connection('connecting');
  m.connection('connected');
  m.updateReceived('x509_context');
  m.updateReceived('x509_context');
  m.updateReceived('jwt_svid');
  m.updateSkipped('x509_context', 'invalid_message');
  m.filesWritten(new Date('2026-11-25T12:00:00Z'), new Map([['x509', new Date(Date.now() + 3_600_000)], ['jwt_svid:db.jwt', new Date(Date.now() - 5_000)]]));
  m.writeFailed();
  m.connection('retrying');
  m.connection('retrying');
  m.connection('connected');
  m.connection('retrying');
  m.notification('signal', 'ok');
  m.notification('command', 'failed');
  m.programStarted();
  m.programStarted();
  m.programExited(143);
  m.configReload(true);
  m.configReload(false);
  m.configReload(false);
  return m;
}

test('/metrics answers every recorded event in the Prometheus text format', async (t) => {
  const base = await serve(t, recorded());
  const response = await fetch(`${base}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const left = sample(text, 'spiffe_helper_svid_expires_in_seconds', 'output="x509"')!;
  assert.ok(left > 3_500 && left <= 3_600, `x509 expires in ${left} s`);
  assert.ok(sample(text, 'spiffe_helper_svid_expires_in_seconds', 'output="jwt_svid:db.jwt"')! < 0, 'negative once expired');
  assert.equal(sample(text, 'spiffe_helper_updates_received_total', 'kind="x509_context"'), 2);
  assert.equal(sample(text, 'spiffe_helper_updates_received_total', 'kind="jwt_svid"'), 1);
  assert.equal(sample(text, 'spiffe_helper_updates_skipped_total', 'kind="x509_context",reason="invalid_message"'), 1);
  assert.equal(sample(text, 'spiffe_helper_file_sets_written_total'), 1);
  assert.equal(sample(text, 'spiffe_helper_write_failures_total'), 1);
  assert.equal(sample(text, 'spiffe_helper_last_write_timestamp_seconds'), Date.parse('2026-11-25T12:00:00Z') / 1000);
  assert.equal(sample(text, 'spiffe_helper_workload_api_connected'), 0);
  assert.equal(sample(text, 'spiffe_helper_workload_api_state', 'state="retrying"'), 1);
  assert.equal(sample(text, 'spiffe_helper_workload_api_state', 'state="connected"'), 0);
  assert.equal(sample(text, 'spiffe_helper_workload_api_reconnects_total'), 2, 'a retry streak counts once');
  assert.equal(sample(text, 'spiffe_helper_notifications_total', 'action="signal",result="ok"'), 1);
  assert.equal(sample(text, 'spiffe_helper_notifications_total', 'action="command",result="failed"'), 1);
  assert.equal(sample(text, 'spiffe_helper_program_restarts_total'), 1);
  assert.equal(sample(text, 'spiffe_helper_program_exits_total', 'code="143"'), 1);
  assert.equal(sample(text, 'spiffe_helper_config_reloads_total', 'result="ok"'), 1);
  assert.equal(sample(text, 'spiffe_helper_config_reloads_total', 'result="failed"'), 2);
  assert.equal(sample(text, 'spiffe_helper_build_info', `version="9.9.9",node_version="${process.versions.node}"`), 1);
  assert.ok(sample(text, 'process_resident_memory_bytes')! > 0, 'the process metrics');
  assert.doesNotMatch(text, /BEGIN|PRIVATE|eyJ/, 'no secret material');
});

test('/metrics before anything happened: zero counters, no expiry samples; HEAD and other methods', async (t) => {
  const metrics = new HelperMetrics();
  const base = await serve(t, metrics);
  const text = await (await fetch(`${base}/metrics`)).text();
  assert.equal(sample(text, 'spiffe_helper_file_sets_written_total'), 0);
  assert.equal(sample(text, 'spiffe_helper_workload_api_state', 'state="connecting"'), 1);
  assert.doesNotMatch(text, /^spiffe_helper_svid_expires_in_seconds\{/m);
  assert.equal(sample(text, 'spiffe_helper_last_write_timestamp_seconds'), 0);
  const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  assert.equal((await fetch(`${base}/ready`)).status, 503, 'the health paths still answer');
});

test('an output dropped by a config reload stops being reported', async (t) => {
  const metrics = recorded();
  metrics.keepOutputs(['x509']);
  const text = await (await fetch(`${await serve(t, metrics)}/metrics`)).text();
  assert.equal(sample(text, 'spiffe_helper_svid_expires_in_seconds', 'output="jwt_svid:db.jwt"'), undefined);
  assert.ok(sample(text, 'spiffe_helper_svid_expires_in_seconds', 'output="x509"')! > 0);
});

test('promtool check metrics finds nothing to complain about', { skip: noPrometheus }, async (t) => {
  const text = await (await fetch(`${await serve(t, recorded())}/metrics`)).text();
  assert.equal(await promtoolCheck(text, await tempDir(t)), '');
});
