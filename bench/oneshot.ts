// One-shot fetch against a real SPIRE agent (the test fixture's server and agent, an X.509 entry for
// this uid): process start → files written → exit, for each helper (this one with its code cache warm
// and cold), for an empty Node process and for the floor of a gRPC client,
// alternating run by run after a warm-up so that drift on a shared machine hits every row alike.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSpire, spireUnavailable } from '../test/support/spire.ts';
import { contenders, helperEnv, type Contender } from './contenders.ts';
import { mean, median, timedRun, type RunFigures } from './measure.ts';

export interface OneShotRow {
  readonly name: string;
  readonly runs: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly peakRssMiB: number;
}

export interface OneShotResult {
  readonly rows: OneShotRow[];
  readonly notes: string[];
}

interface Entrant {
  readonly name: string;
  run(round: number): Promise<RunFigures>;
}

export async function oneShotBench(rounds: number): Promise<OneShotResult> {
  const skip = spireUnavailable();
  if (skip !== undefined) return { rows: [], notes: [`One-shot not measured: ${skip}.`] };
  const cleanups: (() => unknown)[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'bench-oneshot-'));
  try {
    const spire = await startSpire({ after: (fn) => cleanups.push(fn) }, { logLevel: 'WARN' });
    const spiffeId = `spiffe://${spire.trustDomain}/bench`;
    await spire.createEntry({ spiffeId, x509TtlSeconds: 3600 });
    await spire.waitForSvid(spiffeId);
    const { list, note } = contenders();
    const [node, ...others] = list;
    const warmCache = join(dir, 'code-cache');
    const entrants: Entrant[] = [
      { name: 'node -e 0 (an empty Node process)', run: () => timedRun(process.execPath, ['-e', '0']) },
      { name: FLOOR, run: () => timedRun(process.execPath, ['-e', "require('http2');require('tls');require('crypto');require('net')"]) },
      // The code cache warmed by round 0, as on a machine that has run the helper before or in the image.
      entrant(node!, dir, spire.agentSocket, () => warmCache),
      // An empty cache every run, as a new container sees without the image's: the run also writes it.
      entrant({ ...node!, name: `${node!.name}, cold code cache` }, dir, spire.agentSocket, (runDir) => join(runDir, 'code-cache')),
      ...others.map((contender) => entrant(contender, dir, spire.agentSocket)),
    ];
    const figures = new Map<string, RunFigures[]>(entrants.map((e) => [e.name, []]));
    for (let round = 0; round <= rounds; round++) {
      for (const e of entrants) {
        const result = await e.run(round);
        if (result.code !== 0) throw new Error(`${e.name} failed (exit ${result.code}): ${result.stderr.trim()}`);
        if (round > 0) figures.get(e.name)!.push(result); // round 0 warms the page cache and the agent
      }
    }
    const rows = entrants.map(({ name }) => {
      const runs = figures.get(name)!;
      return {
        name,
        runs: runs.length,
        wallMs: median(runs.map((r) => r.wallMs)),
        cpuMs: mean(runs.map((r) => r.cpuMs)),
        peakRssMiB: median(runs.map((r) => r.peakRssMiB)),
      };
    });
    return { rows, notes: note === '' ? [] : [note] };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The floor of any gRPC client in Node: the builtins grpc-js needs, loaded by an otherwise empty process. */
export const FLOOR = 'node loading http2, tls, crypto, net (the floor)';

function entrant(contender: Contender, dir: string, socketPath: string, codeCache?: (runDir: string) => string): Entrant {
  return {
    name: contender.name,
    async run(round) {
      const runDir = await mkdtemp(join(dir, `run-${round}-`));
      const certDir = join(runDir, 'certs');
      const { command, args } = await contender.prepare(runDir, { socketPath, certDir, daemon: false });
      const env = codeCache === undefined ? helperEnv : { ...helperEnv, SPIFFE_HELPER_CODE_CACHE: codeCache(runDir) };
      const result = await timedRun(command, args, { env, cwd: runDir });
      const written: string[] = await readdir(certDir).catch(() => []);
      if (result.code === 0 && !written.includes('svid.pem')) throw new Error(`${contender.name} exited 0 without writing svid.pem`);
      await rm(runDir, { recursive: true, force: true });
      return result;
    },
  };
}
