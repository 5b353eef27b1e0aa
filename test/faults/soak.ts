// `npm run soak`: the long fault run. Injects each fault many times into real helper processes and
// writes RELIABILITY.md (fault | tries | survived | files lost | recovery time) from what it measured.
// The table is rewritten after each scenario, so an interrupted run still leaves its figures.
// `npm run soak -- helper-kills rotations` runs only the scenarios named and keeps the other rows;
// `npm run soak -- render` writes the report again from the rows it holds.
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { agentKills, badMessages, helperKills, percentile, rotationsUnderReader, setWorkRoot, socketRemoved, type Cleanup, type FaultRow } from './faults.ts';

const REPORT = new URL('../../RELIABILITY.md', import.meta.url).pathname;
// cert_dir on tmpfs, where Kubernetes emptyDir {medium: Memory} puts it: fsync costs nothing there,
// so 10,000 rotations take minutes, not an hour, and what is measured is the helper, not the disk.
const WORK_ROOT = '/dev/shm';

const SCENARIOS: [string, (c: Cleanup) => Promise<FaultRow>][] = [
  ['agent-kills', (c) => agentKills(c, 50)],
  ['socket-removed', (c) => socketRemoved(c, 10)],
  ['bad-messages', (c) => badMessages(c, 10)],
  ['helper-kills', (c) => helperKills(c, 100)],
  ['rotations', (c) => rotationsUnderReader(c, 10_000)],
];

function ms(value: number | undefined): string {
  return value === undefined ? '–' : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

/** One scenario's figures as the report shows them, kept in the report so a partial run keeps the others. */
interface ReportRow {
  readonly scenario: string;
  readonly line: string;
  readonly notes: readonly string[];
  readonly run: string;
}

const ROWS_MARK = /<!-- rows: (.*) -->/;

function reportRow(scenario: string, r: FaultRow, run: Date): ReportRow {
  const recovery = `median ${ms(percentile(r.recoveryMs, 50))}, p95 ${ms(percentile(r.recoveryMs, 95))}, max ${ms(percentile(r.recoveryMs, 100))}`;
  const problems = (r.problems ?? []).map((p) => `${scenario}: ${p}`);
  return { scenario, line: `| ${r.fault} | ${r.tries} | ${r.survived} | ${r.filesLost} | ${recovery} |`, notes: [...(r.notes ?? []), ...problems], run: run.toISOString() };
}

function render(rows: readonly ReportRow[], failures: readonly string[]): string {
  const table = rows.map((r) => r.line);
  const runs = [...new Set(rows.map((r) => r.run))].join(', ');
  return `# Reliability

Measured by \`npm run soak\` (test/faults/soak.ts), which injects each fault into real processes: the
spiffe-helper started as users start it, a Workload API test server (in its own process where it is
killed), and a separate reader process. The fast version of the same scenarios runs in \`npm test\`
(test/faults/faults.test.ts).

- **survived**: after the fault the helper was running (or, once restarted, running again) and the
  files came back current.
- **files lost**: times the files were looked at and were not one complete, consistent set: the
  certificate, its key, the bundle that issued it, the JWT-SVID and the JWT bundle all present, and
  (rotations) times the concurrent reader found a file missing or a mismatched set. The writer keeps
  the generation before the current one, so a reader finds a file missing only when it is held up
  for two whole swaps while resolving a name; on this loaded machine rotations came every ~50 ms.
- **recovery time**: from the end of the fault (agent or helper started again, good message sent,
  rotation made) to the files being current again. Agent restarts include the helper's reconnect
  backoff (0.5–1 s after one failure).

| fault | tries | survived | files lost | recovery time |
| --- | --- | --- | --- | --- |
${table.join('\n')}

${rows.flatMap((r) => r.notes).map((note) => `- ${note}`).join('\n')}
${failures.length > 0 ? `\nScenarios that did not finish:\n${failures.map((f) => `- ${f}`).join('\n')}\n` : ''}
Runs of ${runs} on ${cpus().length} CPUs (Linux ${release()}, Node ${process.version}), shared
with other work (load average above 10 on 2 cores), cert_dir on tmpfs (${WORK_ROOT}).

<!-- rows: ${JSON.stringify(rows)} -->
`;
}

async function previousRows(): Promise<ReportRow[]> {
  const text = await readFile(REPORT, 'utf8').catch(() => '');
  const found = ROWS_MARK.exec(text)?.[1];
  return found === undefined ? [] : (JSON.parse(found) as ReportRow[]);
}

setWorkRoot(WORK_ROOT);
const wanted = process.argv.slice(2);
if (wanted[0] === 'render') {
  await writeFile(REPORT, render(await previousRows(), []));
  process.exit(0);
}
const unknown = wanted.filter((name) => !SCENARIOS.some(([scenario]) => scenario === name));
if (unknown.length > 0) throw new Error(`no scenario ${unknown.join(', ')}; the scenarios are ${SCENARIOS.map(([name]) => name).join(', ')}`);
const started = new Date();
const rows = wanted.length === 0 ? [] : await previousRows();
const failures: string[] = [];
let allSurvived = true;
for (const [name, run] of SCENARIOS) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const cleanups: (() => unknown)[] = [];
  const began = Date.now();
  try {
    const row = await run({ after: (fn) => void cleanups.push(fn) });
    allSurvived &&= row.survived === row.tries && row.filesLost === 0;
    const at = rows.findIndex((r) => r.scenario === name);
    if (at >= 0) rows.splice(at, 1);
    rows.push(reportRow(name, row, started));
    process.stdout.write(`${name}: done in ${Math.round((Date.now() - began) / 1000)} s\n`);
  } catch (error) {
    failures.push(`${name}: ${(error as Error).message}`);
    process.stdout.write(`${name}: FAILED: ${(error as Error).message}\n`);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
  // Read again before writing: another run of other scenarios may have finished meanwhile.
  const others = (await previousRows()).filter((r) => !rows.some((mine) => mine.scenario === r.scenario));
  const merged = SCENARIOS.flatMap(([scenario]) => [...rows, ...others].filter((r) => r.scenario === scenario));
  await writeFile(REPORT, render(merged, failures));
}
process.stdout.write(await readFile(REPORT, 'utf8'));
process.exit(failures.length === 0 && allSurvived ? 0 : 1);
