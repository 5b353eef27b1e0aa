// `npm run soak`: the long fault run. Injects each fault many times into real helper processes and
// writes RELIABILITY.md (fault | tries | survived | files lost | recovery time) from what it measured.
// The table is rewritten after each scenario, so an interrupted run still leaves its figures.
import { writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { agentKills, badMessages, helperKills, percentile, rotationsUnderReader, setWorkRoot, socketRemoved, type Cleanup, type FaultRow } from './faults.ts';

const REPORT = new URL('../../RELIABILITY.md', import.meta.url).pathname;
// cert_dir on tmpfs, where Kubernetes emptyDir {medium: Memory} puts it: fsync costs nothing there,
// so 10,000 rotations take minutes, not an hour, and what is measured is the helper, not the disk.
const WORK_ROOT = '/dev/shm';

const scenarios: [string, (c: Cleanup) => Promise<FaultRow>][] = [
  ['agent kills', (c) => agentKills(c, 50)],
  ['socket removed', (c) => socketRemoved(c, 10)],
  ['bad messages', (c) => badMessages(c, 10)],
  ['helper kills', (c) => helperKills(c, 100)],
  ['rotations', (c) => rotationsUnderReader(c, 10_000)],
];

function ms(value: number | undefined): string {
  return value === undefined ? '–' : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

function render(rows: readonly FaultRow[], started: Date, failures: readonly string[]): string {
  const table = rows.map(
    (r) => `| ${r.fault} | ${r.tries} | ${r.survived} | ${r.filesLost} | median ${ms(percentile(r.recoveryMs, 50))}, p95 ${ms(percentile(r.recoveryMs, 95))}, max ${ms(percentile(r.recoveryMs, 100))} |`,
  );
  return `# Reliability

Measured by \`npm run soak\` (test/faults/soak.ts), which injects each fault into real processes: the
spiffe-helper started as users start it, a Workload API test server (in its own process where it is
killed), and a separate reader process. The fast version of the same scenarios runs in \`npm test\`
(test/faults/faults.test.ts).

- **survived**: after the fault the helper was running (or, once restarted, running again) and the
  files came back current.
- **files lost**: times the files were looked at and were not one complete, consistent set: the
  certificate, its key, the bundle that issued it, the JWT-SVID and the JWT bundle all present, and
  (rotations) times the concurrent reader found a file missing or a mismatched set.
- **recovery time**: from the end of the fault (agent or helper started again, good message sent,
  rotation made) to the files being current again. Agent restarts include the helper's reconnect
  backoff (0.5–1 s after one failure).

| fault | tries | survived | files lost | recovery time |
| --- | --- | --- | --- | --- |
${table.join('\n')}

${rows.flatMap((r) => r.notes ?? []).map((note) => `- ${note}`).join('\n')}
${failures.length > 0 ? `\nScenarios that did not finish:\n${failures.map((f) => `- ${f}`).join('\n')}\n` : ''}
Run of ${started.toISOString()} on ${cpus().length} CPUs (Linux ${release()}, Node ${process.version}), shared
with other work (load average above 10 on 2 cores), cert_dir on tmpfs (${WORK_ROOT}).
`;
}

setWorkRoot(WORK_ROOT);
const started = new Date();
const rows: FaultRow[] = [];
const failures: string[] = [];
for (const [name, run] of scenarios) {
  const cleanups: (() => unknown)[] = [];
  const began = Date.now();
  try {
    rows.push(await run({ after: (fn) => void cleanups.push(fn) }));
    process.stdout.write(`${name}: done in ${Math.round((Date.now() - began) / 1000)} s\n`);
  } catch (error) {
    failures.push(`${name}: ${(error as Error).message}`);
    process.stdout.write(`${name}: FAILED: ${(error as Error).message}\n`);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
  await writeFile(REPORT, render(rows, started, failures));
}
process.stdout.write(render(rows, started, failures));
process.exit(failures.length === 0 && rows.every((r) => r.survived === r.tries && r.filesLost === 0) ? 0 : 1);
