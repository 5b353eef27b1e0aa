// The two layers: the SPIFFE library (the package's entry and what it is made of) imports nothing
// of the helper. Paths are the repository's, so the check follows the files wherever they live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join, normalize, relative } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

/** The library: every file of this folder (the helper is src/helper/). */
const LIBRARY = ['src/spiffe'];

const inLibrary = (path: string): boolean => LIBRARY.some((part) => path === part || path.startsWith(`${part}/`));

async function filesOf(path: string): Promise<string[]> {
  if (!(await stat(join(root, path))).isDirectory()) return [path];
  const entries = await readdir(join(root, path), { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/** Every relative module a file names: static imports and re-exports, bare imports, dynamic imports, import types. */
function relativeImports(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom\s+|\bimport\s*\(?\s*)'(\.{1,2}\/[^']+)'/g)].map(([, target]) => target!);
}

/** What cmd/ may import besides its own files: the debugger-signal guard, and the run modes' entry. */
const DEBUG_SIGNALS = 'src/helper/run/debug-signals.ts';
const COMMAND_REACHES = [DEBUG_SIGNALS, 'src/helper/run/index.ts'];

test('no file of the library imports a file of the helper', async () => {
  const files = new Set((await Promise.all(LIBRARY.map(filesOf))).flat());
  assert.ok(files.size > 20, `the library's files are found (${files.size})`);
  const outside: string[] = [];
  for (const file of files) {
    for (const target of relativeImports(await readFile(join(root, file), 'utf8'))) {
      const resolved = normalize(join(dirname(file), target));
      if (!inLibrary(resolved)) outside.push(`${file} imports ${resolved}`);
    }
  }
  assert.deepEqual(outside, []);
});

test('the layer check sees an import of the helper', () => {
  const [target] = relativeImports("import { x } from '../../helper/config/index.ts';\nconst y = await import('./z.ts');");
  assert.equal(inLibrary(normalize(join('src/spiffe/sources', target!))), false);
  assert.deepEqual(relativeImports("import './guard.ts';\nimport type { T } from './t.ts';"), ['./guard.ts', './t.ts']);
});

test('cmd/ parses the command line and starts the helper through src/helper/run/, nothing else', async () => {
  const files = await filesOf('cmd');
  assert.ok(files.includes('cmd/spiffe-helper.ts'), `the command's files are found (${files.join(', ')})`);
  const reached: string[] = [];
  for (const file of files) {
    for (const target of relativeImports(await readFile(join(root, file), 'utf8'))) {
      const resolved = normalize(join(dirname(file), target));
      if (!resolved.startsWith('cmd/') && !COMMAND_REACHES.includes(resolved)) reached.push(`${file} imports ${resolved}`);
    }
  }
  assert.deepEqual(reached, []);
});

test("the command's first import is the debugger-signal guard: nothing runs before it", async () => {
  const [first] = relativeImports(await readFile(join(root, 'cmd/spiffe-helper.ts'), 'utf8'));
  assert.equal(normalize(join('cmd', first!)), DEBUG_SIGNALS);
});
