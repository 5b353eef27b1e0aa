import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as library from '../../src/index.ts';
import { tempDir } from '../support/tmp.ts';
import { spireUnavailable } from '../support/spire.ts';
import { GO_HELPER } from '../../bench/contenders.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
// The package as npm publishes it and the image runs it: built once for every test here.
const build = run('npm', ['run', 'build'], { cwd: root });
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  exports: Record<string, { default: string; types: string }>;
  engines: { node: string };
};

test('the library entry exports the client and the SVID types', () => {
  for (const name of ['WorkloadApiClient', 'parseEndpointAddress', 'WorkloadApiError', 'SpiffeId', 'TrustDomain', 'parseX509Svid', 'verifyX509Svid', 'validateJwtSvid', 'parseJwtBundle']) {
    assert.equal(typeof (library as Record<string, unknown>)[name], 'function', name);
  }
  assert.equal(library.VERSION, pkg.version, 'src/version.ts follows package.json');
});

test('src/workload and src/svid import nothing from the helper\'s modules', async () => {
  for (const dir of ['workload', 'svid']) {
    for (const file of await readdir(`${root}src/${dir}`)) {
      const source = await readFile(`${root}src/${dir}/${file}`, 'utf8');
      for (const [, target] of source.matchAll(/from '(\.\.\/[^']+)'/g)) {
        assert.ok(target!.startsWith('../svid/') || target!.startsWith('../workload/'), `src/${dir}/${file} imports ${target}`);
      }
    }
  }
});

test('the compiled package (what npm publishes and the image runs) works: bin and library entry', async () => {
  await build;
  const { stdout } = await run(process.execPath, [`${root}${pkg.bin['spiffe-helper']}`, '-version']);
  assert.equal(stdout, `spiffe-helper ${pkg.version}\n`);
  const compiled = (await import(`${root}${pkg.exports['.']!.default}`)) as Record<string, unknown>;
  assert.equal(typeof compiled.WorkloadApiClient, 'function');
  await readFile(`${root}${pkg.exports['.']!.types}`);
});

// No Docker engine runs here, so the image is proven by its parts: the Dockerfile's sources exist,
// its entry point is the package's compiled bin, and the runtime stage's contents — the compiled
// JavaScript with production dependencies only — run the helper on the image's default config.
const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
const instructions = dockerfile.split('\n').filter((line) => /^[A-Z]+ /.test(line));

test('the Dockerfile builds on Node 24, copies sources that exist, and runs the compiled bin under tini as a non-root user', async () => {
  const bases = instructions.filter((line) => line.startsWith('FROM ')).map((line) => line.split(' ')[1]!);
  const engineMajor = /\d+/.exec(pkg.engines.node)![0];
  assert.ok(bases.length === 2 && bases.every((base) => base.startsWith(`node:${engineMajor}-`)), bases.join(', '));
  for (const line of instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from'))) {
    const sources = line.split(' ').slice(1, -1);
    for (const source of sources) await stat(join(root, source));
  }
  const entrypoint = JSON.parse(instructions.find((line) => line.startsWith('ENTRYPOINT '))!.slice('ENTRYPOINT '.length)) as string[];
  assert.deepEqual(entrypoint.slice(0, 3), ['/usr/bin/tini', '--', 'node']);
  assert.equal(entrypoint[3], `/opt/spiffe-helper/${pkg.bin['spiffe-helper']!.replace(/^\.\//, '')}`);
  const user = instructions.filter((line) => line.startsWith('USER ')).at(-1);
  assert.ok(user !== undefined && !/USER (root|0)\b/.test(user), 'runs as a non-root user');
});

test("the runtime stage's contents run the helper: compiled JavaScript and production dependencies only", async (t) => {
  const image = await tempDir(t);
  await build;
  for (const path of ['package.json', 'package-lock.json', 'dist']) await cp(join(root, path), join(image, path), { recursive: true });
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: image, timeout: 240_000 });
  const node = join(root, 'node_modules', '.bin', 'node');
  const entry = join(image, pkg.bin['spiffe-helper']!);
  const { stdout } = await run(node, [entry, '-check', '-config', join(root, 'config', 'helper.conf')]);
  assert.match(stdout, /workload API: \/run\/spire\/sockets\/agent\.sock/);
  // The proto file is found from the compiled client, and a one-shot run reports a missing agent.
  const oneShot = await run(node, [entry, '-config', join(root, 'config', 'oneshot.conf')], { env: { ...process.env } }).catch((error: { code: number; stderr: string }) => error);
  assert.equal((oneShot as { code: number }).code, 1);
  assert.match((oneShot as { stderr: string }).stderr, /no Workload API address|no Workload API socket/);
});

// The benchmark (npm run bench) once through with tiny counts, on the package as built, so it keeps
// working; its figures are not asserted (timings belong to the bench, not to shared test machines).
test('the benchmark runs every part and prints a row for each helper and the floor', async () => {
  await build;
  const { stdout } = await run(process.execPath, [join(root, 'bench', 'run.ts'), '--smoke', '--no-build'], { cwd: root, timeout: 240_000 });
  for (const title of ['One-shot fetch from a real SPIRE agent', 'Daemon: idle, then', 'Rotation latency over', 'Writing a 3-file set']) {
    assert.ok(stdout.includes(title), `no "${title}" table in:\n${stdout}`);
  }
  const rows = (name: string) => stdout.split('\n').filter((line) => line.startsWith(name)).length;
  // One-shot (with real SPIRE), daemon and latency each print a row per helper; one-shot adds the floor.
  const withSpire = spireUnavailable() === undefined;
  assert.equal(rows('spiffe-helper (Node, this project)'), withSpire ? 3 : 2, stdout);
  assert.equal(rows('node -e 0'), withSpire ? 1 : 0, stdout);
  if (existsSync(GO_HELPER)) assert.equal(rows('spiffe-helper v0.11.0 (Go)'), withSpire ? 3 : 2, stdout);
});
