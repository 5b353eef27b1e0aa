// The running helper records what happens to it: each event below is caused for real and read back
// from /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { lines, RECORDER, servedSerial, server, toml, x509Config } from '../helper/support.ts';
import { sample } from './support.ts';

test('updates, writes, notifications, program exits, reloads and reconnects are counted', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const signals = join(dir, 'signals.log');
  const config = x509Config(
    s.address,
    certs,
    `cmd = ${toml(process.execPath)}\ncmd_args = ${toml([RECORDER, signals])}\ncmd_exit = "restart"\nrenew_signal = "SIGHUP"\nrenew_debounce = "0s"\n\n[health_checks]\nlistener_enabled = true\nbind_port = 0\n`,
  );
  const helper = await startHelper(t, dir, config);
  const port = (await helper.waitForLog((l) => l.msg === 'health listener started')).port as number;
  const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const until = (what: string, check: (text: string) => boolean) => waitFor(async () => ((text) => check(text) && text)(await scrape()), { what });

  await waitFor(() => servedSerial(certs), { what: 'the first write', timeoutMs: 30_000 });
  // The program has its signal handlers once it says ready.
  await waitFor(async () => (await lines(signals))[0]?.startsWith('ready '), { what: 'the program ready' });
  const first = await servedSerial(certs);
  await s.rotate();
  await waitFor(async () => (await servedSerial(certs)) !== first, { what: 'the rotation on disk' });
  await waitFor(async () => (await lines(signals)).includes('SIGHUP'), { what: 'the program signalled' });
  let text = await until('the signal counted', (m) => sample(m, 'spiffe_helper_notifications_total', 'action="signal",result="ok"') === 1);
  assert.ok(sample(text, 'spiffe_helper_updates_received_total', 'kind="x509_context"')! >= 2);
  assert.ok(sample(text, 'spiffe_helper_file_sets_written_total')! >= 2);
  assert.ok(sample(text, 'spiffe_helper_last_write_timestamp_seconds')! * 1000 > Date.now() - 60_000);

  // The program dies by SIGKILL and is restarted (cmd_exit = "restart").
  const pid = Number((await lines(signals))[0]!.split(' ')[1]);
  process.kill(pid, 'SIGKILL');
  text = await until('the exit and restart counted', (m) => sample(m, 'spiffe_helper_program_exits_total', 'code="137"') === 1 && sample(m, 'spiffe_helper_program_restarts_total') === 1);

  // A broken config is refused and counted; the running one stays.
  await writeFile(join(dir, 'helper.conf'), `${config}\nrenew_splay = "soon"\n`);
  text = await until('the failed reload counted', (m) => sample(m, 'spiffe_helper_config_reloads_total', 'result="failed"') === 1);
  assert.equal(sample(text, 'spiffe_helper_config_reloads_total', 'result="ok"'), 0);

  // The agent goes away and comes back.
  s.dropStreams();
  text = await until('the reconnect counted', (m) => sample(m, 'spiffe_helper_workload_api_reconnects_total')! >= 1 && sample(m, 'spiffe_helper_workload_api_connected') === 1);

  // An update the client refuses is skipped, by reason.
  s.pushRaw({ svids: [{ spiffe_id: 'not a spiffe id', x509_svid: Buffer.from('junk'), x509_svid_key: Buffer.from('junk'), bundle: Buffer.from('junk') }] });
  await until('the invalid update counted', (m) => sample(m, 'spiffe_helper_updates_skipped_total', 'kind="x509_context",reason="invalid_message"') === 1);
});
