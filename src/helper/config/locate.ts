/**
 * Where each key of a TOML text is written. The parser returns values without positions, so a light
 * scan of the text maps key paths (`health_checks.bind_port`, `jwt_svids[1].jwt_audience`) to their
 * line and the raw text after `=` (to tell `0o644` from a decimal `420`). It only has to be right for
 * text the parser has already accepted.
 */
export interface KeySite {
  readonly line: number;
  /** The value as written, up to the end of its first line. */
  readonly raw: string;
}

const PART = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')`;
const DOTTED = String.raw`${PART}(?:\s*\.\s*${PART})*`;
const ARRAY_HEADER = new RegExp(String.raw`^\s*\[\[\s*(${DOTTED})\s*\]\]`);
const TABLE_HEADER = new RegExp(String.raw`^\s*\[\s*(${DOTTED})\s*\]`);
const ASSIGNMENT = new RegExp(String.raw`^\s*(${DOTTED})\s*=\s*(.*)$`);

function keyParts(dotted: string): string[] {
  return [...dotted.matchAll(new RegExp(PART, 'g'))].map(([part]) => (/^["']/.test(part) ? part.slice(1, -1) : part));
}

/** How far a value line opens brackets, and whether it leaves a multi-line string open. */
function scanValue(value: string, state: { depth: number; multiline: string | undefined }): void {
  let i = 0;
  while (i < value.length) {
    if (state.multiline !== undefined) {
      const end = value.indexOf(state.multiline, i);
      if (end === -1) return;
      i = end + 3;
      state.multiline = undefined;
      continue;
    }
    const char = value[i]!;
    if (char === '#') return;
    if (value.startsWith('"""', i) || value.startsWith("'''", i)) {
      state.multiline = value.slice(i, i + 3);
      i += 3;
    } else if (char === '"' || char === "'") {
      i++;
      while (i < value.length && value[i] !== char) i += char === '"' && value[i] === '\\' ? 2 : 1;
      i++;
    } else {
      if (char === '[' || char === '{') state.depth++;
      if (char === ']' || char === '}') state.depth--;
      i++;
    }
  }
}

export function locateKeys(text: string): Map<string, KeySite> {
  const sites = new Map<string, KeySite>();
  const arrayCounts = new Map<string, number>();
  const state = { depth: 0, multiline: undefined as string | undefined };
  let prefix = '';
  const record = (path: string, line: number, raw: string): void => {
    if (!sites.has(path)) sites.set(path, { line, raw });
  };
  text.split(/\r?\n/).forEach((content, index) => {
    const line = index + 1;
    if (state.multiline !== undefined || state.depth > 0) {
      scanValue(content, state);
      return;
    }
    const array = ARRAY_HEADER.exec(content);
    const table = array === null ? TABLE_HEADER.exec(content) : null;
    const assignment = array === null && table === null ? ASSIGNMENT.exec(content) : null;
    if (array !== null) {
      const path = keyParts(array[1]!).join('.');
      const count = arrayCounts.get(path) ?? 0;
      arrayCounts.set(path, count + 1);
      prefix = `${path}[${count}]`;
      record(path, line, '');
      record(prefix, line, '');
    } else if (table !== null) {
      prefix = keyParts(table[1]!).join('.');
      record(prefix, line, '');
    } else if (assignment !== null) {
      const raw = assignment[2]!;
      record([prefix, ...keyParts(assignment[1]!)].filter((part) => part !== '').join('.'), line, raw);
      scanValue(raw, state);
    }
  });
  return sites;
}

/** The line of a key path, else of the nearest enclosing table or array entry that is written down. */
export function lineOf(sites: Map<string, KeySite>, path: string): number | undefined {
  for (let current = path; current !== ''; current = current.replace(/(\.[^.[\]]*|\[\d+\])$/, '')) {
    const site = sites.get(current);
    if (site !== undefined) return site.line;
    if (!/(\.[^.[\]]*|\[\d+\])$/.test(current)) break;
  }
  return undefined;
}
