import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
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
  await waitFor(async () => (await lines(runs)).length === 1, { what: 'the first run, after the first write' });
  await waitFor(() => servedSerial(certs));
  for (const expected of [2, 3]) {
    await s.rotate();
    await waitFor(async () => (await lines(runs)).length === expected, { what: `run ${expected}, after a rotation` });
  }
  assert.deepEqual(await lines(runs), ['-----BEGIN CERTIFICATE-----', '-----BEGIN CERTIFICATE-----', '-----BEGIN CERTIFICATE-----']);
  // The third run has written its line but may not have exited yet: a SIGTERM now would reach it, and
  // a run interrupted by the stop gives its code to the helper. Stop once it is idle.
  const ended = (line: { msg: string }): boolean => line.msg.endsWith('it is started again at the next update');
  await waitFor(() => helper.logs.filter(ended).length === 3, { what: 'the third run to exit' });
  assert.equal(helper.child.exitCode, null, 'the helper is still running although its program exited three times');
  helper.child.kill('SIGTERM');
  assert.equal(await helper.exited(), 0);
});
