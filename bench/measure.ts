// Measuring other processes: wall time, CPU and peak RSS of a run (GNU time's rusage), resident
// memory and CPU ticks of a live process (/proc), and the order statistics the tables print.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** GNU time (Debian's `time` package, installed by scripts/test-deps.sh) reports a child's rusage. */
export const GNU_TIME = '/usr/bin/time';

export interface RunFigures {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly peakRssMiB: number;
  readonly code: number;
  readonly stderr: string;
}

/**
 * Runs `command` to its end under GNU time. Wall time is taken here (spawn → exit, so it includes
 * exec'ing GNU time, about a millisecond, the same for every row); CPU (user + system) and peak RSS
 * are the child's own rusage, as GNU time reports them.
 */
export async function timedRun(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunFigures> {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} not found: install Debian's "time" package (scripts/test-deps.sh does)`);
  const dir = await mkdtemp(join(tmpdir(), 'bench-time-'));
  try {
    const report = join(dir, 'rusage');
    const start = process.hrtime.bigint();
    const child = spawn(GNU_TIME, ['-o', report, '-f', '%U %S %M', command, ...args], { ...options, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
    const lines = (await readFile(report, 'utf8')).trim().split('\n');
    const [user, system, maxRssKb] = lines.at(-1)!.split(' ').map(Number) as [number, number, number];
    return { wallMs, cpuMs: (user + system) * 1000, peakRssMiB: maxRssKb / 1024, code: code ?? -1, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Resident set size of a live process, in MB (10^6 bytes, as `ps` and container limits count). */
export async function residentMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return (Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024) / 1e6;
}

/** CPU time a live process has used (user + system), in clock ticks (1/100 s on Linux). */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Least-squares slope of y over x. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const mx = mean(points.map(([x]) => x));
  const my = mean(points.map(([, y]) => y));
  const num = points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0);
  const den = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}
