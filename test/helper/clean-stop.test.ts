import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startHelper, type HelperProcess } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { server, toml, x509Config } from './support.ts';

// A stop the helper is asked for (systemctl stop: SIGTERM; Ctrl-C: SIGINT) is forwarded to the
// program. When the program ends of it, the stop went as asked: the helper exits 0, which systemd,
// Kubernetes and docker all record as a clean stop. A program that chose its own code passes it on.

/** A shell that traps `signal`, says it is ready (the trap is set) and exits with `code` when it comes. */
const trapping = (ready: string, signal: string, code: number): string =>
  `cmd = "/bin/sh"\ncmd_args = ${toml(['-c', `trap 'exit ${code}' ${signal}; echo ready > ${ready}; while :; do sleep 0.1; done`])}\nrenew_signal = "SIGHUP"`;

async function started(t: Parameters<typeof tempDir>[0], program: (dir: string) => string): Promise<{ helper: HelperProcess; dir: string }> {
  const s = await server(t);
  const dir = await tempDir(t);
  const helper = await startHelper(t, dir, x509Config(s.address, join(dir, 'certs'), program(dir)));
  await helper.waitForLog((line) => line.msg === 'program started');
  return { helper, dir };
}

const ready = (dir: string) => waitFor(async () => (await readFile(join(dir, 'ready'), 'utf8').catch(() => '')) === 'ready\n', { what: "the program's trap to be set" });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to the helper: a program that dies of it (sleep) is a clean stop, exit 0`, async (t) => {
    const { helper } = await started(t, () => 'cmd = "/bin/sleep"\ncmd_args = "600"\nrenew_signal = "SIGHUP"');
    helper.child.kill(signal);
    assert.equal(await helper.exited(), 0);
    assert.equal(helper.child.signalCode, null, 'the helper exits, it is not killed');
    const ended = helper.logs.find((line) => line.msg.startsWith('the program killed by'));
    assert.equal(ended?.signal, signal, 'the program died of the forwarded signal');
  });
}

test('a program that traps SIGTERM and exits 3 passes its code on', async (t) => {
  const { helper, dir } = await started(t, (d) => trapping(join(d, 'ready'), 'TERM', 3));
  await ready(dir);
  helper.child.kill('SIGTERM');
  assert.equal(await helper.exited(), 3);
});

test('a program that exits 128+n for the forwarded signal n (the JVM: 143 for SIGTERM) stopped as asked too', async (t) => {
  const { helper, dir } = await started(t, (d) => trapping(join(d, 'ready'), 'TERM', 143));
  await ready(dir);
  helper.child.kill('SIGTERM');
  assert.equal(await helper.exited(), 0);
});

test('a program killed by SIGTERM that the helper did not send is no clean stop: the helper exits 143', async (t) => {
  const { helper } = await started(t, () => 'cmd = "/bin/sleep"\ncmd_args = "600"\nrenew_signal = "SIGHUP"');
  const pid = helper.logs.find((line) => line.msg === 'program started')!.pid as number;
  process.kill(pid, 'SIGTERM');
  assert.equal(await helper.exited(), 143);
});
