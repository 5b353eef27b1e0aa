// The daemon runs the config it was given and compares later file events with the text that
// config came from: an edit made between loading the config and starting the daemon is a change.
import { test } from 'node:test';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../src/helper/config/index.ts';
import { loadDaemon } from '../../src/helper/run/index.ts';
import { nullLogger } from '../../src/helper/log/index.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { server as agent, x509Config } from './support.ts';

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
