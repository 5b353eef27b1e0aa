import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { FileSetWriter } from '../../src/helper/output/index.ts';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { lines, RECORDER, servedSerial, server, toml, x509Config } from './support.ts';

const claimsOf = (token: string): { exp: number; iat: number } => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number };

test('JWT-SVIDs are renewed before they expire, and a renewal tells the program', async (t) => {
  const s = await server(t, { jwtTtlSeconds: 4 });
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const record = join(dir, 'signals.log');
  await startHelper(
    t,
    dir,
    `agent_address = ${toml(s.address)}\ncert_dir = ${toml(certs)}\ncmd = ${toml(process.execPath)}\ncmd_args = ${toml([RECORDER, record])}\nrenew_signal = "SIGUSR1"\nrenew_debounce = 0\n[[jwt_svids]]\njwt_audience = "db"\njwt_svid_file_name = "db.jwt"`,
  );
  const first = await waitFor(() => readFile(join(certs, 'db.jwt'), 'utf8').catch(() => undefined), { what: 'the first token' });
  const second = await waitFor(async () => {
    const token = await readFile(join(certs, 'db.jwt'), 'utf8');
    return token !== first ? token : undefined;
  }, { what: 'a renewed token', timeoutMs: 10_000 });
  assert.ok(Date.now() < claimsOf(first).exp * 1000, 'renewed before the first token expired');
  assert.ok(claimsOf(second).exp > claimsOf(first).exp);
  await waitFor(async () => (await lines(record)).includes('SIGUSR1'), { what: 'the program told of the renewal' });
});

test('health: not ready before the first write, ready after, not ready when the agent is gone past the threshold; live throughout', async (t) => {
  const s = await server(t, { startLate: true });
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const helper = await startHelper(
    t,
    dir,
    x509Config(s.address, certs, '[health_checks]\nlistener_enabled = true\nbind_port = 0\nagent_lost_threshold = "1s"\nready_expiry_margin = "10s"'),
  );
  const port = (await helper.waitForLog((l) => l.msg === 'health listener started')).port as number;
  const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  let ready = await get('/ready');
  assert.equal(ready.status, 503);
  assert.match(String((ready.body.reasons as string[])[0]), /x509 not written yet/);
  assert.equal((await get('/live')).status, 200);
  await s.listen();
  ready = await waitFor(async () => {
    const r = await get('/ready');
    return r.status === 200 ? r : undefined;
  }, { what: 'ready after the first write' });
  assert.equal(ready.body.spiffe_id, 'spiffe://example.org/workload');
  assert.equal((ready.body.agent as { state: string }).state, 'connected');
  s.setRefusal(Status.PERMISSION_DENIED, 'no identity issued');
  const down = await waitFor(async () => {
    const r = await get('/ready');
    return r.status === 503 ? r : undefined;
  }, { what: 'not ready after the agent is lost', timeoutMs: 10_000 });
  assert.match((down.body.reasons as string[]).join(' '), /no agent connection for \d+ s: .*no identity issued/);
  assert.equal((await get('/live')).status, 200);
  assert.ok(await servedSerial(certs), 'the last good files stay');
  s.setRefusal(undefined);
  await waitFor(async () => (await get('/ready')).status === 200, { what: 'ready again', timeoutMs: 10_000 });
});

test('a changed config file is applied without dropping the identity; a broken one is logged and the old one stays; SIGHUP reloads', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const helper = await startHelper(t, dir, x509Config(s.address, certs));
  const serial = await waitFor(() => servedSerial(certs));
  await writeFile(join(dir, 'helper.conf'), x509Config(s.address, certs, 'bogus_key = 1'));
  await helper.waitForLog((l) => /config file changed; the new config is not applied, the running one stays: .*bogus_key: unknown key/.test(l.msg));
  assert.equal(await servedSerial(certs), serial);
  await writeFile(join(dir, 'helper.conf'), x509Config(s.address, certs).replace('svid_bundle.pem', 'ca.pem'));
  await waitFor(() => readFile(join(certs, 'ca.pem'), 'utf8').catch(() => undefined), { what: 'the renamed bundle file' });
  assert.equal(await servedSerial(certs), serial, 'the same identity, re-rendered from memory');
  await assert.rejects(readFile(join(certs, 'svid_bundle.pem')), { code: 'ENOENT' });
  helper.child.kill('SIGHUP');
  await helper.waitForLog((l) => l.msg === 'applying reloaded config' && l.reason === 'SIGHUP received');
  assert.equal(helper.child.exitCode, null, 'SIGHUP does not stop the helper');
});

test('a reloaded config with another program stops the old one and starts the new one; the helper keeps running', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const first = join(dir, 'first.log');
  const second = join(dir, 'second.log');
  const program = (record: string): string => `cmd = ${toml(process.execPath)}\ncmd_args = ${toml([RECORDER, record])}`;
  const helper = await startHelper(t, dir, x509Config(s.address, certs, program(first)));
  await waitFor(async () => (await lines(first)).length > 0, { what: 'the first program' });
  await writeFile(join(dir, 'helper.conf'), x509Config(s.address, certs, program(second)));
  await waitFor(async () => (await lines(second)).length > 0, { what: 'the second program' });
  assert.ok((await lines(first)).includes('SIGTERM'), 'the first program was stopped');
  assert.equal(helper.child.exitCode, null);
  helper.child.kill('SIGTERM');
  assert.equal(await helper.exited(), 0);
  assert.ok((await lines(second)).includes('SIGTERM'));
});

test('with only JWT-SVIDs configured, readiness follows the fetches', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const helper = await startHelper(
    t,
    dir,
    `agent_address = ${toml(s.address)}\ncert_dir = ${toml(join(dir, 'certs'))}\n[[jwt_svids]]\njwt_audience = "db"\njwt_svid_file_name = "db.jwt"\n[health_checks]\nlistener_enabled = true\nbind_port = 0\nagent_lost_threshold = "1s"`,
  );
  const port = (await helper.waitForLog((l) => l.msg === 'health listener started')).port as number;
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200, { what: 'ready once the token is written' });
  const body = (await (await fetch(`http://127.0.0.1:${port}/ready`)).json()) as { agent: { state: string } };
  assert.equal(body.agent.state, 'connected');
});

test('a config file mounted from a Kubernetes ConfigMap (a ..data symlink swap) is reloaded too', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  // The writer makes exactly the layout the kubelet makes for a ConfigMap volume.
  const configMap = new FileSetWriter(join(dir, 'configmap'));
  await configMap.write([{ name: 'helper.conf', content: x509Config(s.address, certs), mode: 0o644 }]);
  const helper = await startHelper(t, dir, '', { configFile: join(dir, 'configmap', 'helper.conf') });
  await waitFor(() => servedSerial(certs), { what: 'the first write' });
  await configMap.write([{ name: 'helper.conf', content: x509Config(s.address, certs).replace('svid_bundle.pem', 'ca.pem'), mode: 0o644 }]);
  await waitFor(() => readFile(join(certs, 'ca.pem'), 'utf8').catch(() => undefined), { what: 'the config from the swapped ConfigMap applied' });
  assert.equal(helper.child.exitCode, null);
});
