/** One line: `<file>:<line>[:<column>]: <key path>: <what is wrong>`; line, column and key when known. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** Like `jwt_svids[1].jwt_audience` or `health_checks.bind_port`. */
  readonly key: string | undefined;
  readonly problem: string;

  constructor(where: { file: string; line?: number | undefined; column?: number | undefined; key?: string | undefined }, problem: string) {
    const { file, line, column, key } = where;
    const oneLine = problem.replace(/\s*[\r\n]+\s*/g, ' ');
    const position = line === undefined ? '' : `:${line}${column === undefined ? '' : `:${column}`}`;
    super(`${file}${position}: ${key === undefined || key === '' ? '' : `${shortKey(key)}: `}${oneLine}`);
    this.file = file;
    this.line = line;
    this.column = line === undefined ? undefined : column;
    this.key = key === '' ? undefined : key;
    this.problem = oneLine;
  }
}

/** Keys are echoed in messages; a hostile or broken one is cut short so the message stays one readable line. */
const KEY_SHOWN = 64;

function shortKey(key: string): string {
  const printable = key.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return printable.length <= KEY_SHOWN ? printable : `${printable.slice(0, KEY_SHOWN)}... (${key.length} characters)`;
}

/** The known key a misspelt or camelCase key most likely meant, if one is close. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  if (key.length > KEY_SHOWN) return undefined;
  const snake = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/-/g, '_').toLowerCase();
  if (snake !== key && known.includes(snake)) return snake;
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

/** Why a file could not be read, in a few words: "no such file", "permission denied", ... */
export function unreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
}
