// The helper against a real SPIRE 1.15 server and agent on loopback: real attestation, real
// rotations (X.509 TTL 30 s: a new SVID about every 20 s), real outages. Each test has its own
// SPIRE, so the tests run side by side.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Spire, spireUnavailable } from '../support/spire.ts';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { RECORDER, lines, toml } from '../helper/support.ts';
import { files, healthPort, nextRotation, readiness, realConfig, serialOnDisk, validSet } from './support.ts';

const ID = 'spiffe://example.org/workload';
const skip = spireUnavailable();

describe('against a real SPIRE agent', { concurrency: true, skip }, () => {
  test('one-shot writes a valid set for the registered SPIFFE ID and exits 0', async (t) => {
    const spire = await Spire.start(t);
    await spire.createEntry({ spiffeId: ID });
    const dir = await tempDir(t);
    const certs = join(dir, 'certs');
    const helper = await startHelper(t, dir, realConfig(spire.agentAddress, certs, 'daemon_mode = false\noneshot_timeout = "60s"'));
    assert.equal(await helper.exited(), 0, helper.stderr());
    await validSet(certs, ID);
  });

  test('one-shot with no registration entry fails by the deadline, saying so', async (t) => {
    const spire = await Spire.start(t);
    const dir = await tempDir(t);
    const helper = await startHelper(t, dir, realConfig(spire.agentAddress, join(dir, 'certs'), 'daemon_mode = false\noneshot_timeout = "4s"'));
    assert.equal(await helper.exited(), 1);
    assert.match(helper.stderr(), /spiffe-helper: no complete set of files within 4000 ms: .*has no identity for this workload \(usually no registration entry matches it\): no identity issued/);
    assert.deepEqual(await readdir(dir), ['helper.conf']);
  });

  test('the daemon sees real rotations, each a new valid set followed by a signal to the program', async (t) => {
    const spire = await Spire.start(t);
    await spire.createEntry({ spiffeId: ID, x509TtlSeconds: 30 });
    const dir = await tempDir(t);
    const certs = join(dir, 'certs');
    const record = join(dir, 'signals.log');
    await startHelper(t, dir, realConfig(spire.agentAddress, certs, `cmd = ${toml(process.execPath)}\ncmd_args = ${toml([RECORDER, record])}\nrenew_signal = "SIGHUP"`));
    let serial = await nextRotation(certs, undefined);
    await validSet(certs, ID);
    await waitFor(async () => (await lines(record)).length > 0, { what: 'the program to start' });
    for (let rotation = 1; rotation <= 2; rotation++) {
      serial = await nextRotation(certs, serial);
      assert.equal(await validSet(certs, ID), serial);
      await waitFor(async () => (await lines(record)).filter((l) => l === 'SIGHUP').length >= rotation, { what: `SIGHUP after rotation ${rotation}` });
    }
  });

  test('a deleted entry: the last good files stay, readiness turns false with the reason; re-created: it recovers', async (t) => {
    const spire = await Spire.start(t);
    const entry = await spire.createEntry({ spiffeId: ID, x509TtlSeconds: 120 });
    const dir = await tempDir(t);
    const certs = join(dir, 'certs');
    const helper = await startHelper(t, dir, realConfig(spire.agentAddress, certs, '[health_checks]\nlistener_enabled = true\nbind_port = 0\nagent_lost_threshold = "2s"'));
    const port = await healthPort(helper);
    const good = await nextRotation(certs, undefined);
    await waitFor(async () => (await readiness(port)).status === 200, { what: 'ready' });
    await spire.deleteEntry(entry);
    const down = await waitFor(async () => {
      const r = await readiness(port);
      return r.status === 503 ? r : undefined;
    }, { what: 'not ready after the entry is deleted', timeoutMs: 60_000 });
    assert.match(down.body.reasons.join(' '), /no agent connection for \d+ s: .*no identity for this workload/);
    await helper.waitForLog((l) => /no identity for this workload/.test(l.msg) && l.level === 40);
    assert.equal(await serialOnDisk(certs), good, 'the last good files stay');
    await spire.createEntry({ spiffeId: ID, x509TtlSeconds: 120 });
    await nextRotation(certs, good);
    await validSet(certs, ID);
    await waitFor(async () => (await readiness(port)).status === 200, { what: 'ready again', timeoutMs: 30_000 });
  });

  test('the agent killed and restarted with a new join token: the helper reconnects and keeps rotating', async (t) => {
    const spire = await Spire.start(t);
    await spire.createEntry({ spiffeId: ID, x509TtlSeconds: 30 });
    const dir = await tempDir(t);
    const certs = join(dir, 'certs');
    const helper = await startHelper(t, dir, realConfig(spire.agentAddress, certs));
    const before = await nextRotation(certs, undefined);
    await spire.killAgent();
    await helper.waitForLog((l) => l.msg.startsWith('Workload API:') && l.level === 40, { what: 'the helper to notice the agent is gone' });
    const connections = helper.logs.filter((l) => l.msg === 'Workload API connected').length;
    await spire.restartAgent();
    await helper.waitForLog(() => helper.logs.filter((l) => l.msg === 'Workload API connected').length > connections, { what: 'a reconnection', timeoutMs: 60_000 });
    const afterRestart = await nextRotation(certs, before);
    await validSet(certs, ID);
    await nextRotation(certs, afterRestart);
    await validSet(certs, ID);
  });

  test('the SPIRE server stopped: readiness turns false before the written certificate expires', async (t) => {
    const spire = await Spire.start(t);
    await spire.createEntry({ spiffeId: ID, x509TtlSeconds: 30 });
    const dir = await tempDir(t);
    const certs = join(dir, 'certs');
    const helper = await startHelper(t, dir, realConfig(spire.agentAddress, certs, '[health_checks]\nlistener_enabled = true\nbind_port = 0\nready_expiry_margin = "10s"'));
    const port = await healthPort(helper);
    await nextRotation(certs, undefined);
    await waitFor(async () => (await readiness(port)).status === 200, { what: 'ready' });
    await spire.stopServer();
    const down = await waitFor(async () => {
      const r = await readiness(port);
      return r.status === 503 ? r : undefined;
    }, { what: 'not ready while the server is down', timeoutMs: 90_000, intervalMs: 250 });
    const notAfter = new Date(new X509Certificate(await readFile(files(certs).cert)).validTo).getTime();
    assert.ok(Date.now() < notAfter, `readiness turned false ${Math.round((notAfter - Date.now()) / 1000)} s before expiry`);
    assert.match(down.body.reasons.join(' '), /X\.509-SVID expires in \d+ s, within the 10 s margin/);
  });
});
