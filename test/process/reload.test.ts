import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runReloadCommand, signalPidFile } from '../../src/helper/program/index.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { killAfter, recorder } from './support.ts';

test('signalPidFile reads the pid afresh at each call and signals that process', async (t) => {
  const a = await recorder(t);
  const b = await recorder(t);
  a.program.start();
  b.program.start();
  const [pidA, pidB] = [await a.ready(), await b.ready()];
  const pidFile = join(a.dir, 'server.pid');
  await writeFile(pidFile, `${pidA}\n/var/lib/postgresql/data\n1700000000\n`);
  assert.equal((await signalPidFile(pidFile, 'SIGUSR1')).pid, pidA, 'the first line, as in postmaster.pid');
  await writeFile(pidFile, ` ${pidB} \n`);
  assert.equal((await signalPidFile(pidFile, 'SIGHUP')).pid, pidB);
  await waitFor(async () => (await a.count('SIGUSR1')) === 1 && (await b.count('SIGHUP')) === 1, { what: 'each recorder to get its signal' });
  assert.equal(await a.count('SIGHUP'), 0);
  assert.equal(await b.count('SIGUSR1'), 0);
});

test('signalPidFile errors name the file and what is wrong: missing, empty, garbage, no process', async (t) => {
  const dir = await tempDir(t);
  const pidFile = join(dir, 'server.pid');
  await assert.rejects(signalPidFile(pidFile, 'SIGHUP'), { message: `cannot read pid file ${pidFile}: no such file (is the server started?)` });
  await writeFile(pidFile, '');
  await assert.rejects(signalPidFile(pidFile, 'SIGHUP'), { message: `pid file ${pidFile} is empty` });
  for (const garbage of ['garbage', '-1', '0', '12abc', '99999999']) {
    await writeFile(pidFile, `${garbage}\n`);
    await assert.rejects(signalPidFile(pidFile, 'SIGHUP'), { message: `pid file ${pidFile} does not start with a process id: ${JSON.stringify(garbage)}` }, garbage);
  }
  // A pid above /proc/sys/kernel/pid_max but within PID_MAX_LIMIT: valid-looking, never a process.
  const maxPid = Number(await readFile('/proc/sys/kernel/pid_max', 'utf8'));
  if (maxPid < 4_194_304) {
    await writeFile(pidFile, `${maxPid + 1}\n`);
    await assert.rejects(signalPidFile(pidFile, 'SIGHUP'), { message: `cannot send SIGHUP to process ${maxPid + 1} from pid file ${pidFile}: no such process (a stale pid file?)` });
  }
});

test('runReloadCommand resolves when the command succeeds, with the environment inherited', async (t) => {
  const out = join(await tempDir(t), 'out');
  process.env.RELOAD_TEST_MARK = 'from-the-helper';
  t.after(() => delete process.env.RELOAD_TEST_MARK);
  await runReloadCommand('sh', ['-c', `echo "$RELOAD_TEST_MARK" > ${out}`], 5_000);
  assert.equal(await readFile(out, 'utf8'), 'from-the-helper\n');
});

test('a failing reload command: the error has its exit code and the end of its stderr', async () => {
  await assert.rejects(runReloadCommand('sh', ['-c', "echo 'ERROR 1045 (28000): Access denied' >&2; echo 'second line' >&2; exit 3"], 5_000), {
    message: `reload command "sh -c echo 'ERROR 1045 (28000): Access denied' >&2; echo 'second line' >&2; exit 3" exited with code 3: ERROR 1045 (28000): Access denied | second line`,
  });
  const long = `${'x'.repeat(2_000)}END`;
  await assert.rejects(runReloadCommand('sh', ['-c', `echo ${long} >&2; exit 1`], 5_000), (error: Error) => error.message.endsWith(`: ...${'x'.repeat(397)}END`));
  await assert.rejects(runReloadCommand('sh', ['-c', 'kill -KILL $$'], 5_000), /"sh -c kill -KILL \$\$" was killed by SIGKILL$/);
  await assert.rejects(runReloadCommand('no-such-reload-xyz', ['--flag'], 5_000), { message: 'reload command "no-such-reload-xyz --flag": cannot run "no-such-reload-xyz": not found in PATH' });
});

test('where no temporary file can be made, the command writes to the helper\'s stderr and the error says so', async (t) => {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = join(await tempDir(t), 'missing');
  t.after(() => (saved === undefined ? delete process.env.TMPDIR : (process.env.TMPDIR = saved)));
  await assert.rejects(runReloadCommand('sh', ['-c', 'exit 3'], 5_000), { message: `reload command "sh -c exit 3" exited with code 3 (its stderr went to the helper's stderr)` });
  await runReloadCommand('true', [], 5_000);
});

test('a reload command that outlasts its timeout is killed and reported', async (t) => {
  const pidFile = join(await tempDir(t), 'pid');
  await assert.rejects(runReloadCommand('sh', ['-c', `echo $$ > ${pidFile}; echo waiting >&2; exec sleep 30`], 300), {
    message: `reload command "sh -c echo $$ > ${pidFile}; echo waiting >&2; exec sleep 30" timed out after 300 ms: waiting`,
  });
  const pid = Number(await readFile(pidFile, 'utf8'));
  killAfter(t, pid);
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
});

test('a reload command that leaves a background process behind still counts as finished', async (t) => {
  const pidFile = join(await tempDir(t), 'background.pid');
  // The background sleep inherits stderr; with a pipe, the command would seem to run until it ends.
  await runReloadCommand('sh', ['-c', `sleep 30 & echo $! > ${pidFile}; exit 0`], 5_000);
  killAfter(t, Number(await readFile(pidFile, 'utf8')));
});
