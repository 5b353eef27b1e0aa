import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDevWorkloadApi } from '../../src/spiffe/dev/index.ts';
import { HELPER_SOURCE } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);
const RECORDER = new URL('./fixtures/record-modules.ts', import.meta.url).pathname;

/** What a start loads costs time and memory: each kind of run loads only what it uses. */
const HEAVY = {
  'the file watcher': /\/node_modules\/chokidar\//,
  'the process manager': /\/node_modules\/execa\//,
  'the pretty printer': /\/node_modules\/pino-pretty\//,
  'the metrics exposition': /\/node_modules\/prom-client\//,
  'the HCL parser': /\/node_modules\/js-hcl-parser\//,
  // Certificates are read by src/spiffe/svid's DER walker and PKCS#12 is written by src/helper/formats's encoder.
  'an ASN.1 schema library': /\/node_modules\/(@peculiar\/|asn1js\/)/,
  // Workload API messages are read and written by the codec generated at build time (src/spiffe/workload/codec.ts).
  'protobuf reflection': /\/node_modules\/(@grpc\/proto-loader|protobufjs)\//,
  // An ES import of node:http builds its module namespace, which loads undici; grpc-js's require() does not.
  'the HTTP server (and with it undici)': /^import node:http$/,
  // -dev's in-memory CA and Workload API server: loaded only when asked for.
  'the development Workload API': /\/src\/spiffe\/dev\//,
} as const;

function loadedOf(modules: readonly string[]): string[] {
  return Object.entries(HEAVY)
    .filter(([, pattern]) => modules.some((url) => pattern.test(url)))
    .map(([what]) => what);
}

async function recordRun(t: Parameters<typeof tempDir>[0], config: (dir: string, address: string) => string, daemon: boolean, flags: readonly string[] = []): Promise<string[]> {
  const dir = await tempDir(t);
  const server = await startDevWorkloadApi();
  t.after(() => server.close());
  const configFile = join(dir, 'helper.conf');
  await writeFile(configFile, config(dir, server.endpoint));
  const record = join(dir, 'modules.txt');
  const env = { ...process.env, RECORD_MODULES: record };
  const args = ['--import', RECORDER, HELPER_SOURCE, '-config', configFile, ...flags];
  if (!daemon) {
    await run(process.execPath, args, { env });
  } else {
    const child = execFile(process.execPath, args, { env });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    t.after(() => child.kill('SIGKILL'));
    await waitFor(() => readFile(join(dir, 'certs', 'svid.pem')).then(() => true), { what: 'the daemon to write its files', timeoutMs: 60_000 });
    child.kill('SIGTERM');
    await exited;
  }
  return (await readFile(record, 'utf8')).split('\n');
}

const x509 = (dir: string, address: string) =>
  `agent_address = "${address}"\ncert_dir = "${dir}/certs"\nsvid_file_name = "svid.pem"\nsvid_key_file_name = "svid_key.pem"\nsvid_bundle_file_name = "svid_bundle.pem"\n`;

test('a one-shot run loads none of the file watcher, process manager, pretty printer, metrics, HCL parser or HTTP server', async (t) => {
  const modules = await recordRun(t, (dir, address) => `${x509(dir, address)}daemon_mode = false\n`, false);
  assert.ok(modules.some((url) => url.includes('/node_modules/@grpc/grpc-js/')), 'the recorder sees the modules the run loads');
  assert.deepEqual(loadedOf(modules), []);
});

test('-dev loads the development Workload API (and a one-shot run with it nothing else)', async (t) => {
  const modules = await recordRun(t, (dir, address) => `${x509(dir, address)}daemon_mode = false\n`, false, ['-dev']);
  assert.deepEqual(loadedOf(modules), ['the development Workload API']);
});

test('a daemon without cmd, health listener or text logs loads the file watcher, and none of the others', async (t) => {
  const modules = await recordRun(t, x509, true);
  assert.deepEqual(loadedOf(modules), ['the file watcher']);
});

test('a daemon with a cmd loads the process manager', async (t) => {
  const program = `cmd = ${JSON.stringify(process.execPath)}\ncmd_args = "-e setInterval(()=>{},1000)"\n`;
  const modules = await recordRun(t, (dir, address) => `${x509(dir, address)}${program}`, true);
  assert.deepEqual(loadedOf(modules), ['the file watcher', 'the process manager']);
});

test('text logs and a health listener load the pretty printer, the metrics exposition and the HTTP server', async (t) => {
  const modules = await recordRun(t, (dir, address) => `${x509(dir, address)}log_format = "text"\n[health_checks]\nlistener_enabled = true\nbind_port = 0\n`, true);
  assert.deepEqual(loadedOf(modules), ['the file watcher', 'the pretty printer', 'the metrics exposition', 'the HTTP server (and with it undici)']);
});
