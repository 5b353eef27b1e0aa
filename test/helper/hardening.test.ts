import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, chmod, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startHelper, type HelperProcess } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { keyMatches, lines, RECORDER, servedSerial, server, toml, x509Config } from './support.ts';

const JWT = '[[jwt_svids]]\njwt_audience = "db"\njwt_svid_file_name = "db.jwt"';
const HEALTH = '[health_checks]\nlistener_enabled = true\nbind_port = 0\nready_expiry_margin = "30s"';

interface Ready {
  readonly status: number;
  readonly body: { status: string; reasons: string[]; warnings: string[] };
}

async function healthPort(helper: HelperProcess): Promise<number> {
  return (await helper.waitForLog((l) => l.msg === 'health listener started', { timeoutMs: STARTUP_MS })).port as number;
}

async function ready(port: number): Promise<Ready> {
  const response = await fetch(`http://127.0.0.1:${port}/ready`);
  return { status: response.status, body: (await response.json()) as Ready['body'] };
}

/** Polls `file` back to back until stopped; counts the polls that found it missing. */
function pollPresence(file: string): { stop(): Promise<{ polls: number; missing: number }> } {
  let stopped = false;
  const seen = { polls: 0, missing: 0 };
  const loop = (async () => {
    while (!stopped) {
      seen.polls++;
      await access(file).catch(() => seen.missing++);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return seen;
    },
  };
}

/** A helper starting on a loaded machine (two cores shared by many test runs) can take seconds. */
const STARTUP_MS = 30_000;

const count = (helper: HelperProcess, msg: string): number => helper.logs.filter((l) => l.msg === msg).length;

test('defect 1: JWT-SVID files never disappear across five reloads', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const helper = await startHelper(t, dir, x509Config(s.address, certs, JWT));
  await waitFor(() => readFile(join(certs, 'db.jwt'), 'utf8').catch(() => undefined), { what: 'the first token', timeoutMs: STARTUP_MS });
  await waitFor(() => servedSerial(certs), { what: 'the X.509 files', timeoutMs: STARTUP_MS });
  const poller = pollPresence(join(certs, 'db.jwt'));
  for (let i = 1; i <= 5; i++) {
    const fetched = count(helper, 'JWT-SVID fetched');
    helper.child.kill('SIGHUP');
    await waitFor(() => count(helper, 'applying reloaded config') === i, { what: `reload ${i}` });
    await waitFor(() => count(helper, 'JWT-SVID fetched') > fetched, { what: `the token fetched after reload ${i}` });
  }
  const seen = await poller.stop();
  assert.ok(seen.polls > 100, `polled often: ${seen.polls}`);
  assert.equal(seen.missing, 0, `db.jwt missing in ${seen.missing} of ${seen.polls} polls`);
});

test('defect 1: JWT-SVID files never disappear across five restarts', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const config = x509Config(s.address, certs, JWT);
  await writeFile(join(dir, 'helper.conf'), config);
  let helper = await startHelper(t, dir, '', { configFile: join(dir, 'helper.conf') });
  await waitFor(() => readFile(join(certs, 'db.jwt'), 'utf8').catch(() => undefined), { what: 'the first token', timeoutMs: STARTUP_MS });
  await waitFor(() => servedSerial(certs), { what: 'the X.509 files', timeoutMs: STARTUP_MS });
  const poller = pollPresence(join(certs, 'db.jwt'));
  for (let i = 1; i <= 5; i++) {
    helper.child.kill('SIGTERM');
    assert.equal(await helper.exited(), 0);
    const before = await servedSerial(certs);
    await s.rotate();
    helper = await startHelper(t, dir, '', { configFile: join(dir, 'helper.conf') });
    await waitFor(async () => (await servedSerial(certs)) !== before, { what: `the rotated SVID after restart ${i}` });
    await helper.waitForLog((l) => l.msg === 'JWT-SVID fetched');
  }
  const seen = await poller.stop();
  assert.equal(seen.missing, 0, `db.jwt missing in ${seen.missing} of ${seen.polls} polls`);
});

test('after a restart, a write before the first X.509 update keeps the per-trust-domain bundle files', async (t) => {
  const s = await server(t);
  await s.addFederatedBundle('partner.example');
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const federated = join(certs, 'federated_partner.example.pem');
  await writeFile(join(dir, 'helper.conf'), x509Config(s.address, certs, 'federated_bundle_file_name = "federated_{trust_domain}.pem"\njwt_bundle_file_name = "bundle.jwks"'));
  let helper = await startHelper(t, dir, '', { configFile: join(dir, 'helper.conf') });
  const roots = await waitFor(() => readFile(federated, 'utf8').catch(() => undefined), { what: 'the federated bundle file', timeoutMs: STARTUP_MS });
  await waitFor(() => readFile(join(certs, 'bundle.jwks'), 'utf8').catch(() => undefined), { what: 'the JWT bundle file', timeoutMs: STARTUP_MS });
  helper.child.kill('SIGTERM');
  assert.equal(await helper.exited(), 0);
  // The restarted helper hears of the JWT bundles first: its first write has no X.509 material.
  s.stall('FetchX509SVID');
  helper = await startHelper(t, dir, '', { configFile: join(dir, 'helper.conf') });
  await helper.waitForLog((l) => l.msg === 'files written' || l.msg === 'files unchanged; the program is not told', { timeoutMs: STARTUP_MS });
  assert.equal(await readFile(federated, 'utf8').catch(() => 'missing'), roots, 'the federated bundle file is still there');
});

test('defect 2: an expired, not yet valid, wrongly addressed or wrong-subject JWT-SVID is refused; the last good one stays', async (t) => {
  const s = await server(t, { jwtTtlSeconds: 30 });
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const spiffeId = 'spiffe://example.org/workload';
  const helper = await startHelper(
    t,
    dir,
    `agent_address = ${toml(s.address)}\ncert_dir = ${toml(certs)}\n[[jwt_svids]]\njwt_audience = "db"\njwt_svid_file_name = "db.jwt"\njwt_svid_spiffe_id = ${toml(spiffeId)}\n${HEALTH}`,
  );
  const port = await healthPort(helper);
  const good = await waitFor(() => readFile(join(certs, 'db.jwt'), 'utf8').catch(() => undefined), { what: 'the first token', timeoutMs: STARTUP_MS });
  await waitFor(async () => (await ready(port)).status === 200, { what: 'ready', timeoutMs: STARTUP_MS });
  const now = Math.floor(Date.now() / 1000);
  const faults: [Record<string, unknown>, RegExp][] = [
    [{ exp: now - 10 }, /it expired at/],
    [{ nbf: now + 3600 }, /it is not valid before/],
    [{ aud: ['someone-else'] }, /audience "db" is not in its "aud" claim/],
    [{ sub: 'spiffe://example.org/other' }, /spiffe_id spiffe:\/\/example.org\/workload does not match the token's subject/],
  ];
  for (const [claims, why] of faults) {
    s.setJwtClaims(claims);
    const refused = helper.logs.length;
    // The renewer retries with backoff; a SIGHUP reload makes the next fetch come at once.
    helper.child.kill('SIGHUP');
    const line = await helper.waitForLog((l) => helper.logs.indexOf(l) >= refused && why.test(l.msg), { timeoutMs: 20_000 });
    assert.match(line.msg, /^JWT-SVID for audience "db" not fetched; the last good token stays/);
    assert.equal(await readFile(join(certs, 'db.jwt'), 'utf8'), good, 'the last good token stays on disk');
    // The listener reports on the new session once it has written the seed: poll for the refusal.
    const degraded = await waitFor(async () => {
      const r = await ready(port);
      return why.test(r.body.warnings.join('\n')) ? r : undefined;
    }, { what: 'the refusal in /ready' });
    assert.equal(degraded.status, 200, 'the last good token is far from expiry');
    assert.equal(degraded.body.status, 'degraded');
  }
  // Once the last good token is within the margin (capped at 40 % of its 30 s life: 12 s), not ready.
  const notReady = await waitFor(async () => {
    const r = await ready(port);
    return r.status === 503 ? r : undefined;
  }, { what: 'not ready near the expiry of the last good token', timeoutMs: 40_000, intervalMs: 250 });
  assert.match(notReady.body.reasons.join('\n'), /JWT-SVID for audience "db" expires in \d+ s, within the 12 s margin; the last update failed: /);
  s.setJwtClaims();
  helper.child.kill('SIGHUP');
  await waitFor(async () => (await readFile(join(certs, 'db.jwt'), 'utf8')) !== good, { what: 'a good token again', timeoutMs: 20_000 });
  await waitFor(async () => (await ready(port)).body.status === 'ok', { what: 'ok again' });
});

test('defect 3: a removed or altered cert_dir is noticed, reported not ready and written again at once', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const helper = await startHelper(t, dir, x509Config(s.address, certs, `${JWT}\n${HEALTH}`));
  const port = await healthPort(helper);
  await waitFor(async () => (await ready(port)).status === 200, { what: 'ready', timeoutMs: STARTUP_MS });
  const serial = await servedSerial(certs);
  // The helper writes the set again while rm still removes it (ENOTEMPTY): rm tries again.
  const removeCerts = () => rm(certs, { recursive: true, force: true, maxRetries: 10 });
  await removeCerts();
  await waitFor(async () => (await servedSerial(certs)) === serial, { what: 'the same set written again without a rotation' });
  assert.ok(await readFile(join(certs, 'db.jwt'), 'utf8'));
  // A file where the directory must be: the set cannot come back, and readiness says so on every probe.
  // Tried until the file lands first: the helper makes the directory again as soon as it is gone.
  await waitFor(
    async () => {
      await removeCerts();
      return writeFile(certs, 'not a directory', { flag: 'wx' }).then(() => true, () => undefined);
    },
    { what: 'a file in the place of cert_dir' },
  );
  const down = await ready(port);
  assert.equal(down.status, 503);
  assert.match(down.body.reasons.join('\n'), /the files in .*certs are not the set last written \(.*(is missing|is not a directory)\), and writing them again failed: .*not a directory/);
  await rm(certs);
  await waitFor(async () => (await ready(port)).status === 200, { what: 'ready once the set is back' });
  assert.equal(await servedSerial(certs), serial);
  const key = await readFile(join(certs, 'svid_key.pem'), 'utf8');
  // An altered file is put back too.
  await writeFile(join(certs, 'svid_key.pem'), 'tampered');
  await waitFor(async () => (await readFile(join(certs, 'svid_key.pem'), 'utf8')) === key, { what: 'the key file put back' });
  assert.ok(keyMatches(await readFile(join(certs, 'svid.pem'), 'utf8'), key));
  // So is a key made readable by all (only its mode changes on disk).
  const mode = async () => (await stat(join(certs, 'svid_key.pem'))).mode & 0o777;
  const keyMode = await mode();
  await chmod(join(certs, 'svid_key.pem'), 0o644);
  await waitFor(async () => (await mode()) === keyMode, { what: "the key file's mode put back" });
  assert.ok(helper.logs.some((l) => l.msg === 'the last good files are back on disk'));
});

test('defect 4: a reload onto a busy health port, or with a cmd that cannot run, is refused; helper and program keep running', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const record = join(dir, 'program.log');
  const program = `cmd = ${toml(process.execPath)}\ncmd_args = ${toml([RECORDER, record])}`;
  const helper = await startHelper(t, dir, x509Config(s.address, certs, `${program}\n${HEALTH}`));
  const port = await healthPort(helper);
  await waitFor(async () => (await lines(record)).length > 0, { what: 'the program', timeoutMs: STARTUP_MS });
  await waitFor(async () => (await ready(port)).status === 200, { what: 'ready', timeoutMs: STARTUP_MS });
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => busy.close(resolve)));
  const busyPort = (busy.address() as { port: number }).port;

  await writeFile(join(dir, 'helper.conf'), x509Config(s.address, certs, `${program}\n${HEALTH.replace('bind_port = 0', `bind_port = ${busyPort}`)}`));
  const refused = await helper.waitForLog((l) => /the new config is not applied, the running one stays: .*port is in use/.test(l.msg));
  assert.match(refused.msg, /^config file changed; /);
  await writeFile(join(dir, 'helper.conf'), x509Config(s.address, certs, `cmd = ${toml(join(dir, 'missing-program'))}\n${HEALTH}`));
  // Refused at load, naming the file, line and key (issue 8, defect 5).
  await helper.waitForLog((l) => /the new config is not applied, the running one stays: .*helper\.conf:\d+: cmd: cannot run .*missing-program.*: no such file/.test(l.msg));

  assert.equal(helper.child.exitCode, null, 'the helper runs');
  assert.deepEqual((await lines(record)).filter((l) => l.startsWith('SIG')), [], 'the program was not stopped or signalled');
  assert.equal((await ready(port)).status, 200, 'the old listener still answers');
  const before = await servedSerial(certs);
  await s.rotate();
  await waitFor(async () => (await servedSerial(certs)) !== before, { what: 'rotation under the old config' });
});

test('defect 6: a federated trust domain whose file name cannot be made is skipped; the own SVID still rotates', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const long = `${'a'.repeat(246)}.org`;
  await s.addFederatedBundle(long);
  await s.addFederatedBundle('other.org');
  const helper = await startHelper(t, dir, x509Config(s.address, certs, `federated_bundle_file_name = "federated_{trust_domain}.pem"\n${HEALTH}`));
  const port = await healthPort(helper);
  const first = await waitFor(() => servedSerial(certs), { what: 'the first write', timeoutMs: STARTUP_MS });
  assert.ok(await readFile(join(certs, 'federated_other.org.pem'), 'utf8'));
  await helper.waitForLog((l) => /^the bundle file of federated trust domain a+… is not written: the file name .* is 264 bytes long/.test(l.msg));
  const r = await waitFor(async () => {
    const answer = await ready(port);
    return answer.status === 200 ? answer : undefined;
  }, { what: 'ready', timeoutMs: STARTUP_MS });
  assert.equal(r.body.status, 'degraded');
  assert.match(r.body.warnings.join('\n'), /federated trust domain a+… is not written/);
  await s.rotate();
  await waitFor(async () => (await servedSerial(certs)) !== first, { what: 'the own SVID rotated' });
});

test('defect 7: invalid X.509 updates report degraded at once, and not ready once the last good SVID nears expiry', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const helper = await startHelper(t, dir, x509Config(s.address, certs, HEALTH));
  const port = await healthPort(helper);
  await waitFor(async () => (await ready(port)).status === 200, { what: 'ready', timeoutMs: STARTUP_MS });
  // A short-lived SVID (40 s; the margin is then capped at 20 s), so its expiry comes within the test.
  const first = await servedSerial(certs);
  await s.rotate({ ttlSeconds: 40 });
  const good = await waitFor(async () => ((await servedSerial(certs)) !== first ? servedSerial(certs) : undefined), { what: 'the short-lived SVID' });
  await s.rotate({ ttlSeconds: 40, wrongKey: true });
  const degraded = await waitFor(async () => {
    const r = await ready(port);
    return r.body.status === 'degraded' ? r : undefined;
  }, { what: 'degraded after an invalid update' });
  assert.equal(degraded.status, 200);
  assert.match(degraded.body.warnings.join('\n'), /x509: last update failed; the last good file stays: .*key/i);
  assert.equal(await servedSerial(certs), good, 'the last good files stay');
  const notReady = await waitFor(async () => {
    const r = await ready(port);
    return r.status === 503 ? r : undefined;
  }, { what: 'not ready near expiry', timeoutMs: 60_000, intervalMs: 250 });
  assert.match(notReady.body.reasons.join('\n'), /X.509-SVID expires in \d+ s, within the \d+ s margin; the last update failed: .*private key does not match/);
  assert.equal(helper.child.exitCode, null);
});
