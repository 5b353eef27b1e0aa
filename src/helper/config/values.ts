import { isIP } from 'node:net';
import { SpiffeId } from '../../spiffe/svid/index.ts';
import { constants } from 'node:os';
import { fileNameProblem, nameLengthProblem } from '../output/file-name.ts';
import { parseEndpointAddress } from '../../spiffe/workload/endpoint.ts';

/** Value readers shared by the config keys; each returns the value or a reason it is wrong. */
export type Check<T> = { ok: true; value: T; warning?: string } | { ok: false; why: string };

const ok = <T>(value: T, warning?: string): Check<T> => (warning === undefined ? { ok: true, value } : { ok: true, value, warning });
const bad = (why: string): Check<never> => ({ ok: false, why });

export function describeType(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a table';
  if (typeof value === 'number' && !Number.isFinite(value)) return `number ${value}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
/** Node's timers take at most 2^31-1 ms and fire at once beyond it. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const DURATION_FORMS = 'a duration such as "500ms", "30s", "2m", "1h" or "1m30s", or whole seconds';

/** "500ms", "30s", "2m", "1h", "1m30s", or a whole number of seconds; in milliseconds. */
export function readDuration(value: unknown, positive = false): Check<number> {
  let ms: number;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) ms = value * 1000;
  else if (typeof value === 'string' && /^(\d+(\.\d+)?(ms|s|m|h))+$/.test(value)) {
    ms = 0;
    for (const [, amount, , unit] of value.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g)) ms += Number(amount) * UNITS[unit!]!;
    ms = Math.round(ms);
  } else return bad(`expected ${DURATION_FORMS}, got ${describeType(value)}`);
  if (positive && ms === 0) return bad('must be longer than zero');
  if (ms > MAX_TIMER_MS) return bad(`${JSON.stringify(value)} is too long (at most 596h)`);
  return ok(ms);
}

/**
 * A permission mode, as written: an octal literal (TOML `0o644`, HCL `0644`), or a string "0644",
 * "644" or "0o644". A decimal integer means what it means to the Go helper, which reads modes as
 * plain integers: `444` is mode 0674. It is accepted with a warning naming the octal it is and the
 * one probably meant. 0, as in the Go helper, means "the default". `raw` is the value as written;
 * `octal` writes octal digits the way the config's language does.
 */
export function readMode(value: unknown, raw: string | undefined, octal: (digits: string) => string = (d) => `0o${d}`): Check<number | undefined> {
  const shown = raw?.replace(/\s*(#|\/\/).*$/, '').trim() || JSON.stringify(value);
  // An HCL file's quoted number is a number (readHclInteger): its digits are what count here.
  const digits = shown.replace(/^"(.*)"$/, '$1');
  let mode: number;
  let warning: string | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) {
    if (value < 0) return bad(`${shown} is not a permission (0o000 to 0o777)`);
    mode = value;
    const writtenInOctal = raw !== undefined && /^\+?0(o|_?[0-7])/i.test(digits);
    if (!writtenInOctal && value !== 0) {
      const meant = /^[0-7]{3}$/.test(digits) ? `; write ${octal(digits)} for mode 0${digits}` : '';
      if (value > 0o777) return bad(`${shown} is not written in octal: it is mode 0${value.toString(8)}, beyond permission bits (0o000 to 0o777)${meant}`);
      warning = `${shown} is not written in octal: it is mode 0${value.toString(8).padStart(3, '0')}, as the Go helper reads it${meant}`;
    }
  } else if (typeof value === 'string') {
    const match = /^(?:0o)?([0-9]+)$/i.exec(value);
    if (match === null) return bad(`expected a permission such as ${octal('644')} or "0644", got ${describeType(value)}`);
    const digits = match[1]!.replace(/^0+(?=.)/, '');
    if (/[89]/.test(digits)) return bad(`expected a permission such as ${octal('644')} or "0644", got ${describeType(value)} (not octal: digits 0 to 7)`);
    mode = Number.parseInt(digits, 8);
  } else return bad(`expected a permission such as ${octal('644')} or "0644", got ${describeType(value)}`);
  if (mode === 0) return ok(undefined);
  if (mode > 0o7777) return bad(`${shown} is not a permission (0o000 to 0o777)`);
  if (mode > 0o777) return bad(`${shown} sets setuid, setgid or sticky bits: only permission bits (up to 0o777) are allowed`);
  return ok(mode, warning);
}

/** "SIGHUP", "HUP" or "hup", checked against this platform's signals; the full name is kept. */
export function readSignal(value: unknown): Check<NodeJS.Signals> {
  if (typeof value !== 'string') return bad(`expected a signal name such as "SIGHUP", got ${describeType(value)}`);
  const upper = value.toUpperCase();
  const name = (upper.startsWith('SIG') ? upper : `SIG${upper}`) as NodeJS.Signals;
  if (!Object.hasOwn(constants.signals, name)) return bad(`unknown signal ${JSON.stringify(value)} (expected a name such as "SIGHUP", "HUP" or "SIGUSR1")`);
  return ok(name);
}

/** A signal a program can handle: SIGKILL and SIGSTOP cannot be caught, so they could never mean "reload". */
export function readRenewSignal(value: unknown): Check<NodeJS.Signals> {
  const signal = readSignal(value);
  if (signal.ok && (signal.value === 'SIGKILL' || signal.value === 'SIGSTOP')) return bad(`${signal.value} cannot be caught: a program can never reload on it (use SIGHUP, SIGUSR1, ...)`);
  return signal;
}

/**
 * A command line: a TOML array taken as it is, or a string split as the Go helper splits cmd_args
 * (Go's encoding/csv with a space as separator): single spaces separate words; a word that starts
 * with a double quote runs to the closing quote, spaces included, and `""` inside it is one quote.
 * Where the Go helper would have failed (a stray quote) or silently passed an empty argument (two
 * spaces in a row, a space at either end) or dropped text (after a line break), this refuses.
 */
export function readArgs(value: unknown): Check<string[]> {
  if (Array.isArray(value)) {
    return value.every((item) => typeof item === 'string') ? ok(value as string[]) : bad('expected an array of strings');
  }
  if (typeof value !== 'string') return bad(`expected a string or an array of strings, got ${describeType(value)}`);
  if (value === '') return ok([]);
  const args: string[] = [];
  let i = 0;
  for (;;) {
    const start = i + 1;
    let word = '';
    if (value[i] === '"') {
      for (i++; ; i++) {
        if (i >= value.length) return bad(`the double quote at character ${start} is never closed`);
        if (value[i] === '"' && value[i + 1] === '"') {
          word += '"';
          i++;
        } else if (value[i] === '"') break;
        else word += value[i];
      }
      i++;
      if (i < value.length && value[i] !== ' ' && value[i] !== '\n') {
        return bad(`the quoted word at character ${start} must be followed by a space (or write the whole word inside the quotes)`);
      }
    } else {
      while (i < value.length && value[i] !== ' ' && value[i] !== '\n') word += value[i++];
      if (word.includes('"')) return bad(`a double quote inside the word at character ${start}: quotes may only surround whole words`);
      if (word === '') {
        return bad(`an empty argument at character ${start} (two spaces in a row, or a space at either end): remove the space, write "" for an empty argument, or use an array`);
      }
    }
    args.push(word);
    if (i >= value.length) return ok(args);
    if (value[i] === '\n') return bad(`a line break outside double quotes at character ${i + 1} (the Go helper ignored the rest): use one line or an array`);
    i++;
  }
}


/** Any path or name: a NUL byte would cut it short at the system call. */
export function readPath(value: unknown): Check<string> {
  if (typeof value !== 'string') return bad(`expected a string, got ${describeType(value)}`);
  if (value.includes('\0')) return bad(`${JSON.stringify(value)} contains a NUL byte`);
  return ok(value);
}

/** A file name the helper writes inside cert_dir, by the writer's rule. */
export function readFileName(value: unknown): Check<string> {
  if (typeof value !== 'string' || value === '') return bad(`expected a file name, got ${describeType(value)}`);
  const path = readPath(value);
  if (!path.ok) return path;
  const problem = fileNameProblem(value);
  return problem === undefined ? ok(value) : bad(problem);
}

/**
 * A JWT-SVID file: a plain name in cert_dir's set, or — the Go helper's form — a name with "/",
 * which that helper joins to cert_dir as Go's path.Join does ("/etc/jwts/a.jwt" with no cert_dir is
 * that absolute path). Such a file is written on its own, outside the set. Returns the plain name,
 * or the path still to be joined.
 */
export function readJwtSvidFile(value: unknown): Check<{ readonly fileName: string } | { readonly path: string }> {
  if (typeof value === 'string' && value.includes('/')) {
    const path = readPath(value);
    if (!path.ok) return path;
    const name = value.split('/').filter((part) => part !== '').at(-1);
    if (name === undefined || name === '.' || name === '..' || value.endsWith('/')) return bad(`${JSON.stringify(value)} does not end in a file name`);
    const tooLong = nameLengthProblem(name);
    return tooLong === undefined ? ok({ path: value }) : bad(tooLong);
  }
  const name = readFileName(value);
  return name.ok ? ok({ fileName: name.value }) : name;
}

/** spiffe://trust-domain/path as the SPIFFE ID spec allows it. */
export function readSpiffeId(value: unknown): Check<string> {
  if (typeof value !== 'string') return bad(`expected a SPIFFE ID such as "spiffe://example.org/service", got ${describeType(value)}`);
  // The rule itself is the SPIFFE ID parser's (src/spiffe/svid): one definition for the config and the Workload API.
  try {
    SpiffeId.parse(value);
  } catch {
    return bad(`${JSON.stringify(value)} is not a SPIFFE ID (spiffe://trust-domain/path: lower-case trust domain, path segments of letters, digits, ".", "-", "_")`);
  }
  return ok(value);
}

/**
 * The Workload API address as written ('' = none: SPIFFE_ENDPOINT_SOCKET), checked by the client's
 * own parser, so the config refuses exactly what the client would.
 */
export function readAgentAddress(value: unknown): Check<string> {
  const path = readPath(value);
  if (!path.ok || path.value === '') return path;
  try {
    parseEndpointAddress(path.value);
  } catch (error) {
    return bad((error as Error).message);
  }
  return path;
}

/** An IP address or a host name to listen on. */
export function readBindAddress(value: unknown): Check<string> {
  if (typeof value === 'string' && (isIP(value) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(value))) {
    return ok(value);
  }
  return bad(`expected an IP address or host name such as "127.0.0.1", "0.0.0.0" or "::", got ${describeType(value)}`);
}
