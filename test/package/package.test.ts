import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import * as library from '../../src/index.ts';
import { docExamples } from '../support/doc-examples.ts';
import { tempDir } from '../support/tmp.ts';
import { WorkloadApiTestServer } from '../support/workload-api-server.ts';

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

const LIBRARY = ['svid', 'workload', 'sources', 'tls'];

test('the library modules (svid, workload, sources, tls) import nothing from the helper\'s modules', async () => {
  for (const dir of LIBRARY) {
    for (const file of await readdir(`${root}src/${dir}`)) {
      const source = await readFile(`${root}src/${dir}/${file}`, 'utf8');
      for (const [, target] of source.matchAll(/from '(\.\.\/[^']+)'/g)) {
        assert.ok(LIBRARY.some((module) => target!.startsWith(`../${module}/`)), `src/${dir}/${file} imports ${target}`);
      }
    }
  }
});

const USE_LIBRARY = join(root, 'test', 'package', 'fixtures', 'use-library.ts');
const CLI_ONLY = /\/node_modules\/(pino|pino-pretty|chokidar|execa|toml)\/|\/(src|dist\/src)\/(config|helper|log|output|process|health)\/|\/cmd\//;

interface LibraryRun {
  node: string;
  loaded: string[];
  exports: string[];
  answer?: string;
}

async function useLibrary(node: string, entry: string, endpoint?: string): Promise<LibraryRun> {
  const { stdout } = await run(node, [USE_LIBRARY, entry, ...(endpoint === undefined ? [] : [endpoint])], { timeout: 60_000 });
  return JSON.parse(stdout) as LibraryRun;
}

/** Two identities, picked by hint by the fixture's mTLS round trip. */
async function mtlsApi(t: { after(fn: () => unknown): void }): Promise<WorkloadApiTestServer> {
  const api = await WorkloadApiTestServer.start({ svids: [{ spiffeId: 'spiffe://example.org/server', hint: 'server' }, { spiffeId: 'spiffe://example.org/client', hint: 'client' }] });
  t.after(() => api.stop());
  return api;
}

test('the library entry loads none of the command\'s dependencies (pino, chokidar, execa, toml) nor its modules', async () => {
  const { loaded, exports } = await useLibrary(process.execPath, join(root, 'src', 'index.ts'));
  assert.ok(loaded.some((url) => url.includes('/node_modules/@grpc/grpc-js/')), 'the module recorder sees what the library loads');
  assert.deepEqual(loaded.filter((url) => CLI_ONLY.test(url)), []);
  for (const name of ['X509Source', 'JwtSource', 'BundleSource', 'tlsClientOptions', 'createHttpsServer', 'createTlsServer', 'createHttp2SecureServer', 'authorizeId', 'verifyX509Svid', 'fetchX509Svid', 'fetchJwtSvid']) {
    assert.ok(exports.includes(name), name);
  }
});

const NODE22 = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'spiffe-helper-test', 'node-22', 'bin', 'node');
const node22Missing = existsSync(NODE22) ? undefined : `no Node 22 binary at ${NODE22} (scripts/test-deps.sh fetches it from npm)`;
if (node22Missing !== undefined && process.env.CI === 'true') throw new Error(node22Missing);

for (const [label, node, skip] of [['Node 24', process.execPath, undefined], ['Node 22', NODE22, node22Missing]] as const) {
  test(`the compiled library runs on ${label}: an mTLS round trip on two sources, without loading the command's dependencies`, { skip }, async (t) => {
    await build;
    const api = await mtlsApi(t);
    const result = await useLibrary(node, join(root, pkg.exports['.']!.default), api.address);
    assert.match(result.node, label === 'Node 22' ? /^v22\./ : /^v24\./);
    assert.equal(result.answer, 'mTLS ok');
    assert.deepEqual(result.loaded.filter((url) => CLI_ONLY.test(url)), []);
  });
}

test('the compiled package (what npm publishes and the image runs) works: bin and library entry', async () => {
  await build;
  const { stdout } = await run(process.execPath, [`${root}${pkg.bin['spiffe-helper']}`, '-version']);
  assert.equal(stdout, `spiffe-helper ${pkg.version}\n`);
  const compiled = (await import(`${root}${pkg.exports['.']!.default}`)) as Record<string, unknown>;
  assert.equal(typeof compiled.WorkloadApiClient, 'function');
  await readFile(`${root}${pkg.exports['.']!.types}`);
});

test("the shipped types: docs/library.md's examples type-check as a consumer's code against the compiled package", async (t) => {
  await build;
  const consumer = await tempDir(t);
  await mkdir(join(consumer, 'node_modules', '@types'), { recursive: true });
  await symlink(root, join(consumer, 'node_modules', 'spiffe-helper'));
  await symlink(join(root, 'node_modules', '@types', 'node'), join(consumer, 'node_modules', '@types', 'node'));
  await writeFile(join(consumer, 'package.json'), '{ "type": "module" }');
  const examples = await docExamples(join(root, 'docs', 'library.md'));
  for (const [name, code] of examples) await writeFile(join(consumer, `${name}.ts`), code);
  const config = { compilerOptions: { target: 'es2024', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: ['node'] }, include: ['*.ts'] };
  await writeFile(join(consumer, 'tsconfig.json'), JSON.stringify(config));
  const checked = await run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', consumer]).catch((error: { stdout: string }) => error);
  assert.equal((checked as { stdout: string }).stdout, '', 'tsc reports nothing');
  assert.ok(examples.size >= 3);
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
