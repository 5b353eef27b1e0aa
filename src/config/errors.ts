/** One line: `<file>:<line>: <key>: <what is wrong>`, the line and key when known. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly file: string;
  readonly line: number | undefined;
  readonly key: string | undefined;

  constructor(file: string, line: number | undefined, key: string | undefined, problem: string) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${key === undefined ? '' : `${key}: `}${problem.replace(/\s*\n\s*/g, ' ')}`);
    this.file = file;
    this.line = line;
    this.key = key;
  }
}

/** The line a key is written on: after its table's header when it sits in one. */
export function lineOf(text: string, table: { name: string; index: number; array: boolean } | undefined, key: string): number | undefined {
  const lines = text.split('\n');
  let start = 0;
  if (table !== undefined) {
    const header = table.array ? new RegExp(`^\\s*\\[\\[\\s*${table.name}\\s*\\]\\]`) : new RegExp(`^\\s*\\[\\s*${table.name}\\s*\\]`);
    let seen = -1;
    start = lines.findIndex((line) => header.test(line) && ++seen === table.index);
    if (start === -1) return undefined;
  }
  const assignment = new RegExp(`^\\s*"?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?\\s*=`);
  for (let i = start; i < lines.length; i++) {
    if (i > start && /^\s*\[/.test(lines[i]!)) break;
    if (assignment.test(lines[i]!)) return i + 1;
  }
  return undefined;
}

/** The known key closest to a typo, if any is close. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key, name);
    if (distance <= Math.max(2, Math.floor(name.length / 4)) && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
