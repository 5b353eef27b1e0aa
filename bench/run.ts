// npm run bench: every benchmark, the helpers side by side in one run, as tables on the terminal and
// (with --record <label>) in BENCHMARKS.md. Numbers compare the rows of one run on one machine;
// nothing here is a pass/fail threshold.
//
//   node bench/run.ts [--record <label>] [--only oneshot,latesocket,daemon,listener,bigbundle,latency,writer,mtls] [--smoke] [--no-build]
//
// --smoke runs every part once with tiny counts (npm test does, so the bench keeps working);
// --no-build runs the package as already built.
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { atomicWriteBench } from './atomic-write.ts';
import { listenerAtRestBench, type AtRestRow } from './at-rest.ts';
import { bigBundleBench, type BigBundleRow } from './big-bundle.ts';
import { GO_HELPER, contenders } from './contenders.ts';
import { daemonBench, type DaemonRow } from './daemon.ts';
import { latencyBench, type LatencyRow } from './latency.ts';
import { mtlsBench } from './mtls.ts';
import { lateSocketBench, type LateSocketRow } from './late-socket.ts';
import { FLOOR, oneShotBench } from './oneshot.ts';
import { machine, markdownTable, printTable, ratio, recordRun, type Table } from './report.ts';

const PARTS = ['oneshot', 'latesocket', 'daemon', 'listener', 'bigbundle', 'latency', 'writer', 'mtls'] as const;
const ROOT = new URL('..', import.meta.url).pathname;

const { values } = parseArgs({
  options: { smoke: { type: 'boolean', default: false }, record: { type: 'string' }, only: { type: 'string' }, 'no-build': { type: 'boolean', default: false } },
});
const parts = new Set(values.only?.split(',') ?? PARTS);
for (const part of parts) if (!(PARTS as readonly string[]).includes(part)) throw new Error(`--only: unknown part ${part} (${PARTS.join(', ')})`);
const smoke = values.smoke;
const counts = smoke
  ? { rounds: 1, idleRssAfterMs: 200, idleCpuOverMs: 200, rotations: 2, latencyRotations: 2, writes: 2, connections: 2, chains: 2, probes: 1, cas: 20, lateRounds: 1, missingForMs: 500 }
  : { rounds: 12, idleRssAfterMs: 10_000, idleCpuOverMs: 20_000, rotations: 10_000, latencyRotations: 300, writes: 400, connections: 200, chains: 2000, probes: 20, cas: 5000, lateRounds: 5, missingForMs: 8_000 };

// The package as npm publishes it: what `bin` and the image run.
if (!values['no-build']) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
const header = machine(GO_HELPER);
console.log(`spiffe-helper benchmarks${smoke ? ' (smoke: one iteration, figures meaningless)' : ''}\n${header.join('\n')}`);
const { list, note } = contenders();
const tables: Table[] = [];
const show = (table: Table) => {
  printTable(table);
  tables.push(table);
};

if (parts.has('oneshot')) {
  const { rows, notes } = await oneShotBench(counts.rounds);
  const floor = rows.find((r) => r.name === FLOOR);
  const [node, cold] = rows.filter((r) => r.name.startsWith('spiffe-helper (Node'));
  const go = rows.find((r) => r.name.includes('(Go)'));
  const ratios = (label: string, a: (typeof rows)[number] | undefined, b: (typeof rows)[number] | undefined) =>
    a !== undefined && b !== undefined ? [[label, ratio(a.wallMs, b.wallMs), ratio(a.cpuMs, b.cpuMs), ratio(a.peakRssMiB, b.peakRssMiB)]] : [];
  show({
    title: `One-shot fetch from a real SPIRE agent: process start → files written → exit (${rows[0]?.runs ?? 0} alternating runs each, after a warm-up)`,
    columns: ['', 'wall ms (median)', 'CPU ms (mean)', 'peak RSS MiB (median)'],
    rows: [
      ...rows.map((r) => [r.name, r.wallMs, r.cpuMs, r.peakRssMiB]),
      ...ratios('ratio Node ÷ Go', node, go),
      ...ratios('ratio Node ÷ floor', node, floor),
      ...ratios('ratio Node, cold cache ÷ floor', cold, floor),
    ],
    notes: ['CPU = user + system of the process (GNU time); wall includes exec\'ing GNU time (~1 ms, every row alike).', ...notes],
  });
}

if (parts.has('latesocket')) {
  const rows: LateSocketRow[] = [];
  for (const contender of list) rows.push(await lateSocketBench(contender, { rounds: counts.lateRounds, missingForMs: counts.missingForMs }));
  show({
    title: `One-shot started ${counts.missingForMs / 1000} s before the agent's socket exists: socket listening → files written and exit (${counts.lateRounds} runs each)`,
    columns: ['', 'ms (median)', 'ms (max)', 'gave up before the socket came'],
    rows: rows.map((r) => [r.name, r.writtenMs, r.maxMs, r.gaveUp]),
    notes: ['the Workload API test server is started on the configured socket path while the helper retries.', ...(note === '' ? [] : [note])],
  });
}

if (parts.has('daemon')) {
  const rows: DaemonRow[] = [];
  for (const contender of list) rows.push(await daemonBench(contender, counts));
  const [node, go] = rows;
  show({
    title: `Daemon: idle, then ${counts.rotations} rotations pushed back to back by the Workload API test server, a reader checking every pair`,
    columns: ['', 'idle RSS MB', 'idle CPU ticks', 'RSS start', 'RSS peak', 'RSS end', 'slope MB/1k rot.', 'pairs read', 'key≠cert', 'empty', 'partial'],
    rows: [
      ...rows.map((r) => [r.name, r.idleRssMb, r.idleCpuTicks, r.rssStartMb, r.rssPeakMb, r.rssEndMb, r.rssSlope.toFixed(2), r.pairsRead, r.mismatched, r.empty, r.partial]),
      ...(node !== undefined && go !== undefined
        ? [['ratio Node ÷ Go', ratio(node.idleRssMb, go.idleRssMb), '', ratio(node.rssStartMb, go.rssStartMb), ratio(node.rssPeakMb, go.rssPeakMb), ratio(node.rssEndMb, go.rssEndMb), '', '', '', '', '']]
        : []),
    ],
    notes: [
      `idle RSS after ${counts.idleRssAfterMs / 1000} s; idle CPU ticks (1/100 s) over the next ${counts.idleCpuOverMs / 1000} s; RSS in MB (10^6 bytes).`,
      'slope: least squares over the second half of the run (flat = no leak). key≠cert: a key read beside a certificate it does not match; partial: a file that does not parse.',
      ...(note === '' ? [] : [note]),
    ],
  });
}

if (parts.has('listener')) {
  const rows: AtRestRow[] = [];
  for (const contender of list) rows.push(await listenerAtRestBench(contender, { probes: counts.probes, idleRssAfterMs: counts.idleRssAfterMs }));
  const [node, go] = rows;
  show({
    title: 'Daemon at rest with its health listener, probed on /ready and /metrics (as a Kubernetes sidecar runs it)',
    columns: ['', 'probes', 'RSS MB'],
    rows: [...rows.map((r) => [r.name, r.probes, r.rssMb]), ...(node !== undefined && go !== undefined ? [['ratio Node ÷ Go', '', ratio(node.rssMb, go.rssMb)]] : [])],
    notes: [`RSS ${counts.idleRssAfterMs / 1000} s after the probes; the Go helper has no /metrics (404).`, ...(note === '' ? [] : [note])],
  });
}

if (parts.has('bigbundle')) {
  const rows: BigBundleRow[] = [];
  for (const contender of list) rows.push(await bigBundleBench(contender, { cas: counts.cas, settleMs: counts.idleRssAfterMs }));
  show({
    title: `Daemon: one update with a ${counts.cas}-CA trust bundle, then a normal one again (RSS MB)`,
    columns: ['', 'at rest', 'with the big bundle', 'after it is replaced', 'after − at rest'],
    rows: rows.map((r) => [r.name, r.beforeMb, r.withBigMb, r.afterMb, r.afterMb - r.beforeMb]),
    notes: [`each figure ${counts.idleRssAfterMs / 1000} s after the write.`, ...(note === '' ? [] : [note])],
  });
}

if (parts.has('latency')) {
  const rows: LatencyRow[] = [];
  for (const contender of list) rows.push(await latencyBench(contender, counts.latencyRotations));
  const [node, go] = rows;
  show({
    title: `Rotation latency over ${counts.latencyRotations} rotations (ms): pushed → new certificate on disk, pushed → program signalled (SIGHUP, no debounce)`,
    columns: ['', 'disk p50', 'disk p95', 'disk p99', 'signal p50', 'signal p95', 'signal p99'],
    rows: [
      ...rows.map((r) => [r.name, ...r.disk.map((v) => v.toFixed(2)), ...r.signal.map((v) => v.toFixed(2))]),
      ...(node !== undefined && go !== undefined ? [['ratio Node ÷ Go', ...[0, 1, 2].map((i) => ratio(node.disk[i], go.disk[i])), ...[0, 1, 2].map((i) => ratio(node.signal[i], go.signal[i]))]] : []),
    ],
    notes: ['on disk = the cert dir event after which svid.pem holds the new certificate; signalled = the program\'s own clock at SIGHUP.', ...(note === '' ? [] : [note])],
  });
}

if (parts.has('writer')) {
  const rows = await atomicWriteBench(counts.writes);
  show({
    title: `Writing a 3-file set ${counts.writes} times while another process reads it in a tight loop`,
    columns: ['', 'ms per update', 'reads', 'torn', 'empty', 'missing'],
    rows: rows.map((r) => [r.name, r.msPerUpdate, r.reads, r.torn, r.empty, r.missing]),
    notes: ['torn = certificate and key from different updates or a partial file; empty = a zero-length read.'],
  });
}

if (parts.has('mtls')) {
  show({
    title: 'The library: mTLS by SPIFFE ID (createHttpsServer + tlsClientOptions) beside the same handshake checked by OpenSSL alone',
    columns: ['', 'count', 'ms each'],
    rows: (await mtlsBench(counts)).map((r) => [r.what, r.count, r.ms]),
    notes: ['new connections one at a time (no keep-alive, no resumption); a peer chain first seen costs one DER walk of its extensions, later ones are cached.'],
  });
}

if (values.record !== undefined && !smoke) {
  await recordRun(`${ROOT}BENCHMARKS.md`, values.record, [header.join('\n'), ...tables.map(markdownTable)].join('\n\n'));
  console.log(`\nrecorded in BENCHMARKS.md as "${values.record}"`);
}
