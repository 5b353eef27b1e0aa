// The daemon at rest and under load: idle RSS after 10 s, CPU ticks over the next 20 s, then RSS
// sampled across many rotations pushed back to back (each waits for the helper to write the last),
// while a reader checks every certificate/key pair it reads from the files.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Contender } from './contenders.ts';
import { Harness } from './harness.ts';
import { cpuTicks, residentMb, slope } from './measure.ts';

const READER = new URL('./fixtures/svid-reader.ts', import.meta.url).pathname;

export interface DaemonOptions {
  readonly idleRssAfterMs: number;
  readonly idleCpuOverMs: number;
  readonly rotations: number;
}

export interface DaemonRow {
  readonly name: string;
  readonly idleRssMb: number;
  readonly idleCpuTicks: number;
  readonly rssStartMb: number;
  readonly rssPeakMb: number;
  readonly rssEndMb: number;
  /** MB per 1,000 rotations over the second half of the run (past warm-up). */
  readonly rssSlope: number;
  readonly pairsRead: number;
  readonly mismatched: number;
  readonly empty: number;
  readonly partial: number;
}

export async function daemonBench(contender: Contender, options: DaemonOptions): Promise<DaemonRow> {
  const harness = await Harness.start();
  try {
    await harness.startHelper(contender);
    const pid = harness.pid;
    await delay(options.idleRssAfterMs);
    const idleRssMb = await residentMb(pid);
    const ticksBefore = await cpuTicks(pid);
    await delay(options.idleCpuOverMs);
    const idleCpuTicks = (await cpuTicks(pid)) - ticksBefore;

    const stop = join(harness.dir, 'stop');
    const reader = spawn(process.execPath, [READER, harness.certDir, stop], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    reader.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const readerDone = new Promise((resolve) => reader.once('exit', resolve));
    const every = Math.max(1, Math.floor(options.rotations / 50));
    const samples: [number, number][] = [[0, await residentMb(pid)]];
    try {
      for (let n = 1; n <= options.rotations; n++) {
        const { serial } = await harness.rotate();
        await harness.onDisk(serial);
        if (n % every === 0 || n === options.rotations) samples.push([n, await residentMb(pid)]);
      }
    } finally {
      await writeFile(stop, '');
      await readerDone;
    }
    const seen = JSON.parse(output) as { pairs: number; mismatched: number; empty: number; unparsable: number };
    const secondHalf = samples.filter(([n]) => n >= options.rotations / 2);
    return {
      name: contender.name,
      idleRssMb,
      idleCpuTicks,
      rssStartMb: samples[0]![1],
      rssPeakMb: Math.max(...samples.map(([, mb]) => mb)),
      rssEndMb: samples.at(-1)![1],
      rssSlope: slope(secondHalf) * 1000,
      pairsRead: seen.pairs,
      mismatched: seen.mismatched,
      empty: seen.empty,
      partial: seen.unparsable,
    };
  } finally {
    await harness.stop();
  }
}
