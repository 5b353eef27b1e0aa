// Rotation latency: a new SVID pushed by the test server → the new certificate on disk, and → the
// wrapped program signalled (SIGHUP, no debounce). The program is bench/fixtures/signal-recorder.ts,
// which reports the monotonic time of each SIGHUP over a unix socket; both clocks are CLOCK_MONOTONIC.
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Contender } from './contenders.ts';
import { Harness } from './harness.ts';
import { percentile } from './measure.ts';

const RECORDER = new URL('./fixtures/signal-recorder.ts', import.meta.url).pathname;

export interface LatencyRow {
  readonly name: string;
  readonly rotations: number;
  readonly disk: readonly [number, number, number];
  readonly signal: readonly [number, number, number];
}

export async function latencyBench(contender: Contender, rotations: number): Promise<LatencyRow> {
  const harness = await Harness.start();
  const signals: bigint[] = [];
  let wake: (() => void) | undefined;
  let connected: (socket: Socket) => void;
  const connection = new Promise<Socket>((resolve) => (connected = resolve));
  const listener = createServer((socket) => {
    let partial = '';
    socket.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) signals.push(BigInt(line));
      wake?.();
    });
    connected(socket);
  });
  const socketPath = join(harness.dir, 'recorder.sock');
  listener.listen(socketPath);
  await once(listener, 'listening');
  try {
    await harness.startHelper(contender, { program: { command: process.execPath, args: [RECORDER, socketPath] } });
    const recorder = await connection;
    const disk: number[] = [];
    const signal: number[] = [];
    for (let n = 0; n < rotations; n++) {
      const expected = signals.length + 1;
      const { pushedAt, serial } = await harness.rotate();
      const writtenAt = await harness.onDisk(serial);
      const signalledAt = await nthSignal(expected);
      disk.push(Number(writtenAt - pushedAt) / 1e6);
      signal.push(Number(signalledAt - pushedAt) / 1e6);
    }
    recorder.destroy();
    const figures = (values: number[]) => [percentile(values, 50), percentile(values, 95), percentile(values, 99)] as const;
    return { name: contender.name, rotations, disk: figures(disk), signal: figures(signal) };
  } finally {
    await harness.stop();
    listener.close();
  }

  function nthSignal(n: number): Promise<bigint> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${contender.name} did not signal its program within 10 s`)), 10_000);
      const check = () => {
        if (signals.length < n) return;
        clearTimeout(timer);
        wake = undefined;
        resolve(signals[n - 1]!);
      };
      wake = check;
      check();
    });
  }
}
