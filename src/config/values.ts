import { constants } from 'node:os';

/** Value readers shared by the config keys; each returns the value or a reason it is wrong. */
export type Check<T> = { ok: true; value: T } | { ok: false; why: string };

const ok = <T>(value: T): Check<T> => ({ ok: true, value });
const bad = (why: string): Check<never> => ({ ok: false, why });

export function describeType(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a table';
  return `${typeof value} ${JSON.stringify(value)}`;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** "500ms", "30s", "2m", "1h", "1m30s", or a whole number of seconds. */
export function readDuration(value: unknown): Check<number> {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return ok(value * 1000);
  if (typeof value === 'string' && /^(\d+(\.\d+)?(ms|s|m|h))+$/.test(value)) {
    let total = 0;
    for (const [, amount, , unit] of value.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g)) total += Number(amount) * UNITS[unit!]!;
    return ok(Math.round(total));
  }
  return bad(`expected a duration such as "500ms", "30s", "2m" or "1h" (or whole seconds), got ${describeType(value)}`);
}

/**
 * A permission mode: TOML's 0o644, or the strings "0644"/"644" (TOML has no leading-zero integers).
 * Plain decimal integers are refused: 644 would silently mean 0o1204.
 */
export function readMode(value: unknown): Check<number> {
  let mode: number;
  if (typeof value === 'number' && Number.isInteger(value)) mode = value;
  else if (typeof value === 'string' && /^0?[0-7]{3}$/.test(value)) mode = Number.parseInt(value, 8);
  else return bad(`expected a permission such as 0o644 or "0644", got ${describeType(value)}`);
  if (mode < 0 || mode > 0o777) return bad(`${typeof value === 'number' ? `0o${mode.toString(8)}` : JSON.stringify(value)} is not a permission (0o000 to 0o777; no setuid, setgid or sticky bits)`);
  return ok(mode);
}

/** "SIGHUP" or "HUP", checked against this platform's signals. */
export function readSignal(value: unknown): Check<NodeJS.Signals> {
  if (typeof value !== 'string') return bad(`expected a signal name such as "SIGHUP", got ${describeType(value)}`);
  const name = (value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`) as NodeJS.Signals;
  if (!(name in constants.signals)) return bad(`unknown signal ${JSON.stringify(value)}`);
  return ok(name);
}

/**
 * The Go helper's argument splitting: words separated by spaces, double quotes group words (and are
 * removed). A TOML array is taken as it is.
 */
export function readArgs(value: unknown): Check<string[]> {
  if (Array.isArray(value)) {
    return value.every((item) => typeof item === 'string') ? ok(value as string[]) : bad('expected an array of strings');
  }
  if (typeof value !== 'string') return bad(`expected a string or an array of strings, got ${describeType(value)}`);
  const args: string[] = [];
  let current = '';
  let quoted = false;
  let inWord = false;
  for (const char of value) {
    if (char === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (char === ' ' && !quoted) {
      if (inWord) args.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (quoted) return bad('unbalanced double quote');
  if (inWord) args.push(current);
  return ok(args);
}

/** A file name the helper writes inside cert_dir: no directories, nothing hidden by the writer's own names. */
export function readFileName(value: unknown): Check<string> {
  if (typeof value !== 'string' || value === '') return bad(`expected a file name, got ${describeType(value)}`);
  if (value.includes('/') || value.includes('\0')) return bad(`${JSON.stringify(value)} must be a plain file name inside cert_dir (no "/")`);
  if (value === '.' || value.startsWith('..')) return bad(`${JSON.stringify(value)} is not a usable file name (names starting with ".." are the writer's own)`);
  return ok(value);
}
