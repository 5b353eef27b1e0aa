import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Notifier, WrappedProgram, runReloadCommand, signalPidFile } from '../../src/process/index.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';

const RECORDER = new URL('./fixtures/recorder.ts', import.meta.url).pathname;

async function startRecorder(t: { after(fn: () => unknown): void }) {
  const dir = await tempDir(t);
  const file = join(dir, 'signals.log');
  const program = new WrappedProgram({ command: process.execPath, args: [RECORDER, file], stopSignal: 'SIGTERM', killTimeoutMs: 2_000, onExit: 'exit', restartBackoffMaxMs: 100 });
  t.after(() => program.stop('SIGKILL'));
  program.start();
  const lines = async (): Promise<string[]> => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  await waitFor(async () => (await lines()).length > 0, { what: 'the recorder to start' });
  return { dir, program, lines, count: async (signal: string) => (await lines()).filter((l) => l === signal).length };
}

test('signal action: a burst gives one signal, separated calls one each', async (t) => {
  const { program, count } = await startRecorder(t);
  const notifier = new Notifier({ action: 'signal', signal: 'SIGHUP', pidFile: undefined, program, command: undefined, commandTimeoutMs: 1_000, debounceMs: 100 });
  t.after(() => notifier.close());
  for (let i = 0; i < 10; i++) notifier.notify();
  await notifier.idle();
  await waitFor(async () => (await count('SIGHUP')) === 1, { what: 'one SIGHUP' });
  notifier.notify();
  await notifier.idle();
  notifier.notify();
  await notifier.idle();
  await waitFor(async () => (await count('SIGHUP')) === 3, { what: 'three SIGHUPs' });
  assert.equal(await count('SIGHUP'), 3);
});

test('pid-file signalling reads the file afresh; errors name the file and the problem', async (t) => {
  const a = await startRecorder(t);
  const b = await startRecorder(t);
  const pidFile = join(a.dir, 'server.pid');
  await writeFile(pidFile, `${a.program.pid}\n/var/lib/data\n`);
  assert.equal(await signalPidFile(pidFile, 'SIGUSR1'), a.program.pid);
  await writeFile(pidFile, `${b.program.pid}\n`);
  assert.equal(await signalPidFile(pidFile, 'SIGUSR1'), b.program.pid);
  await waitFor(async () => (await a.count('SIGUSR1')) === 1 && (await b.count('SIGUSR1')) === 1);
  await writeFile(pidFile, 'garbage');
  await assert.rejects(signalPidFile(pidFile, 'SIGHUP'), /does not start with a process id: "garbage"/);
  await writeFile(pidFile, '999999999');
  await assert.rejects(signalPidFile(pidFile, 'SIGHUP'), /process 999999999 .*no such process/);
  await assert.rejects(signalPidFile(join(a.dir, 'missing.pid'), 'SIGHUP'), /cannot read pid file .*missing\.pid: no such file/);
});

test('a failing pid-file signal is retried, and a newer notification supersedes the retry', async (t) => {
  const { dir, program, count } = await startRecorder(t);
  const pidFile = join(dir, 'late.pid');
  const warnings: string[] = [];
  const log = { info() {}, error() {}, warn: (_: object, message?: string) => void warnings.push(message ?? '') };
  const notifier = new Notifier({ action: 'signal', signal: 'SIGUSR2', pidFile, program: undefined, command: undefined, commandTimeoutMs: 1_000, debounceMs: 0, log, retry: { initialMs: 50, maxMs: 100 } });
  t.after(() => notifier.close());
  notifier.notify();
  await waitFor(() => warnings.length >= 2, { what: 'two failed attempts' });
  assert.match(warnings[0]!, /no such file/);
  await writeFile(pidFile, String(program.pid));
  await waitFor(async () => (await count('SIGUSR2')) === 1, { what: 'the retry to succeed once the pid file exists' });
  await notifier.idle();
  await rm(pidFile);
  notifier.notify();
  await waitFor(() => warnings.length >= 4);
  await writeFile(pidFile, String(program.pid));
  notifier.notify();
  await waitFor(async () => (await count('SIGUSR2')) === 2);
  await notifier.idle();
});

test('command action: success, failure with code and stderr, timeout; never two at once', async (t) => {
  const dir = await tempDir(t);
  await runReloadCommand('sh', ['-c', 'exit 0'], 1_000);
  await assert.rejects(runReloadCommand('sh', ['-c', 'echo "ERROR 1045: access denied" >&2; exit 3'], 1_000), /exited with code 3: ERROR 1045: access denied/);
  await assert.rejects(runReloadCommand('sleep', ['5'], 100), /timed out after 100 ms/);
  const log = join(dir, 'runs.log');
  const script = `echo start >> ${log}; sleep 0.2; echo end >> ${log}`;
  const notifier = new Notifier({ action: 'command', signal: undefined, pidFile: undefined, program: undefined, command: { command: 'sh', args: ['-c', script] }, commandTimeoutMs: 5_000, debounceMs: 0 });
  t.after(() => notifier.close());
  notifier.notify();
  await waitFor(async () => (await readFile(log, 'utf8').catch(() => '')).includes('start'));
  notifier.notify();
  notifier.notify();
  await notifier.idle();
  assert.equal(await readFile(log, 'utf8'), 'start\nend\nstart\nend\n', 'runs are serial, and the two calls during a run gave one more');
});

test('restart action restarts the program', async (t) => {
  const { program, lines } = await startRecorder(t);
  const first = program.pid;
  const notifier = new Notifier({ action: 'restart', signal: undefined, pidFile: undefined, program, command: undefined, commandTimeoutMs: 1_000, debounceMs: 0 });
  t.after(() => notifier.close());
  notifier.notify();
  await notifier.idle();
  assert.notEqual(program.pid, first);
  await waitFor(async () => (await lines())[0]?.startsWith(`ready ${program.pid}`));
});
