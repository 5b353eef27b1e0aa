import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../support/ports.ts';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { lines, servedSerial, server } from './support.ts';

// The Go helper's MySQL example, in its own HCL: cmd is a reload command, no renew_signal. The Go
// helper runs it after the first write and again after every update (it has exited by then), and
// never exits because it ended.
const goReloadCommandConfig = (agent: string, certs: string, runs: string): string => `# reload command, as in the Go helper's MySQL example
agent_address = "${agent}"
cmd = "/bin/sh"
cmd_args = "-c \\"head -1 ${certs}/svid.pem >> ${runs}\\""
renew_signal = ""
cert_dir = "${certs}"
svid_file_name = "svid.pem"
svid_key_file_name = "svid_key.pem"
svid_bundle_file_name = "svid_bundle.pem"
cert_file_mode = 0644
`;

test("a Go helper config with cmd and no renew_signal runs cmd again at each update, and the helper keeps running", async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const runs = join(dir, 'runs.log');
  const helper = await startHelper(t, dir, goReloadCommandConfig(s.address.replace(/^unix:\/\//, ''), certs, runs));
  // A run that has written its line may not have exited yet: an update then finds it running and
  // (nothing tells it) leaves it be; and a SIGTERM would reach it, giving its code to the helper. So
  // each step waits for the run to exit.
  const ended = (line: { msg: string }): boolean => line.msg.endsWith('; it is started again at the next update');
  await waitFor(async () => (await lines(runs)).length === 1, { what: 'the first run, after the first write' });
  await waitFor(() => servedSerial(certs));
  for (const expected of [2, 3]) {
    await waitFor(() => helper.logs.filter(ended).length === expected - 1, { what: `run ${expected - 1} to exit` });
    await s.rotate();
    await waitFor(async () => (await lines(runs)).length === expected, { what: `run ${expected}, after a rotation` });
  }
  assert.deepEqual(await lines(runs), ['-----BEGIN CERTIFICATE-----', '-----BEGIN CERTIFICATE-----', '-----BEGIN CERTIFICATE-----']);
  await waitFor(() => helper.logs.filter(ended).length === 3, { what: 'the third run to exit' });
  assert.equal(helper.child.exitCode, null, 'the helper is still running although its program exited three times');
  helper.child.kill('SIGTERM');
  assert.equal(await helper.exited(), 0);
});

/** Listening sockets on every IPv4 interface, by port, from the kernel's own table. */
async function listeningOnAllInterfaces(port: number): Promise<boolean> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  const local = `00000000:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  // Columns: sl, local_address, rem_address, st (0A = LISTEN).
  return table.split('\n').some((line) => {
    const [, address, , state] = line.trim().split(/\s+/);
    return address === local && state === '0A';
  });
}

test('a key of ours added to that config (log_format) changes no default: cmd still runs at each update, the listener is on every interface', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const port = await freePort();
  const marker = `rerun-${randomBytes(4).toString('hex')}`;
  const config = `# the Go helper's MySQL example, plus one key of ours
agent_address = "${s.address.replace(/^unix:\/\//, '')}"
cmd = "/bin/echo"
cmd_args = "${marker}"
renew_signal = ""
cert_dir = "${certs}"
svid_file_name = "svid.pem"
svid_key_file_name = "svid_key.pem"
svid_bundle_file_name = "svid_bundle.pem"
log_format = "text"
health_checks {
  listener_enabled = true
  bind_port = ${port}
}
`;
  const helper = await startHelper(t, dir, config);
  const runs = (): number => helper.stdout().split('\n').filter((line) => line === marker).length;
  const exits = (): number => helper.stderr().split('the program exited with code 0; it is started again at the next update').length - 1;
  await waitFor(() => runs() === 1 && exits() === 1, { what: 'the first run, after the first write, to exit' });
  await waitFor(() => listeningOnAllInterfaces(port), { what: `the health listener on 0.0.0.0:${port}` });
  for (const expected of [2, 3]) {
    await s.rotate();
    await waitFor(() => runs() === expected && exits() === expected, { what: `run ${expected}, after a rotation, to exit` });
  }
  assert.equal(helper.child.exitCode, null, 'the helper is still running although its program exited three times');
  assert.match(helper.stderr(), /default: cmd_exit = "rerun": cmd is set and nothing tells it of a rotation/);
  helper.child.kill('SIGTERM');
  assert.equal(await helper.exited(), 0);
});
