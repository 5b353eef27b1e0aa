import { ConfigError } from './errors.ts';
import { locateHclKeys } from './hcl-locate.ts';
import type { ParsedText, Raw } from './document.ts';
import { isTable } from './table.ts';

/** Keys whose HCL blocks are list entries; every other block is one table (repeated blocks merge). */
const LIST_KEYS = ['jwt_svids', 'x509_svids'];

interface HclModule {
  parse(text: string): string;
}

let hclModule: Promise<HclModule> | undefined;

/**
 * hashicorp/hcl v1 — the parser the Go helper uses — compiled to JavaScript (js-hcl-parser). It is
 * large (about 1.5 MB, half a second to load on a busy machine), so it is loaded on the first HCL
 * file only: a TOML config never pays for it.
 */
function loadHcl(): Promise<HclModule> {
  hclModule ??= import('js-hcl-parser').then((module) => module.default as HclModule);
  return hclModule;
}


/**
 * Decoded into plain values the way the Go helper's struct decoding reads them: a block
 * (`health_checks { ... }`) comes back as a list of objects, and is one table; repeated blocks merge,
 * later keys winning. Lists of tables (jwt_svids) stay lists.
 */
function normalise(raw: Raw): Raw {
  const out: Raw = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!LIST_KEYS.includes(key) && Array.isArray(value) && value.length > 0 && value.every(isTable)) {
      out[key] = Object.assign({}, ...value.map(normalise));
    } else out[key] = isTable(value) ? normalise(value) : value;
  }
  return out;
}

/** Parses HCL v1 text; errors are one line naming the file, line and, where it can be told, the key. */
export async function parseHcl(text: string, file: string): Promise<ParsedText> {
  const located = locateHclKeys(text, LIST_KEYS);
  const output = (await loadHcl()).parse(text);
  if (!output.startsWith('{')) {
    const message = output.replace(/^unable to parse JSON: /, '');
    const position = /^At (\d+):(\d+): (.*)$/s.exec(message);
    if (position !== null) {
      const line = Number(position[1]);
      throw new ConfigError({ file, line, column: Number(position[2]), key: located.context(line) }, `invalid HCL: ${position[3]}`);
    }
    const outOfRange = /^strconv\.Parse(?:Int|Float): parsing "(.*)": value out of range$/.exec(message);
    if (outOfRange !== null) {
      const [key, site] = [...located.sites].find(([, s]) => s.raw === outOfRange[1]) ?? [];
      throw new ConfigError({ file, line: site?.line, key }, `${outOfRange[1]} is out of range (integers are 64-bit)`);
    }
    throw new ConfigError({ file }, `invalid HCL: ${message}`);
  }
  const repeated = [...located.repeated].map(
    ([key, lines]) => `${file}:${lines.at(-1)}: ${key}: set on lines ${lines.join(', ')}; the last one is used, as the Go helper does`,
  );
  return { format: 'hcl', raw: normalise(JSON.parse(output) as Raw), sites: located.sites, warnings: repeated };
}
