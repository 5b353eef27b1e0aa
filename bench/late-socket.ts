// A one-shot run started before the agent's socket exists (an init container beside an agent that is
// still starting): from the moment the socket accepts connections to the files on disk and the exit.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { WorkloadApiTestServer } from '../test/support/workload-api-server.ts';
import { helperEnv, type Contender } from './contenders.ts';
import { median } from './measure.ts';

export interface LateSocketRow {
  readonly name: string;
  readonly runs: number;
  /** Socket listening → the helper exited 0 with its files written, per run. */
  readonly writtenMs: number;
  readonly maxMs: number;
  /** Runs in which the helper gave up (exited) before the socket appeared. */
  readonly gaveUp: number;
}

export async function lateSocketBench(contender: Contender, options: { rounds: number; missingForMs: number }): Promise<LateSocketRow> {
  const times: number[] = [];
  let gaveUp = 0;
  for (let round = 0; round < options.rounds; round++) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-late-'));
    const socketPath = join(dir, 'agent.sock');
    let server: WorkloadApiTestServer | undefined;
    try {
      const { command, args } = await contender.prepare(dir, { socketPath, certDir: join(dir, 'certs'), daemon: false });
      const helper = spawn(command, args, { env: helperEnv, cwd: dir, stdio: 'ignore' });
      const exited = once(helper, 'exit') as Promise<[number | null]>;
      // Long enough for a daemon's backoff to have grown past a few seconds.
      await delay(options.missingForMs);
      if (helper.exitCode !== null) {
        gaveUp++;
        continue;
      }
      server = await WorkloadApiTestServer.start({ socketPath });
      const listening = process.hrtime.bigint();
      const [code] = await exited;
      if (code !== 0) throw new Error(`${contender.name} exited ${code} with the socket there`);
      times.push(Number(process.hrtime.bigint() - listening) / 1e6);
    } finally {
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { name: contender.name, runs: times.length, writtenMs: median(times), maxMs: times.length === 0 ? Number.NaN : Math.max(...times), gaveUp };
}
