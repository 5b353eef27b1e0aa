// The two helpers side by side in one run, each against its own Workload API test server that
// rotates the SVID as fast as the helper writes it: update latency (rotation pushed → new
// certificate on disk), what a concurrent reader sees, and the helper's resident memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkloadApiTestServer } from '../test/support/workload-api-server.ts';
import { waitFor } from '../test/support/wait.ts';

const ROTATIONS = 150;
const GO_HELPER = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'spiffe-helper-test', 'spiffe-helper-go-0.11.0', 'bin', 'spiffe-helper');
// The compiled helper, as the package and the image run it (run.ts builds it first).
const NODE_HELPER = new URL('../dist/cmd/spiffe-helper.js', import.meta.url).pathname;
const READER = new URL('./fixtures/svid-reader.ts', import.meta.url).pathname;

interface Contender {
  readonly name: string;
  start(dir: string, socketPath: string): ChildProcess;
}

const files = (certs: string) => `cert_dir = "${certs}"\nsvid_file_name = "svid.pem"\nsvid_key_file_name = "svid_key.pem"\nsvid_bundle_file_name = "svid_bundle.pem"\n`;

const contenders: Contender[] = [
  {
    name: 'spiffe-helper (Node, this project)',
    start: (dir, socketPath) => {
      const config = join(dir, 'helper.conf');
      writeFileSync(config, `agent_address = "unix://${socketPath}"\n${files(join(dir, 'certs'))}log_level = "warn"\n`);
      return spawn(process.execPath, [NODE_HELPER, '-config', config], { stdio: 'ignore' });
    },
  },
  ...(existsSync(GO_HELPER)
    ? [
        {
          name: 'spiffe-helper v0.11.0 (Go)',
          start: (dir: string, socketPath: string) => {
            const config = join(dir, 'helper.hcl');
            writeFileSync(config, `agent_address = "${socketPath}"\n${files(join(dir, 'certs'))}`);
            mkdirSync(join(dir, 'certs')); // the Go helper does not create cert_dir
            return spawn(GO_HELPER, ['-config', config], { stdio: 'ignore' });
          },
        },
      ]
    : []),
];

async function serialOnDisk(certs: string): Promise<string | undefined> {
  const pem = await readFile(join(certs, 'svid.pem'), 'utf8').catch(() => '');
  try {
    return new X509Certificate(pem).serialNumber;
  } catch {
    return undefined;
  }
}

async function residentMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function run(contender: Contender): Promise<Record<string, string | number>> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-helper-'));
  const certs = join(dir, 'certs');
  const server = await WorkloadApiTestServer.start({ socketPath: join(dir, 'agent.sock') });
  const helper = contender.start(dir, server.socketPath);
  const stop = join(dir, 'stop');
  let reader: ChildProcess | undefined;
  try {
    await waitFor(() => serialOnDisk(certs), { what: `${contender.name} to write`, timeoutMs: 30_000 });
    reader = spawn(process.execPath, [READER, certs, stop], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    reader.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const latencies: number[] = [];
    for (let i = 0; i < ROTATIONS; i++) {
      await server.rotate();
      const expected = new X509Certificate(server.currentSvids[0]!.certificates[0]!).serialNumber;
      const start = performance.now();
      await waitFor(async () => (await serialOnDisk(certs)) === expected, { what: 'the rotation on disk', timeoutMs: 30_000, intervalMs: 1 });
      latencies.push(performance.now() - start);
    }
    const rss = await residentMb(helper.pid!);
    await writeFile(stop, '');
    await new Promise((resolve) => reader!.once('exit', resolve));
    const seen = JSON.parse(output) as Record<string, number>;
    latencies.sort((a, b) => a - b);
    return {
      helper: contender.name,
      'median update ms': latencies[Math.floor(latencies.length / 2)]!.toFixed(1),
      'p95 update ms': latencies[Math.floor(latencies.length * 0.95)]!.toFixed(1),
      'pairs read': seen.pairs!,
      'key≠cert': seen.mismatched!,
      'empty': seen.empty!,
      'partial': seen.unparsable!,
      'RSS MB': rss.toFixed(1),
    };
  } finally {
    reader?.kill('SIGKILL');
    helper.kill('SIGKILL');
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function helpersBench(): Promise<{ rows: Record<string, string | number>[]; note: string }> {
  const rows: Record<string, string | number>[] = [];
  for (const contender of contenders) rows.push(await run(contender));
  const note = existsSync(GO_HELPER) ? '' : `(the Go helper is not built at ${GO_HELPER}: scripts/test-deps.sh builds it when Go is present)`;
  return { rows, note };
}
