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

/** Every relative module a file names: static imports and re-exports, dynamic imports, import types. */
function relativeImports(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map(([, target]) => target!);
}

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
});
