import { ConfigError, nearest } from './errors.ts';
import type { ConfigFormat, Raw } from './document.ts';
import { readHclInteger } from './hcl-integer.ts';
import { lineOf, type KeySite } from './locate.ts';
import type { CommandSpec } from './types.ts';
import { describeType, readArgs, readDuration, readMode, type Check } from './values.ts';

/** Where the values being read came from: the file, and for some top-level keys the environment or a flag. */
export interface Origin {
  /** The config file as given; undefined when there is none. */
  readonly file: string | undefined;
  readonly format: ConfigFormat | undefined;
  readonly sites: Map<string, KeySite>;
  /** Top-level keys set by an environment variable or a flag: its name. */
  readonly overrides: ReadonlyMap<string, string>;
  /** Collected while reading, one line each. */
  readonly warnings: string[];
}

/** The place a key path is reported at: the file and line, or the environment variable or flag. */
export function placeOf(origin: Origin, path: string): { file: string; line?: number | undefined } {
  const override = origin.overrides.get(path.split(/[.[]/)[0]!);
  if (override !== undefined) return { file: override };
  if (origin.file === undefined) return { file: 'the environment (no config file)' };
  return { file: origin.file, line: lineOf(origin.sites, path) };
}

export const isTable = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);

/** One table of the config: typed getters that fail with the key's path and place, and an unknown-key check. */
export class Table {
  readonly #raw: Raw;
  readonly #path: string;
  readonly #origin: Origin;

  constructor(raw: Raw, path: string, origin: Origin) {
    this.#raw = raw;
    this.#path = path;
    this.#origin = origin;
  }

  keyPath(key: string): string {
    return this.#path === '' ? key : `${this.#path}.${key}`;
  }

  /** Fails on `key`; `lineKey` names a key written nearby when `key` itself is missing. */
  fail(key: string | undefined, problem: string, lineKey?: string): never {
    const path = key === undefined ? this.#path : this.keyPath(key);
    const place = placeOf(this.#origin, lineKey === undefined ? path : this.keyPath(lineKey));
    throw new ConfigError({ ...place, key: path }, problem);
  }

  has(key: string): boolean {
    return this.#raw[key] !== undefined;
  }

  rejectUnknown(known: readonly string[], elsewhere: (key: string) => string | undefined = () => undefined): void {
    for (const key of Object.keys(this.#raw)) {
      if (known.includes(key)) continue;
      const suggestion = nearest(key, known);
      const hint = suggestion !== undefined ? ` (did you mean ${suggestion}?)` : (elsewhere(key) ?? '');
      this.fail(key, `unknown key${hint}`);
    }
  }

  read<T>(key: string, check: (value: unknown, raw: string | undefined) => Check<T>): T | undefined {
    const value = this.#raw[key];
    if (value === undefined) return undefined;
    const path = this.keyPath(key);
    const result = check(value, this.#origin.overrides.has(path) ? undefined : this.#origin.sites.get(path)?.raw);
    if (!result.ok) this.fail(key, result.why);
    if (result.warning !== undefined) {
      const place = placeOf(this.#origin, path);
      this.#origin.warnings.push(`${place.file}${place.line === undefined ? '' : `:${place.line}`}: ${path}: ${result.warning}`);
    }
    return result.value;
  }

  string(key: string): string | undefined {
    return this.read(key, (v) => (typeof v === 'string' ? { ok: true, value: v } : { ok: false, why: `expected a string, got ${describeType(v)}` }));
  }

  boolean(key: string): boolean | undefined {
    return this.read(key, (v) => (typeof v === 'boolean' ? { ok: true, value: v } : { ok: false, why: `expected true or false, got ${describeType(v)}` }));
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    return this.read(key, (v) =>
      typeof v === 'string' && (allowed as readonly string[]).includes(v)
        ? { ok: true, value: v as T }
        : { ok: false, why: `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describeType(v)}` },
    );
  }

  duration(key: string, fallbackMs: number, positive = false): number {
    return this.read(key, (v) => readDuration(v, positive)) ?? fallbackMs;
  }

  /** A mode; decimal numbers are read as the Go helper reads them, with a warning. */
  mode(key: string, fallback: number): number {
    const octal = this.#origin.format === 'hcl' ? (digits: string) => `0${digits}` : (digits: string) => `0o${digits}`;
    return this.#integer(key, (value, raw) => readMode(value, raw, octal)) ?? fallback;
  }

  port(key: string): number | undefined {
    return this.#integer(key, (v) =>
      typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535 ? { ok: true, value: v } : { ok: false, why: `expected a port number 0-65535, got ${describeType(v)}` },
    );
  }

  /** An integer key: written in an HCL file (not set by a variable or flag), it is decoded as the Go helper decodes it. */
  #integer<T>(key: string, check: (value: unknown, raw: string | undefined) => Check<T>): T | undefined {
    const path = this.keyPath(key);
    if (this.#origin.format !== 'hcl' || this.#origin.overrides.has(path.split(/[.[]/)[0]!)) return this.read(key, check);
    return this.read(key, (value, raw) => {
      const integer = readHclInteger(value, raw);
      return integer.ok ? check(integer.value, raw) : integer;
    });
  }

  urlPath(key: string): string | undefined {
    return this.read(key, (v) =>
      typeof v === 'string' && /^\/[^\s?#]*$/.test(v) ? { ok: true, value: v } : { ok: false, why: `expected a URL path starting with "/", got ${describeType(v)}` },
    );
  }

  command(key: string): CommandSpec | undefined {
    const args = this.read(key, readArgs);
    if (args === undefined) return undefined;
    const [command, ...rest] = args;
    if (command === undefined || command === '') this.fail(key, 'the command is empty');
    if (args.some((arg) => arg.includes('\0'))) this.fail(key, 'contains a NUL byte');
    return { command, args: rest };
  }

  table(key: string): Table | undefined {
    const value = this.#raw[key];
    if (value === undefined) return undefined;
    if (!isTable(value)) this.fail(key, `expected a table ([${key}]), got ${describeType(value)}`);
    return new Table(value, this.keyPath(key), this.#origin);
  }

  tables(key: string): Table[] {
    const value = this.#raw[key];
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every(isTable)) this.fail(key, `expected an array of tables ([[${key}]]), got ${describeType(value)}`);
    return value.map((item, index) => new Table(item, `${this.keyPath(key)}[${index}]`, this.#origin));
  }
}
