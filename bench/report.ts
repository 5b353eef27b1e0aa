// Tables for the terminal and for BENCHMARKS.md, and the machine they were measured on.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';

export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number)[])[];
  readonly notes: readonly string[];
}

const cell = (value: string | number) => (typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(1)) : value);

export function printTable(table: Table): void {
  const cells = [table.columns, ...table.rows.map((row) => row.map(cell))];
  const widths = table.columns.map((_, i) => Math.max(...cells.map((row) => String(row[i] ?? '').length)));
  const line = (row: readonly (string | number)[]) => row.map((value, i) => String(value).padEnd(widths[i]!)).join('  ');
  console.log(`\n${table.title}`);
  console.log(line(table.columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of cells.slice(1)) console.log(line(row));
  for (const note of table.notes) console.log(`  ${note}`);
}

export function markdownTable(table: Table): string {
  const row = (values: readonly (string | number)[]) => `| ${values.map(cell).join(' | ')} |`;
  return [`#### ${table.title}`, '', row(table.columns), row(table.columns.map(() => '---')), ...table.rows.map(row), '', ...table.notes.map((n) => `${n}  `)].join('\n');
}

/** "a ÷ b" as a ratio cell, or "–" when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0 || Number.isNaN(a) || Number.isNaN(b)) return '–';
  return `${(a / b).toFixed(1)}×`;
}

export function machine(goHelper: string): string[] {
  const cpu = cpus();
  let go = 'not built';
  if (existsSync(goHelper)) {
    try {
      go = execFileSync('go', ['version', goHelper], { encoding: 'utf8' }).trim().split(': ').at(-1)!;
    } catch {
      go = 'built (the go command is not on PATH to tell its version)';
    }
  }
  return [
    `- date: ${new Date().toISOString()}`,
    `- machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${release()} (shared with other work: compare rows of one run, not runs)`,
    `- Node.js ${process.version}; Go helper: ${go}`,
  ];
}

/**
 * Writes `body` into BENCHMARKS.md as the section for `label`, replacing an earlier run with the
 * same label (the markers delimit it) or appending a new one.
 */
export async function recordRun(file: string, label: string, body: string): Promise<void> {
  const start = `<!-- run:${label} -->`;
  const end = `<!-- /run:${label} -->`;
  const section = `${start}\n### Run: ${label}\n\n${body}\n${end}`;
  const text = existsSync(file) ? await readFile(file, 'utf8') : '# Benchmarks\n';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  const next = from >= 0 && to > from ? text.slice(0, from) + section + text.slice(to + end.length) : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(file, next);
}
