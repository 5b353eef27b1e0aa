import toml from 'toml';
import { ConfigError } from './errors.ts';
import { locateKeys, type KeySite } from './locate.ts';

export type Raw = Record<string, unknown>;
export type ConfigFormat = 'toml' | 'hcl';

/** A config text parsed into plain values, with where each key is written. */
export interface ParsedText {
  readonly format: ConfigFormat;
  readonly raw: Raw;
  readonly sites: Map<string, KeySite>;
  /** One line each, `file:line: key: ...`: things accepted that deserve a look. */
  readonly warnings: readonly string[];
}

/** Constructs only TOML has: table headers, 0o literals, literal and multi-line strings. */
const TOML_ONLY = /^\s*\[\[?\s*[A-Za-z_"']|=\s*[+-]?0o[0-7]|=\s*'|"""/m;
/** Constructs only HCL has: blocks, // and /* comments, leading-zero octal numbers, heredocs. */
const HCL_ONLY = /^\s*[A-Za-z_][\w-]*\s*("[^"\n]*"\s*)*\{\s*$|^\s*(\/\/|\/\*)|=\s*-?0[0-7]+\s*($|#|\/\/)|=\s*<</m;

/**
 * Reads a config text as TOML or HCL, decided from the content (both use `.conf`): TOML when it
 * parses as TOML (a text both parse means the same in both), else HCL, the Go helper's language.
 * When neither parses, the error is the one of the language the text looks written in.
 */
export async function parseText(text: string, file: string): Promise<ParsedText> {
  let raw: Raw;
  try {
    raw = toml.parse(text) as Raw;
  } catch (tomlError) {
    if (TOML_ONLY.test(text)) throw tomlConfigError(tomlError, text, file);
    const { parseHcl } = await import('./hcl.ts');
    try {
      return await parseHcl(text, file);
    } catch (hclError) {
      throw HCL_ONLY.test(text) ? hclError : tomlConfigError(tomlError, text, file);
    }
  }
  return { format: 'toml', raw, sites: locateKeys(text), warnings: [] };
}

/** TOML's own errors, with line and column, and a hint for HCL written into a TOML file. */
function tomlConfigError(error: unknown, text: string, file: string): ConfigError {
  const e = error as { message: string; found?: unknown; line?: number; column?: number; location?: { start?: { line: number; column: number } } };
  const line = e.location?.start?.line ?? e.line;
  const column = e.location?.start?.column ?? e.column;
  const source = line === undefined ? '' : (text.split(/\r?\n/)[line - 1] ?? '');
  const at = { file, line, column };
  const key = /^\s*([A-Za-z_][\w-]*)\s*=/.exec(source)?.[1];
  const block = /^\s*([A-Za-z_][\w-]*)\s*\{/.exec(source)?.[1];
  if (block !== undefined) {
    return new ConfigError({ ...at, column: undefined, key: block }, `"${block} { ... }" is HCL, but this file is TOML (it has [tables]): write [${block}] on its own line, then its keys, after all top-level keys`);
  }
  const octal = /^\s*([A-Za-z_][\w-]*)\s*=\s*(0[0-7]+)\s*(#.*)?$/.exec(source);
  if (octal !== null) {
    return new ConfigError({ ...at, column: undefined, key: octal[1] }, `${octal[2]} is not a TOML number (no leading zeros): write 0o${octal[2]!.replace(/^0+/, '')} or "${octal[2]}"`);
  }
  if (/^\s*\/[/*]/.test(source)) return new ConfigError(at, 'invalid TOML: comments start with "#" ("//" and "/* */" are HCL)');
  if (/Integer .* (outside the 64-bit|cannot be represented)/.test(e.message)) {
    return new ConfigError({ ...at, column: undefined, key }, 'the number is too large (at most 2^53 - 1)');
  }
  const redefined = /Cannot redefine existing key '(.*)'/.exec(e.message)?.[1];
  if (redefined !== undefined) return new ConfigError({ ...at, key: redefined }, 'is set more than once');
  const what = e.found === undefined ? e.message : e.found === null ? 'unexpected end of file' : `unexpected ${JSON.stringify(e.found)}`;
  return new ConfigError(at, `invalid TOML: ${what}`);
}
