import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CommandNotFoundError, WrappedProgram, exitCodeOf, type ProgramSpec } from '../../src/process/index.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';

const RECORDER = new URL('./fixtures/recorder.ts', import.meta.url).pathname;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function recorder(t: { after(fn: () => unknown): void }, flags: string[] = [], overrides: Partial<ProgramSpec> = {}) {
  const file = join(await tempDir(t), 'signals.log');
  const program = new WrappedProgram({
    command: process.execPath,
    args: [RECORDER, file, ...flags],
    stopSignal: 'SIGTERM',
    killTimeoutMs: 5_000,
    onExit: 'exit',
    restartBackoffMaxMs: 1_000,
    ...overrides,
  });
  t.after(async () => {
    const pid = program.pid;
    await program.stop('SIGKILL');
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
  });
  const lines = async (): Promise<string[]> => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const ready = async (): Promise<number> => Number((await waitFor(async () => (await lines())[0], { what: 'the program to start' })).split(' ')[1]);
  return { program, file, lines, ready };
}

test('the program starts with inherited environment, gets signals, and stop forwards SIGTERM and returns its code', async (t) => {
  process.env.RECORDER_MARK = 'inherited';
  const { program, lines, ready } = await recorder(t, ['--term-exit=7']);
  program.start();
  const pid = await ready();
  assert.equal(program.pid, pid, 'setpriv execs, so the pid is the program');
  assert.match((await lines())[0]!, / inherited$/);
  assert.ok(program.signal('SIGHUP'));
  await waitFor(async () => (await lines()).includes('SIGHUP'), { what: 'SIGHUP recorded' });
  const status = await program.stop();
  assert.deepEqual(status, { code: 7, signal: null });
  assert.equal(exitCodeOf(status), 7);
  assert.deepEqual(await program.exited, status);
  assert.ok(!alive(pid));
});

test('a program that ignores SIGTERM is killed after the kill timeout (137)', async (t) => {
  const { program, lines, ready } = await recorder(t, ['--ignore-term'], { killTimeoutMs: 300 });
  program.start();
  await ready();
  const status = await program.stop();
  assert.deepEqual(status, { code: null, signal: 'SIGKILL' });
  assert.equal(exitCodeOf(status), 137);
  assert.ok((await lines()).includes('SIGTERM'));
});

test('exitCodeOf maps signals to 128+n', () => {
  assert.equal(exitCodeOf({ code: null, signal: 'SIGTERM' }), 143);
  assert.equal(exitCodeOf({ code: null, signal: 'SIGINT' }), 130);
  assert.equal(exitCodeOf({ code: 3, signal: null }), 3);
});

test("onExit 'exit': the program's own exit settles `exited` with its code", async (t) => {
  const { program } = await recorder(t, ['--exit=42']);
  program.start();
  assert.deepEqual(await program.exited, { code: 42, signal: null });
  assert.equal(program.pid, undefined);
});

test("onExit 'restart': the program is started again after it exits; restart() gives a new pid", async (t) => {
  const { program, file, ready } = await recorder(t, [], { onExit: 'restart', restartBackoffMaxMs: 100 });
  program.start();
  const first = await ready();
  await writeFile(file, '');
  process.kill(first, 'SIGKILL');
  const second = await ready();
  assert.notEqual(second, first);
  await writeFile(file, '');
  await program.restart();
  const third = await ready();
  assert.notEqual(third, second);
  assert.ok(!alive(second));
});

test('a command that does not exist is named in the error', () => {
  const program = new WrappedProgram({ command: 'no-such-program-xyz', args: [], stopSignal: 'SIGTERM', killTimeoutMs: 100, onExit: 'exit', restartBackoffMaxMs: 100 });
  assert.throws(() => program.start(), (error: unknown) => error instanceof CommandNotFoundError && /"no-such-program-xyz": not found in PATH/.test(error.message));
});

test('the program dies with the helper, even when the helper is SIGKILLed', async (t) => {
  const dir = await tempDir(t);
  const pidFile = join(dir, 'child.pid');
  const parent = join(dir, 'parent.ts');
  await writeFile(
    parent,
    `import { WrappedProgram } from ${JSON.stringify(new URL('../../src/process/index.ts', import.meta.url).href)};
import { writeFileSync } from 'node:fs';
const program = new WrappedProgram({ command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(RECORDER)}, ${JSON.stringify(join(dir, 'log'))}], stopSignal: 'SIGTERM', killTimeoutMs: 1000, onExit: 'exit', restartBackoffMaxMs: 100 });
program.start();
writeFileSync(${JSON.stringify(pidFile)}, String(program.pid));
setInterval(() => {}, 1000);
`,
  );
  const helper = spawn(process.execPath, [parent], { stdio: 'inherit' });
  t.after(() => helper.kill('SIGKILL'));
  const childPid = Number(await waitFor(async () => (await readFile(pidFile, 'utf8').catch(() => '')) || undefined, { what: 'the child pid' }));
  t.after(() => {
    if (alive(childPid)) process.kill(childPid, 'SIGKILL');
  });
  await waitFor(async () => (await readFile(join(dir, 'log'), 'utf8').catch(() => '')).startsWith('ready'), { what: 'the child to start' });
  helper.kill('SIGKILL');
  await waitFor(() => !alive(childPid) || undefined, { what: 'the orphaned program to die', timeoutMs: 5_000 });
});

test('a program that outstays the kill timeout is killed with its own children', async (t) => {
  const dir = await tempDir(t);
  const childPidFile = join(dir, 'grandchild.pid');
  const program = new WrappedProgram({
    command: 'sh',
    args: ['-c', `trap "" TERM; sleep 1000 & echo $! > ${childPidFile}; wait`],
    stopSignal: 'SIGTERM',
    killTimeoutMs: 200,
    onExit: 'exit',
    restartBackoffMaxMs: 100,
  });
  program.start();
  const grandchild = Number(await waitFor(async () => (await readFile(childPidFile, 'utf8').catch(() => '')).trim() || undefined, { what: 'the grandchild pid' }));
  t.after(() => {
    if (alive(grandchild)) process.kill(grandchild, 'SIGKILL');
  });
  assert.deepEqual(await program.stop(), { code: null, signal: 'SIGKILL' });
  await waitFor(() => !alive(grandchild) || undefined, { what: 'the grandchild to die with the program' });
});
