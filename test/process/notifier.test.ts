import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Notifier, type NotifierOptions } from '../../src/helper/program/index.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { lines, memoryLog, recorder } from './support.ts';

const NONE = { signal: undefined, pidFile: undefined, program: undefined, command: undefined, commandTimeoutMs: 5_000 } as const;

function notifier(t: { after(fn: () => unknown): void }, options: NotifierOptions): Notifier {
  const n = new Notifier(options);
  t.after(() => n.close());
  return n;
}

async function started(t: { after(fn: () => unknown): void }) {
  const r = await recorder(t);
  r.program.start();
  return { ...r, pid: await r.ready() };
}

/** A reload command that appends "start", takes `seconds`, appends "end". */
function slowCommand(log: string, seconds: number) {
  return { command: 'sh', args: ['-c', `echo start >> ${log}; sleep ${seconds}; echo end >> ${log}`] };
}

test('signal: a burst of notifications gives one signal; separated notifications one each', async (t) => {
  const r = await started(t);
  const n = notifier(t, { ...NONE, action: 'signal', signal: 'SIGHUP', program: r.program, debounceMs: 100 });
  for (let i = 0; i < 10; i++) n.notify();
  await n.idle();
  await waitFor(async () => (await r.count('SIGHUP')) === 1, { what: 'one SIGHUP' });
  n.notify();
  await n.idle();
  n.notify();
  await n.idle();
  await waitFor(async () => (await r.count('SIGHUP')) === 3, { what: 'three SIGHUPs' });
  assert.equal(await r.count('SIGHUP'), 3);
});

test('trailing debounce: notifications spread over more than one window, each within a window of the last, give one action', async (t) => {
  const r = await started(t);
  const n = notifier(t, { ...NONE, action: 'signal', signal: 'SIGHUP', program: r.program, debounceMs: 300 });
  // 8 notifications 60 ms apart: 420 ms from first to last, more than a window; 60 ms between two.
  for (let i = 0; i < 8; i++) {
    n.notify();
    await delay(60);
  }
  await n.idle();
  await waitFor(async () => (await r.count('SIGHUP')) === 1, { what: 'the SIGHUP' });
  assert.equal(await r.count('SIGHUP'), 1);
});

test('notifications that never stop still give an action, at most maxDelayMs after the first', async (t) => {
  const r = await started(t);
  const n = notifier(t, { ...NONE, action: 'signal', signal: 'SIGUSR1', program: r.program, debounceMs: 100, maxDelayMs: 300 });
  const storm = setInterval(() => n.notify(), 10);
  t.after(() => clearInterval(storm));
  await waitFor(async () => (await r.count('SIGUSR1')) >= 1, { what: 'a signal during the storm', timeoutMs: 5_000 });
  clearInterval(storm);
});

test('one action at a time: notifications during an action give exactly one more, after it', async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const n = notifier(t, { ...NONE, action: 'command', command: slowCommand(log, 0.3), debounceMs: 0 });
  n.notify();
  await waitFor(async () => (await lines(log)).includes('start'), { what: 'the first run' });
  n.notify();
  n.notify();
  n.notify();
  await n.idle();
  assert.deepEqual(await lines(log), ['start', 'end', 'start', 'end']);
});

test('a burst that begins during an action and ends after it still gives one action', async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const n = notifier(t, { ...NONE, action: 'command', command: slowCommand(log, 0.2), debounceMs: 1_000 });
  n.notify();
  await waitFor(async () => (await lines(log)).includes('start'), { what: 'the first run' });
  n.notify();
  await waitFor(async () => (await lines(log)).includes('end'), { what: 'the first run to end' });
  n.notify();
  await n.idle();
  assert.deepEqual(await lines(log), ['start', 'end', 'start', 'end']);
});

test('a failed pid-file signal is retried until it succeeds, without signalling the wrapped program again', async (t) => {
  const program = await started(t);
  const target = await started(t);
  const pidFile = join(program.dir, 'late.pid');
  const log = memoryLog();
  const n = notifier(t, { ...NONE, action: 'signal', signal: 'SIGUSR2', program: program.program, pidFile, debounceMs: 0, log, retry: { initialMs: 50, maxMs: 100 } });
  const retries = () => log.entries.filter((e) => e.message.startsWith('telling the program failed; retrying: cannot read pid file'));
  n.notify();
  await waitFor(() => retries().length >= 3, { what: 'three failed attempts' });
  // The one Backoff policy: the ceiling doubles up to maxMs, each delay jittered into [ceiling / 2, ceiling].
  const delays = retries().slice(0, 3).map((e) => (e.object as { retryInMs: number }).retryInMs);
  [50, 100, 100].forEach((ceiling, i) => assert.ok(delays[i]! >= ceiling / 2 && delays[i]! <= ceiling, `retry ${i + 1}: ${delays[i]} ms is within [${ceiling / 2}, ${ceiling}]`));
  await writeFile(pidFile, `${target.pid}\n`);
  await waitFor(async () => (await target.count('SIGUSR2')) === 1, { what: 'the retry to reach the pid-file process' });
  await n.idle();
  assert.equal(await program.count('SIGUSR2'), 1, 'the wrapped program was signalled once, not at every retry');
});

test('a newer notification supersedes a pending retry', async (t) => {
  const target = await started(t);
  const pidFile = join(target.dir, 'server.pid');
  const log = memoryLog();
  const n = notifier(t, { ...NONE, action: 'signal', signal: 'SIGUSR2', pidFile, debounceMs: 0, log, retry: { initialMs: 600_000, maxMs: 600_000 } });
  n.notify();
  await waitFor(() => log.entries.some((e) => /retrying: cannot read pid file/.test(e.message)), { what: 'the first failure' });
  await writeFile(pidFile, `${target.pid}\n`);
  n.notify();
  // idle() would wait for the ten-minute retry if it were still scheduled.
  await n.idle();
  await waitFor(async () => (await target.count('SIGUSR2')) === 1, { what: 'the signal of the newer notification' });
  assert.ok(log.entries.some((e) => e.message === 'a newer change supersedes the pending retry'));
  await rm(pidFile);
});

test('a failing reload command is retried; its error is logged with exit code and stderr', async (t) => {
  const dir = await tempDir(t);
  const flag = join(dir, 'ready');
  const runs = join(dir, 'runs.log');
  const log = memoryLog();
  const command = { command: 'sh', args: ['-c', `test -e ${flag} || { echo 'server not up' >&2; exit 2; }; echo ran >> ${runs}`] };
  const n = notifier(t, { ...NONE, action: 'command', command, debounceMs: 0, log, retry: { initialMs: 50, maxMs: 50 } });
  n.notify();
  await waitFor(() => log.entries.some((e) => e.level === 'warn' && /exited with code 2: server not up$/.test(e.message)), { what: 'a logged failure' });
  await writeFile(flag, '');
  await n.idle();
  assert.deepEqual(await lines(runs), ['ran']);
});

test('restart: the program gets a new pid', async (t) => {
  const r = await started(t);
  const n = notifier(t, { ...NONE, action: 'restart', program: r.program, debounceMs: 0 });
  n.notify();
  await n.idle();
  const second = await r.ready(r.pid);
  assert.equal(r.program.pid, second);
});

test('close() drops a pending burst and waits for the running action; none does nothing', async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const pending = notifier(t, { ...NONE, action: 'command', command: slowCommand(log, 0), debounceMs: 200 });
  pending.notify();
  await pending.close();
  pending.notify();
  await pending.idle();
  assert.deepEqual(await lines(log), [], 'nothing ran');
  const running = notifier(t, { ...NONE, action: 'command', command: slowCommand(log, 0.2), debounceMs: 0 });
  running.notify();
  await waitFor(async () => (await lines(log)).includes('start'), { what: 'the run to start' });
  await running.close();
  assert.deepEqual(await lines(log), ['start', 'end'], 'close() resolved after the run');
  const none = notifier(t, { ...NONE, action: 'none', debounceMs: 0 });
  none.notify();
  await none.idle();
});

/** The splay each notifier chose, from its log. */
function splays(log: ReturnType<typeof memoryLog>): number[] {
  return log.entries.flatMap((e) => ('splayMs' in e.object ? [e.object.splayMs as number] : []));
}

test('renew_splay: the action waits a random time within the bound; notifications meanwhile join it', async (t) => {
  const file = join(await tempDir(t), 'runs.log');
  const log = memoryLog();
  const n = notifier(t, { ...NONE, action: 'command', command: { command: 'sh', args: ['-c', `echo run >> ${file}`] }, debounceMs: 0, splayMs: 400, random: () => 0.5, log });
  n.notify();
  assert.deepEqual(splays(log), [200], 'half of the 0..400 ms range');
  n.notify();
  n.notify();
  await n.idle();
  assert.deepEqual(await lines(file), ['run'], 'one action for the notifications before and during the splay');
  assert.deepEqual(splays(log), [200], 'notifications during the splay start no second wait');
  n.notify();
  await n.idle();
  assert.deepEqual(await lines(file), ['run', 'run']);
  assert.equal(splays(log).length, 2, 'each new burst is splayed again');
});

test('renew_splay: delays spread over [0, bound], never beyond', async (t) => {
  const chosen: number[] = [];
  for (const random of [() => 0, () => 0.999_999, Math.random, Math.random, Math.random, Math.random]) {
    const log = memoryLog();
    const n = notifier(t, { ...NONE, action: 'command', command: { command: 'true', args: [] }, debounceMs: 0, splayMs: 60_000, random, log });
    n.notify();
    chosen.push(...splays(log));
    await n.close();
  }
  assert.equal(chosen[0], 0);
  assert.equal(chosen[1], 60_000, 'the bound itself is reachable');
  assert.ok(chosen.every((ms) => Number.isInteger(ms) && ms >= 0 && ms <= 60_000), String(chosen));
  assert.ok(new Set(chosen.slice(2)).size > 1, `replicas pick different delays: ${chosen.slice(2)}`);
});

test('renew_splay: close() during the wait drops the action', async (t) => {
  const file = join(await tempDir(t), 'runs.log');
  const n = notifier(t, { ...NONE, action: 'command', command: { command: 'sh', args: ['-c', `echo run >> ${file}`] }, debounceMs: 0, splayMs: 60_000 });
  n.notify();
  await n.close();
  assert.deepEqual(await lines(file), []);
});
