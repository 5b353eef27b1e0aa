import type { KeySite } from './locate.ts';

/**
 * Where each key of an HCL v1 text is written, for messages: the parser (hashicorp/hcl compiled to
 * JavaScript) returns values without positions. A light tokenizer maps key paths
 * (`health_checks.bind_port`, `jwt_svids[1].jwt_audience`) to their line and the value as written
 * (to tell `0644` from `420`). It only has to be right for text the parser accepts, and never throws
 * on text it does not: it then serves to name the key an error is in.
 */
export interface HclSites {
  readonly sites: Map<string, KeySite>;
  /** Key paths written more than once, with every line (HCL keeps the last, as the Go helper does). */
  readonly repeated: Map<string, number[]>;
  /** The key path being written at each line, for naming the key of a syntax error. */
  readonly context: (line: number) => string | undefined;
}

interface Token {
  readonly text: string;
  readonly line: number;
  readonly kind: 'word' | 'string' | 'punct';
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  const advance = (to: number): void => {
    for (; i < to && i < text.length; i++) if (text[i] === '\n') line++;
  };
  while (i < text.length) {
    const char = text[i]!;
    const start = line;
    if (char === '#' || text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      advance(end === -1 ? text.length : end);
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      advance(end === -1 ? text.length : end + 2);
    } else if (text.startsWith('<<', i)) {
      const marker = /^<<-?([A-Za-z_][\w-]*)/.exec(text.slice(i, i + 200))?.[1];
      const close = marker === undefined ? -1 : text.slice(i).search(new RegExp(String.raw`\n\s*${marker}\s*(\n|$)`));
      const end = close === -1 ? text.length : i + close + 1 + text.slice(i + close + 1).indexOf(marker!) + marker!.length;
      tokens.push({ text: text.slice(i, end), line: start, kind: 'string' });
      advance(end);
    } else if (char === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      tokens.push({ text: text.slice(i, j + 1), line: start, kind: 'string' });
      advance(j + 1);
    } else if ('{}[]=,'.includes(char)) {
      tokens.push({ text: char, line: start, kind: 'punct' });
      advance(i + 1);
    } else if (/\s/.test(char)) {
      advance(i + 1);
    } else {
      const word = /^[^\s{}[\]=,"#]+/.exec(text.slice(i, i + 4096))?.[0] ?? char;
      tokens.push({ text: word, line: start, kind: 'word' });
      advance(i + word.length);
    }
  }
  return tokens;
}

type Frame = { readonly kind: 'object'; readonly path: string } | { readonly kind: 'list'; readonly path: string; index: number };

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);
const unquote = (token: Token): string => (token.kind === 'string' ? token.text.slice(1, -1) : token.text);

/** `listKeys`: keys whose blocks (`jwt_svids { ... }`) are entries of a list rather than one table. */
export function locateHclKeys(text: string, listKeys: readonly string[]): HclSites {
  const tokens = tokenize(text);
  const sites = new Map<string, KeySite>();
  const repeated = new Map<string, number[]>();
  const entries = new Map<string, number>();
  const contextByLine: Array<string | undefined> = [];
  const record = (path: string, line: number, raw: string): void => {
    const previous = sites.get(path);
    if (previous !== undefined && raw !== '') repeated.set(path, [...(repeated.get(path) ?? [previous.line]), line]);
    sites.set(path, { line, raw });
  };
  const stack: Frame[] = [{ kind: 'object', path: '' }];
  const openList = (path: string): void => {
    stack.push({ kind: 'list', path, index: entries.get(path) ?? 0 });
  };
  const close = (): void => {
    const frame = stack.pop();
    if (frame?.kind === 'list') entries.set(frame.path, frame.index);
    if (stack.length === 0) stack.push({ kind: 'object', path: '' });
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const frame = stack.at(-1)!;
    contextByLine[token.line] ??= frame.path || undefined;
    if (token.text === '}' || token.text === ']') {
      close();
      continue;
    }
    if (frame.kind === 'list') {
      if (token.text === ',') continue;
      const path = `${frame.path}[${frame.index++}]`;
      record(path, token.line, token.text === '{' || token.text === '[' ? '' : token.text);
      if (token.text === '{') stack.push({ kind: 'object', path });
      else if (token.text === '[') openList(path);
      continue;
    }
    if (token.kind === 'punct') continue;
    // A key: `key = value`, `key { ... }`, or `key "label" { ... }` (labels are skipped).
    let next = i + 1;
    while (tokens[next] !== undefined && tokens[next]!.kind !== 'punct') next++;
    const after = tokens[next];
    const path = join(frame.path, unquote(token));
    contextByLine[token.line] = path;
    if (after?.text === '=') {
      const value = tokens[next + 1];
      i = next + 1;
      if (value === undefined) break;
      if (value.text === '{') {
        record(path, token.line, '');
        stack.push({ kind: 'object', path });
      } else if (value.text === '[') {
        record(path, token.line, '');
        openList(path);
      } else record(path, token.line, value.text);
    } else if (after?.text === '{') {
      i = next;
      if (listKeys.includes(path)) {
        const index = entries.get(path) ?? 0;
        entries.set(path, index + 1);
        if (!sites.has(path)) record(path, token.line, '');
        record(`${path}[${index}]`, token.line, '');
        stack.push({ kind: 'object', path: `${path}[${index}]` });
      } else {
        if (!sites.has(path)) record(path, token.line, '');
        stack.push({ kind: 'object', path });
      }
    }
  }
  return {
    sites,
    repeated,
    context: (line) => {
      for (let l = Math.min(line, contextByLine.length - 1); l >= 1; l--) if (contextByLine[l] !== undefined) return contextByLine[l];
      return undefined;
    },
  };
}
