// Makes the launcher's V8 code cache at image build time (Dockerfile), by one run of the helper as a
// sidecar runs it: a daemon with its health listener, against the in-repo Workload API test server,
// until its files are written and /ready and /metrics have answered, then stopped by SIGTERM (the
// launcher writes the cache as the helper exits). Run by the image's own node and command line, so
// the cache carries that V8's version and flags.
//
//   node scripts/warm-code-cache.ts <cache dir> <node> [node flags...] <launcher>
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkloadApiTestServer } from '../test/support/workload-api-server.ts';
import { freePort } from '../test/support/ports.ts';
import { waitFor } from '../test/support/wait.ts';

// No top-level await: the image bundles this script as CommonJS.
async function main(cacheDir: string, node: string, command: readonly string[]): Promise<void> {

  const dir = await mkdtemp(join(tmpdir(), 'warm-code-cache-'));
  const server = await WorkloadApiTestServer.start({ socketPath: join(dir, 'agent.sock') });
  try {
    const port = await freePort();
    const config = join(dir, 'helper.conf');
    await writeFile(
      config,
      `agent_address = "${server.address}"\ncert_dir = "${dir}/certs"\nsvid_file_name = "svid.pem"\nsvid_key_file_name = "svid_key.pem"\nsvid_bundle_file_name = "svid_bundle.pem"\n` +
        `[health_checks]\nlistener_enabled = true\nbind_port = ${port}\n`,
    );
    const helper = spawn(node, [...command, '-config', config], { env: { ...process.env, SPIFFE_HELPER_CODE_CACHE: cacheDir }, stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = once(helper, 'exit') as Promise<[number | null]>;
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.status === 200, { what: 'the helper to be ready', timeoutMs: 120_000, intervalMs: 100 });
      await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    } finally {
      helper.kill('SIGTERM');
    }
    const [code] = await exited;
    if (code !== 0) throw new Error(`the helper exited ${code}`);
    const written = await readdir(cacheDir);
    if (written.length !== 1) throw new Error(`expected one cache file in ${cacheDir}, found: ${written.join(', ') || 'none'}`);
    process.stdout.write(`code cache written: ${join(cacheDir, written[0]!)}\n`);
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const [cacheDir, node, ...command] = process.argv.slice(2);
if (cacheDir === undefined || node === undefined || command.length === 0) throw new Error('usage: warm-code-cache <cache dir> <node> [node flags...] <launcher>');
void main(cacheDir, node, command);
