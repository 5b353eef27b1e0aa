import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { signalPidFile } from '../../src/helper/program/index.ts';
import { spawnDaemon } from '../support/daemon.ts';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { RECORDER, server, servedSerial, x509Config } from '../helper/support.ts';

const run = promisify(execFile);
const STARTUP_MS = 30_000;

test('pid 1 is never signalled from a pid file: refused before any signal is sent', async (t) => {
  const pidFile = join(await tempDir(t), 'init.pid');
  await writeFile(pidFile, '1\n');
  // Signal 0 would be harmless; the refusal must come before any kill() all the same.
  await assert.rejects(signalPidFile(pidFile, 'SIGWINCH'), { message: `refusing to signal process 1 from pid file ${pidFile}: it is init (pid 1)` });
});

test('a FIFO or a link to /dev/zero as pid file: one line each and a retry, never a wedge; fixed, the signals resume; SIGTERM stops the helper', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const pidFile = join(dir, 'server.pid');
  const record = join(dir, 'record');
  const target = spawnDaemon(t, { command: process.execPath, args: [RECORDER, record], logFile: join(dir, 'recorder.log') });
  await target.waitReady(async () => (await readFile(record, 'utf8').catch(() => '')).startsWith('ready'), { what: 'the recorder' });
  await run('mkfifo', [pidFile]);
  const helper = await startHelper(t, dir, x509Config(s.address, certs, `renew_signal = "SIGHUP"\npid_file_name = ${JSON.stringify(pidFile)}\nrenew_debounce = "0s"`));
  await waitFor(() => servedSerial(certs), { what: 'the first files', timeoutMs: STARTUP_MS });
  const refusedSince = (from: number, why: RegExp) =>
    helper.waitForLog((l) => helper.logs.indexOf(l) >= from && l.msg.startsWith('telling the program failed') && why.test(l.msg), { timeoutMs: STARTUP_MS });
  await refusedSince(0, new RegExp(`pid file ${pidFile} is not a regular file \\(a FIFO\\)`));
  await rm(pidFile);
  await symlink('/dev/zero', pidFile);
  let from = helper.logs.length;
  await s.rotate();
  await refusedSince(from, new RegExp(`pid file ${pidFile} is a symbolic link`));
  await rm(pidFile);
  await writeFile(pidFile, `${target.pid}\n`);
  from = helper.logs.length;
  await s.rotate();
  await helper.waitForLog((l) => helper.logs.indexOf(l) >= from && l.msg === 'signalled the pid-file process', { timeoutMs: STARTUP_MS });
  await waitFor(async () => (await readFile(record, 'utf8')).includes('SIGHUP'), { what: 'the recorder to get SIGHUP' });
  // Nothing is left blocked: SIGTERM ends the helper (the old reader held a thread on the FIFO for good).
  await rm(pidFile);
  await run('mkfifo', [pidFile]);
  from = helper.logs.length;
  await s.rotate();
  await refusedSince(from, /is not a regular file/);
  helper.child.kill('SIGTERM');
  const kill = setTimeout(() => helper.child.kill('SIGKILL'), 10_000);
  const code = await helper.exited();
  clearTimeout(kill);
  assert.equal(code, 0, 'stopped by SIGTERM, not killed 10 s later');
});
