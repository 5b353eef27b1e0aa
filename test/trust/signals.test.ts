import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { startHelper, type HelperProcess } from '../support/helper-process.ts';
import { listeningPorts } from '../support/proc.ts';
import { notRoot, systemUser } from '../support/system-user.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { server, servedSerial, x509Config } from '../helper/support.ts';

/** A helper starting on a loaded machine (two cores shared by many test runs) can take seconds. */
const STARTUP_MS = 30_000;

const alive = (helper: HelperProcess): boolean => helper.child.exitCode === null && helper.child.signalCode === null;

/** Rotates and waits until the helper has written the new SVID. */
async function rotated(s: Awaited<ReturnType<typeof server>>, certs: string): Promise<void> {
  const before = await servedSerial(certs);
  await s.rotate();
  await waitFor(async () => ((await servedSerial(certs)) !== before ? true : undefined), { what: 'the rotated SVID on disk', timeoutMs: STARTUP_MS });
}

/** The pid-file outcome logged after `from` log lines: a signal sent, or a refusal (the retry's line). */
function pidFileOutcome(helper: HelperProcess, from: number): Promise<{ msg: string; [key: string]: unknown }> {
  return helper.waitForLog((l) => helper.logs.indexOf(l) >= from && (l.msg === 'signalled the pid-file process' || l.msg.startsWith('telling the program failed')), {
    timeoutMs: STARTUP_MS,
  });
}

test('SIGUSR1 and SIGUSR2 sent by another process of the helper\'s user open no debugger and stop nothing', { skip: notRoot }, async (t) => {
  const user = await systemUser(t);
  const s = await server(t);
  // The helper runs as the user, so the user may signal it: the attacker of row 1.
  await chmod(dirname(s.socketPath), 0o755);
  await chmod(s.socketPath, 0o777);
  const dir = await tempDir(t);
  await chmod(dir, 0o755);
  const certs = join(dir, 'certs');
  await mkdir(certs);
  await chown(certs, user.uid, user.gid);
  const helper = await startHelper(t, dir, x509Config(s.address, certs), { uid: user.uid, gid: user.gid });
  await waitFor(() => servedSerial(certs), { what: 'the first files', timeoutMs: STARTUP_MS });
  for (const signal of ['SIGUSR1', 'SIGUSR2'] as const) {
    await user.run('kill', [`-${signal.slice(3)}`, String(helper.pid)]);
    await helper.waitForLog((l) => l.msg === `${signal} received and ignored: the helper opens no debugger`, { timeoutMs: STARTUP_MS });
  }
  assert.deepEqual(listeningPorts(helper.pid), [], 'the helper listens on no TCP port (the inspector would be 9229)');
  assert.ok(!helper.stderr().includes('Debugger listening'), helper.stderr());
  await rotated(s, certs);
  assert.ok(alive(helper), 'the helper still runs');
});

test('a pid file naming the helper itself or its parent is refused with one line: no debugger, nothing signalled', { skip: notRoot }, async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const pidFile = join(dir, 'server.pid');
  const helper = await startHelper(t, dir, x509Config(s.address, certs, `renew_signal = "SIGUSR1"\npid_file_name = ${JSON.stringify(pidFile)}\nrenew_debounce = "0s"`));
  await waitFor(() => servedSerial(certs), { what: 'the first files', timeoutMs: STARTUP_MS });
  // The chained attack of row 1: whoever may write the pid file names the helper's own pid.
  for (const [pid, who] of [
    [helper.pid, 'the helper itself'],
    [process.pid, "the helper's parent"],
  ] as const) {
    await writeFile(pidFile, `${pid}\n`);
    const from = helper.logs.length;
    await rotated(s, certs);
    const outcome = await pidFileOutcome(helper, from);
    assert.match(outcome.msg, new RegExp(`refusing to signal process ${pid} from pid file ${pidFile}: it is ${who}`), who);
  }
  assert.deepEqual(listeningPorts(helper.pid), []);
  assert.ok(!helper.stderr().includes('Debugger listening'), helper.stderr());
  assert.ok(alive(helper));
});

test("another user's process is signalled and its uid logged; one started after the pid file was written (a reused pid) is refused", { skip: notRoot }, async (t) => {
  const user = await systemUser(t);
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const pidFile = join(dir, 'server.pid');
  const helper = await startHelper(t, dir, x509Config(s.address, certs, `renew_signal = "SIGWINCH"\npid_file_name = ${JSON.stringify(pidFile)}\nrenew_debounce = "0s"`));
  await waitFor(() => servedSerial(certs), { what: 'the first files', timeoutMs: STARTUP_MS });
  const other = user.spawn('sleep', ['600']);
  await waitFor(() => other.pid, { what: 'the other user\'s process' });
  await writeFile(pidFile, `${other.pid}\n`);
  let from = helper.logs.length;
  await rotated(s, certs);
  const signalled = await pidFileOutcome(helper, from);
  assert.equal(signalled.msg, 'signalled the pid-file process');
  assert.equal(signalled.pid, other.pid);
  assert.equal(signalled.uid, user.uid, 'the log says whose process it signalled');
  // The pid file is older than the process: that process did not write it, whatever pid it has.
  const anHourAgo = new Date(Date.now() - 3_600_000);
  await utimes(pidFile, anHourAgo, anHourAgo);
  from = helper.logs.length;
  await rotated(s, certs);
  const refused = await pidFileOutcome(helper, from);
  assert.match(refused.msg, new RegExp(`refusing to signal process ${other.pid} from pid file ${pidFile}: it started after the pid file was written \\(a stale pid file whose pid was reused\\?\\)`));
  assert.ok(other.exitCode === null && other.signalCode === null);
});
