import type { Check } from './values.ts';

/**
 * Go's integer syntax as strconv.ParseInt(text, 0, 64) takes it: a sign, then 0x, 0o, 0b or a
 * leading 0 (octal) or none, and "_" only between digits or after a prefix.
 */
const GO_INTEGER = /^[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)$/;
const FORMS = 'digits, an optional sign, 0x, 0o, 0b or 0 prefix, "_" between digits';

/**
 * An integer key's value in an HCL file, as the Go helper's decoder (hashicorp/hcl v1) reads it:
 * a quoted string becomes the integer strconv.ParseInt(text, 0, 64) makes of it, so
 * `bind_port = "8081"` works there; a number written with a fraction or an exponent is refused
 * there (the parser here would have made it an integer). `raw` is the value as written. Anything
 * else is handed on unchanged, for the key's own check.
 */
export function readHclInteger(value: unknown, raw: string | undefined): Check<unknown> {
  if (typeof value === 'number') {
    const written = raw?.replace(/\s*(#|\/\/).*$/, '').trim() ?? '';
    if (/^[+-]?\d+[.eE]/.test(written)) {
      return { ok: false, why: `${written} is not an integer (the Go helper refuses a fraction or an exponent here)` };
    }
    return { ok: true, value };
  }
  if (typeof value !== 'string') return { ok: true, value };
  if (!GO_INTEGER.test(value)) return { ok: false, why: `${JSON.stringify(value)} is not an integer as the Go helper reads a quoted one (${FORMS})` };
  const digits = value.replace(/^[+-]/, '').replaceAll('_', '');
  const magnitude = BigInt(/^0[0-7]/.test(digits) ? `0o${digits.slice(1)}` : digits);
  if (magnitude > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, why: `${JSON.stringify(value)} is out of range` };
  return { ok: true, value: Number(value.startsWith('-') ? -magnitude : magnitude) };
}
