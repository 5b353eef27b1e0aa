import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandNotFoundError, WrappedProgram, exitCodeOf, parentDeathPrefix } from '../../src/helper/program/index.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { RECORDER, alive, killAfter, lines, memoryLog, recorder } from './support.ts';

test('signals reach the program; stop forwards SIGTERM and resolves with the code the program chose', async (t) => {
  const r = await recorder(t, ['--term-exit=7']);
  assert.equal(r.program.signal('SIGHUP'), false, 'nothing to signal before start');
  r.program.start();
  const pid = await r.ready();
  assert.equal(r.program.pid, pid, 'the pid is the program itself, not a wrapper');
  assert.ok(r.program.signal('SIGHUP'));
  assert.ok(r.program.signal('SIGUSR1'));
  await waitFor(async () => (await r.count('SIGHUP')) === 1 && (await r.count('SIGUSR1')) === 1, { what: 'SIGHUP and SIGUSR1 recorded' });
  const status = await r.program.stop();
  assert.deepEqual(status, { code: 7, signal: null });
  assert.deepEqual(await r.program.exited, status);
  assert.deepEqual(await r.program.stop(), status, 'a second stop gives the same answer');
  assert.equal(r.program.pid, undefined);
  assert.ok(!alive(pid));
  assert.deepEqual((await r.lines()).slice(1), ['SIGHUP', 'SIGUSR1', 'SIGTERM']);
});

test('stop(signal) forwards that signal instead of the stop signal', async (t) => {
  const r = await recorder(t, [], { stopSignal: 'SIGINT', killTimeoutMs: 300 });
  r.program.start();
  await r.ready();
  assert.deepEqual(await r.program.stop('SIGTERM'), { code: 0, signal: null });
  assert.deepEqual((await r.lines()).slice(1), ['SIGTERM']);
});

test('a program that ignores the stop signal gets SIGKILL after the kill timeout (exit code 137)', async (t) => {
  const log = memoryLog();
  const r = await recorder(t, ['--ignore-term'], { killTimeoutMs: 300 }, log);
  r.program.start();
  await r.ready();
  const status = await r.program.stop();
  assert.deepEqual(status, { code: null, signal: 'SIGKILL' });
  assert.equal(exitCodeOf(status), 137);
  assert.deepEqual((await r.lines()).slice(1), ['SIGTERM'], 'it got SIGTERM first');
  assert.ok(log.entries.some((e) => e.level === 'warn' && /did not stop in time/.test(e.message)));
});

test('a slow shutdown is waited for up to the kill timeout, even past 5 s (no SIGKILL of its own from execa)', async (t) => {
  const r = await recorder(t, ['--term-delay=5500', '--term-exit=3'], { killTimeoutMs: 30_000 });
  r.program.start();
  await r.ready();
  assert.deepEqual(await r.program.stop(), { code: 3, signal: null });
});

test('a program that outstays the kill timeout is killed with its own children', async (t) => {
  const dir = await tempDir(t);
  const childPidFile = join(dir, 'grandchild.pid');
  const program = await WrappedProgram.create({
    command: 'sh',
    args: ['-c', `trap "" TERM; sleep 1000 & echo $! > ${childPidFile}; wait`],
    stopSignal: 'SIGTERM',
    killTimeoutMs: 200,
    onExit: 'exit',
    restartBackoffMaxMs: 100,
  });
  program.start();
  killAfter(t, program.pid!);
  const grandchild = Number(await waitFor(async () => (await readFile(childPidFile, 'utf8').catch(() => '')).trim() || undefined, { what: 'the grandchild pid' }));
  killAfter(t, grandchild);
  assert.deepEqual(await program.stop(), { code: null, signal: 'SIGKILL' });
  await waitFor(() => !alive(grandchild), { what: 'the grandchild to die with the program' });
});

test('exitCodeOf: the code, or 128+n when signal n ended the program', () => {
  assert.equal(exitCodeOf({ code: 3, signal: null }), 3);
  assert.equal(exitCodeOf({ code: 0, signal: null }), 0);
  assert.equal(exitCodeOf({ code: null, signal: 'SIGTERM' }), 143);
  assert.equal(exitCodeOf({ code: null, signal: 'SIGINT' }), 130);
  assert.equal(exitCodeOf({ code: null, signal: 'SIGKILL' }), 137);
  assert.equal(exitCodeOf({ code: null, signal: 'SIGHUP' }), 129);
});

test("onExit 'exit': the program's own exit settles `exited` with its code, and nothing restarts it", async (t) => {
  const r = await recorder(t, ['--exit=42']);
  r.program.start();
  const pid = await r.ready();
  assert.deepEqual(await r.program.exited, { code: 42, signal: null });
  assert.equal(r.program.pid, undefined);
  r.program.start();
  assert.equal(r.program.pid, undefined, 'start() after the end does nothing');
  assert.ok(!alive(pid));
});

test("filesWritten: the first complete write starts the program; with onExit 'rerun' a changed set starts it again once it has exited; otherwise the caller tells it", async (t) => {
  const r = await recorder(t, ['--exit=3'], { onExit: 'rerun' });
  assert.equal(r.program.decidesExitCode, false, 'a program never started has no say in the exit code');
  assert.equal(r.program.filesWritten(false), true, 'the first write starts it, changed or not');
  const first = await r.ready();
  await waitFor(() => r.program.pid === undefined, { what: 'the program to exit by itself' });
  assert.equal(r.program.decidesExitCode, false, "with 'rerun', a program that is not running has no say in the exit code");
  assert.equal(r.program.filesWritten(false), false, 'an unchanged set does not start it again');
  assert.equal(r.program.pid, undefined);
  assert.equal(r.program.filesWritten(true), true, 'a changed set starts it again');
  assert.notEqual(await r.ready(first), first);
});

test("filesWritten with onExit 'exit': a running program is the caller's to tell", async (t) => {
  const r = await recorder(t);
  assert.equal(r.program.filesWritten(true), true);
  await r.ready();
  assert.equal(r.program.decidesExitCode, true);
  assert.equal(r.program.filesWritten(true), false, 'running: the caller notifies it');
  assert.equal(r.program.filesWritten(false), false);
});

test("onExit 'restart': a crashed program is started again with growing delays; `exited` waits for stop()", async (t) => {
  const log = memoryLog();
  const r = await recorder(t, [], { onExit: 'restart', restartBackoffMaxMs: 1_500 }, log);
  let settled = false;
  void r.program.exited.then(() => (settled = true));
  r.program.start();
  const first = await r.ready();
  process.kill(first, 'SIGKILL');
  const second = await r.ready(first);
  process.kill(second, 'SIGKILL');
  const third = await r.ready(second);
  assert.equal(r.program.pid, third);
  assert.equal(settled, false, 'crashes do not end it');
  const delays = log.entries.filter((e) => e.message === 'restarting the program after a delay').map((e) => (e.object as { delayMs: number }).delayMs);
  // The one Backoff policy: the ceiling doubles up to restartBackoffMaxMs, each delay jittered into [ceiling / 2, ceiling].
  assert.equal(delays.length, 2);
  [1_000, 1_500].forEach((ceiling, i) => assert.ok(delays[i]! >= ceiling / 2 && delays[i]! <= ceiling, `restart ${i + 1}: ${delays[i]} ms is within [${ceiling / 2}, ${ceiling}]`));
  assert.deepEqual(await r.program.stop(), { code: 0, signal: null });
  assert.deepEqual(await r.program.exited, { code: 0, signal: null });
});

test('restart() stops the program and starts a new one', async (t) => {
  const r = await recorder(t);
  r.program.start();
  const first = await r.ready();
  await r.program.restart();
  const second = await r.ready(first);
  assert.equal(r.program.pid, second);
  assert.ok(!alive(first));
});

test('stop() during a restart ends the old program and starts no new one', async (t) => {
  const r = await recorder(t, ['--ignore-term'], { killTimeoutMs: 300 });
  r.program.start();
  const pid = await r.ready();
  const restarting = r.program.restart();
  const status = await r.program.stop();
  await restarting;
  assert.deepEqual(status, { code: null, signal: 'SIGKILL' });
  assert.deepEqual(await r.program.exited, status);
  assert.equal(r.program.pid, undefined);
  assert.equal((await r.lines())[0]?.split(' ')[1], String(pid), 'no second program wrote its ready line');
});

test('a missing or non-executable command is named in the error', async (t) => {
  const spec = { args: [], stopSignal: 'SIGTERM', killTimeoutMs: 100, onExit: 'exit', restartBackoffMaxMs: 100 } as const;
  const start = async (command: string) => (await WrappedProgram.create({ command, ...spec })).start();
  await assert.rejects(start('no-such-program-xyz'), (error: unknown) => error instanceof CommandNotFoundError && /"no-such-program-xyz": not found in PATH/.test(error.message));
  const script = join(await tempDir(t), 'server.sh');
  await writeFile(script, '#!/bin/sh\n', { mode: 0o644 });
  await assert.rejects(start(script), new RegExp(`"${script}": not executable`));
  await assert.rejects(start(`${script}.missing`), /server\.sh\.missing": no such file/);
});

/**
 * A helper stand-in: starts the recorder as a WrappedProgram, writes its pid to `pidFile`, and exits
 * by itself on SIGUSR2 without stopping it.
 */
async function startParent(t: { after(fn: () => unknown): void }, dir: string) {
  const pidFile = join(dir, 'child.pid');
  const record = join(dir, 'record.log');
  const parent = join(dir, 'parent.ts');
  await writeFile(
    parent,
    `import { WrappedProgram } from ${JSON.stringify(new URL('../../src/helper/program/index.ts', import.meta.url).href)};
import { writeFileSync } from 'node:fs';
const program = await WrappedProgram.create({ command: process.execPath, args: [${JSON.stringify(RECORDER)}, ${JSON.stringify(record)}, '--say=hello'], stopSignal: 'SIGTERM', killTimeoutMs: 1000, onExit: 'exit', restartBackoffMaxMs: 100 });
program.start();
writeFileSync(${JSON.stringify(pidFile)}, String(program.pid));
process.on('SIGUSR2', () => process.exit(3));
setInterval(() => {}, 1000);
`,
  );
  const child = spawn(process.execPath, [parent], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RECORDER_MARK: 'inherited-env' } });
  const exited = once(child, 'exit');
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const programPid = Number(await waitFor(async () => (await readFile(pidFile, 'utf8').catch(() => '')) || undefined, { what: 'the program pid' }));
  killAfter(t, programPid);
  const [ready] = await waitFor(async () => ((await lines(record)).length > 0 ? lines(record) : undefined), { what: 'the program to start' });
  return { parent: child, exited, programPid, ready: ready!, output: () => ({ stdout, stderr }) };
}

test("the program inherits the helper's environment and stdio, and dies with the helper even when it is SIGKILLed", async (t) => {
  assert.ok((await parentDeathPrefix()) !== undefined, 'setpriv with --pdeathsig is installed here');
  const h = await startParent(t, await tempDir(t));
  assert.equal(h.ready, `ready ${h.programPid} inherited-env`);
  await waitFor(() => /hello on stdout/.test(h.output().stdout) && /hello on stderr/.test(h.output().stderr), { what: "the program's output on the helper's stdout and stderr" });
  h.parent.kill('SIGKILL');
  await h.exited;
  await waitFor(() => !alive(h.programPid), { what: 'the orphaned program to die', timeoutMs: 5_000 });
});

test('a helper that exits without stopping the program takes it along', async (t) => {
  const h = await startParent(t, await tempDir(t));
  h.parent.kill('SIGUSR2');
  assert.deepEqual(await h.exited, [3, null]);
  await waitFor(() => !alive(h.programPid), { what: 'the program to die with the helper', timeoutMs: 5_000 });
});
