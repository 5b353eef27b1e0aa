// The daemon at rest as a Kubernetes sidecar runs it: its health listener on, probed on /ready (and
// /metrics, where the helper has it) before resident memory is read.
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../test/support/ports.ts';
import type { Contender } from './contenders.ts';
import { Harness } from './harness.ts';
import { residentMb } from './measure.ts';

export interface AtRestRow {
  readonly name: string;
  readonly probes: number;
  readonly rssMb: number;
}

export async function listenerAtRestBench(contender: Contender, options: { probes: number; idleRssAfterMs: number }): Promise<AtRestRow> {
  const harness = await Harness.start();
  try {
    const port = await freePort();
    await harness.startHelper(contender, { healthPort: port });
    let probes = 0;
    for (let i = 0; i < options.probes; i++) {
      for (const path of ['/ready', '/metrics']) {
        const response = await fetch(`http://127.0.0.1:${port}${path}`);
        await response.arrayBuffer();
        if (path === '/ready' && response.status !== 200) throw new Error(`${contender.name}: /ready answered ${response.status}`);
        probes++;
      }
    }
    await delay(options.idleRssAfterMs);
    return { name: contender.name, probes, rssMb: await residentMb(harness.pid) };
  } finally {
    await harness.stop();
  }
}
