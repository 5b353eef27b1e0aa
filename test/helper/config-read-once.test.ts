// The config is read and checked once per load: the daemon compares later file events with the
// text its config came from, and a reload checks every key as the first load does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../src/helper/config/index.ts';
import { loadDaemon } from '../../src/helper/run/index.ts';
import { nullLogger } from '../../src/helper/log/index.ts';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { server as agent, servedSerial, x509Config } from './support.ts';

test('the config file is read once per load: an edit after the load and before the daemon starts is applied at the next file event', async (t) => {
  const server = await agent(t);
  const dir = await tempDir(t);
  const certDir = join(dir, 'certs');
  const file = join(dir, 'helper.conf');
  await writeFile(file, x509Config(server.address, certDir));
  const config = await loadConfig(file);
  const edited = x509Config(server.address, certDir).replace('svid_file_name = "svid.pem"', 'svid_file_name = "edited.pem"');
  await writeFile(file, edited);
  const Daemon = await loadDaemon();
  const daemon = new Daemon(config, { config: { file }, log: nullLogger });
  t.after(() => daemon.stop());
  await daemon.start();
  await waitFor(() => access(join(certDir, 'svid.pem')).then(() => true, () => false), { what: 'the loaded config to write svid.pem' });
  // Each rewrite with the same text is a file event; the edit must not pass for the running config's text.
  await waitFor(
    async () => {
      await writeFile(file, edited);
      return access(join(certDir, 'edited.pem')).then(() => true, () => false);
    },
    { what: 'the edited config to be applied', timeoutMs: 30_000, intervalMs: 200 },
  );
});

test('a reload with an agent_address in no accepted form is refused with file, line and key; the running config stays', async (t) => {
  const server = await agent(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const helper = await startHelper(t, dir, x509Config(server.address, certs));
  const serial = await waitFor(() => servedSerial(certs), { what: 'the first write' });
  await writeFile(join(dir, 'helper.conf'), x509Config('tcp://localhost:8081', certs));
  await helper.waitForLog((l) =>
    /config file changed; the new config is not applied, the running one stays: .*helper\.conf:1: agent_address: Workload API address "tcp:\/\/localhost:8081": a tcp address needs an IP address/.test(l.msg),
  );
  assert.equal(await servedSerial(certs), serial);
});
