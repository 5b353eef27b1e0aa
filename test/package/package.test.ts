import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import * as library from '../../src/spiffe/index.ts';
import { docExamples } from '../support/doc-examples.ts';
import { tempDir } from '../support/tmp.ts';
import { spireUnavailable } from '../support/spire.ts';
import { GO_HELPER } from '../../bench/contenders.ts';
import { startDevWorkloadApi, type DevWorkloadApi } from '../../src/spiffe/dev/index.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  bin: Record<string, string>;
  exports: Record<string, { default: string; types: string }>;
  devDependencies: Record<string, string>;
};
// The package as npm publishes it and the image runs it: `npm test` builds it before any test runs
// (other test files start the helper from it, so it is never rebuilt under them).
const build = stat(join(root, pkg.bin['spiffe-helper']!)).catch(() => {
  throw new Error('dist/ is not built: run `npm run build` (npm test does) before these tests');
});

test('the library entry exports the client and the SVID types', () => {
  for (const name of ['WorkloadApiClient', 'parseEndpointAddress', 'WorkloadApiError', 'SpiffeId', 'TrustDomain', 'parseX509Svid', 'verifyX509Svid', 'validateJwtSvid', 'parseJwtBundle']) {
    assert.equal(typeof (library as Record<string, unknown>)[name], 'function', name);
  }
  assert.equal(library.VERSION, pkg.version, 'src/spiffe/version.ts follows package.json');
});

const USE_LIBRARY = join(root, 'test', 'package', 'fixtures', 'use-library.ts');
const CLI_ONLY = /\/node_modules\/(pino|pino-pretty|chokidar|execa|toml)\/|\/(src|dist\/src)\/helper\/|\/cmd\//;

interface LibraryRun {
  node: string;
  loaded: string[];
  exports: string[];
  answer?: string;
}

async function useLibrary(t: { after(fn: () => unknown): void }, node: string, entry: string, endpoint?: string): Promise<LibraryRun> {
  const record = join(await tempDir(t), 'modules.txt');
  const recorder = join(root, 'test', 'package', 'fixtures', 'record-modules.ts');
  const args = ['--import', recorder, USE_LIBRARY, entry, ...(endpoint === undefined ? [] : [endpoint])];
  const { stdout } = await run(node, args, { timeout: 60_000, env: { ...process.env, RECORD_MODULES: record } });
  const loaded = (await readFile(record, 'utf8')).split('\n').map((line) => line.replace(/^\w+ /, ''));
  return { ...(JSON.parse(stdout) as Omit<LibraryRun, 'loaded'>), loaded };
}

/** Two identities, picked by hint by the fixture's mTLS round trip. */
async function mtlsApi(t: { after(fn: () => unknown): void }): Promise<DevWorkloadApi> {
  const api = await startDevWorkloadApi({ svids: [{ spiffeId: 'spiffe://example.org/server', hint: 'server' }, { spiffeId: 'spiffe://example.org/client', hint: 'client' }] });
  t.after(() => api.close());
  return api;
}

test('the library entry loads none of the command\'s dependencies (pino, chokidar, execa, toml) nor its modules', async (t) => {
  const { loaded, exports } = await useLibrary(t, process.execPath, join(root, 'src', 'spiffe', 'index.ts'));
  assert.ok(loaded.some((url) => url.includes('/node_modules/@grpc/grpc-js/')), 'the module recorder sees what the library loads');
  assert.deepEqual(loaded.filter((url) => CLI_ONLY.test(url)), []);
  for (const name of ['X509Source', 'JwtSource', 'BundleSource', 'tlsClientOptions', 'createHttpsServer', 'createTlsServer', 'createHttp2SecureServer', 'grpcCredentials', 'authorizeId', 'verifyX509Svid', 'fetchX509Svid', 'fetchJwtSvid']) {
    assert.ok(exports.includes(name), name);
  }
});

test('the development entry (spiffe-helper/dev) loads none of the command\'s dependencies nor its modules', async (t) => {
  await build;
  const { loaded, exports } = await useLibrary(t, process.execPath, join(root, pkg.exports['./dev']!.default));
  assert.ok(loaded.some((url) => url.includes('/node_modules/@grpc/grpc-js/')), 'the module recorder sees what the entry loads');
  assert.deepEqual(loaded.filter((url) => CLI_ONLY.test(url)), []);
  assert.deepEqual(exports, ['SpiffeIdError', 'startDevWorkloadApi']);
});

const NODE22 = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'spiffe-helper-test', 'node-22', 'bin', 'node');
const node22Missing = existsSync(NODE22) ? undefined : `no Node 22 binary at ${NODE22} (scripts/test-deps.sh fetches it from npm)`;
if (node22Missing !== undefined && process.env.CI === 'true') throw new Error(node22Missing);

for (const [label, node, skip] of [['Node 24', process.execPath, undefined], ['Node 22', NODE22, node22Missing]] as const) {
  test(`the compiled library runs on ${label}: an mTLS round trip on two sources, without loading the command's dependencies`, { skip }, async (t) => {
    await build;
    const api = await mtlsApi(t);
    const result = await useLibrary(t, node, join(root, pkg.exports['.']!.default), api.endpoint);
    assert.match(result.node, label === 'Node 22' ? /^v22\./ : /^v24\./);
    assert.equal(result.answer, 'mTLS ok');
    assert.deepEqual(result.loaded.filter((url) => CLI_ONLY.test(url)), []);
  });
}

// Older Nodes a user may have: the machine's (Debian's is 20) and the Node 22 the library is tested on.
const OLDER_NODES = [NODE22, '/usr/bin/node', '/usr/local/bin/node'].filter((node, index, all) => existsSync(node) && all.indexOf(node) === index);

test('the bin on an older Node says in one line which Node it needs, and npm has no engines to warn about on every npx run', async () => {
  await build;
  assert.equal((pkg as { engines?: unknown }).engines, undefined);
  const older = [];
  for (const node of OLDER_NODES) {
    const { stdout } = await run(node, ['--version']);
    if (Number(/^v(\d+)/.exec(stdout)![1]) < 24) older.push(node);
  }
  for (const node of older) {
    const failed = await run(node, [`${root}${pkg.bin['spiffe-helper']}`, '-version']).catch((error: { code: number; stderr: string }) => error);
    assert.equal((failed as { code: number }).code, 1, node);
    assert.match((failed as { stderr: string }).stderr, /^spiffe-helper: needs Node\.js 24\.11 or later; this is v\d+\.\d+\.\d+ \(.+\)\n$/, node);
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

// No Docker engine runs here, so the image is proven by its parts: the Dockerfile's rules, and its
// payload — the package's dist/bin, nothing else — running a one-shot fetch on its own.
const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
// Instructions with their continuation lines joined.
const instructions = dockerfile.replace(/\\\n\s*/g, ' ').split('\n').filter((line) => /^[A-Z]+ /.test(line));
const finalStage = instructions.slice(instructions.findLastIndex((line) => line.startsWith('FROM ')));
const binDir = dirname(pkg.bin['spiffe-helper']!.replace(/^\.\//, ''));

test('the Dockerfile: distroless Node 24, only the bundle and the HCL parser, a numeric non-root user, OCI labels, read-only root ready', async () => {
  // The image's Node is the one the project builds and tests with: the node devDependency.
  const engineMajor = /\d+/.exec(pkg.devDependencies.node!)![0];
  assert.equal(finalStage[0], `FROM gcr.io/distroless/nodejs${engineMajor}-debian12:nonroot`);
  for (const line of instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from'))) {
    for (const source of line.split(' ').slice(1, -1)) await stat(join(root, source));
  }
  // The runtime stage takes the bundle directory, tini and the HCL parser's code from the build stage,
  // and no other node_modules.
  const fromBuild = finalStage.filter((line) => line.startsWith('COPY --from=build')).map((line) => line.split(' ')[2]);
  const hclParser = ['/build/node_modules/js-hcl-parser/package.json', '/build/node_modules/js-hcl-parser/dist/'];
  assert.deepEqual(fromBuild.sort(), ['/build/' + binDir + '/', '/usr/bin/tini-static', ...hclParser].sort());
  const user = finalStage.filter((line) => line.startsWith('USER ')).at(-1);
  assert.match(user ?? '', /^USER [1-9]\d*:[1-9]\d*$/, 'a numeric, non-root uid:gid');
  const entrypoint = JSON.parse(finalStage.find((line) => line.startsWith('ENTRYPOINT '))!.slice('ENTRYPOINT '.length)) as string[];
  assert.deepEqual(entrypoint.slice(0, 3), ['/usr/local/bin/tini', '--', '/nodejs/bin/node']);
  assert.ok(entrypoint.includes('--disable-sigusr1'), 'SIGUSR1 opens no inspector, even before the launcher runs');
  assert.equal(entrypoint.at(-1), `/opt/spiffe-helper/${basename(pkg.bin['spiffe-helper']!)}`);
  const labels = Object.fromEntries(
    [...finalStage.filter((line) => line.startsWith('LABEL ')).join(' ').matchAll(/(org\.opencontainers\.image\.[a-z.]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
  );
  assert.equal(labels['org.opencontainers.image.version'], pkg.version);
  assert.equal(labels['org.opencontainers.image.licenses'], pkg.license);
  for (const key of ['title', 'description', 'base.name']) assert.ok(labels[`org.opencontainers.image.${key}`], key);
  // A read-only root: the code cache is made at build time, in a stage of its own on the same base
  // image, and the launcher is told where it is.
  const cache = /^ENV SPIFFE_HELPER_CODE_CACHE=(\S+)$/.exec(finalStage.find((line) => line.startsWith('ENV SPIFFE_HELPER_CODE_CACHE=')) ?? '')?.[1];
  assert.ok(cache?.startsWith('/opt/spiffe-helper/'), 'SPIFFE_HELPER_CODE_CACHE inside the image');
  assert.ok(finalStage.some((line) => line.startsWith('COPY --from=code-cache ') && line.endsWith(` ${cache}/`)), 'the cache is copied where the launcher looks');
  const cacheStage = instructions.slice(instructions.findIndex((line) => line.endsWith(' AS code-cache')), instructions.findLastIndex((line) => line.startsWith('FROM ')));
  assert.equal(cacheStage[0], `${finalStage[0]} AS code-cache`, 'made on the image the helper runs on');
  // The cache is keyed on V8's version and flags: it is made by the entry point's own node command line.
  const warm = JSON.parse(cacheStage.find((line) => line.startsWith('RUN ["/nodejs/bin/node"'))!.slice('RUN '.length)) as string[];
  assert.deepEqual(warm.slice(2), [cache, ...entrypoint.slice(2)]);
});

test('the packed package (npm pack) runs a one-shot fetch from an empty directory with its bin alone, as the image does', async (t) => {
  await build;
  const dir = await tempDir(t);
  const packed = JSON.parse((await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root })).stdout) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((file) => file.path);
  assert.ok(files.includes(pkg.bin['spiffe-helper']!.replace(/^\.\//, '')), 'the bin is packed');
  assert.ok(!files.some((file) => file.endsWith('.proto')), 'no .proto: the descriptor is built in');
  const tarball = join(dir, packed[0]!.filename);
  await run('tar', ['-xzf', tarball, '-C', dir]);
  // Only what the image copies, in a directory with no node_modules anywhere above it.
  const image = join(dir, 'opt');
  await cp(join(dir, 'package', binDir), image, { recursive: true });
  // ...and the HCL parser the bundle loads only for HCL configs, where the Dockerfile puts it.
  const hclParser = instructions.filter((line) => line.startsWith('COPY --from=build /build/node_modules/js-hcl-parser/'));
  assert.ok(hclParser.length > 0, 'the image carries the HCL parser');
  for (const line of hclParser) {
    const [from, to] = line.split(' ').slice(2) as [string, string];
    await cp(join(root, from.replace('/build/', '')), join(image, to.replace('/opt/spiffe-helper/', '')), { recursive: true });
  }
  const work = join(dir, 'work');
  await mkdir(work);
  const api = await startDevWorkloadApi();
  t.after(() => api.close());
  await writeFile(join(work, 'helper.conf'), `agent_address = "${api.endpoint}"\ncert_dir = "certs"\nsvid_file_name = "tls.crt"\nsvid_key_file_name = "tls.key"\nsvid_bundle_file_name = "ca.crt"\ndaemon_mode = false\n`);
  // A code cache that cannot be written (its path is under a file), as on a read-only root.
  const env = { ...process.env, SPIFFE_HELPER_CODE_CACHE: join(tarball, 'code-cache') };
  await run(process.execPath, [join(image, basename(pkg.bin['spiffe-helper']!)), '-config', 'helper.conf'], { cwd: work, env, timeout: 60_000 });
  const written = new X509Certificate(await readFile(join(work, 'certs', 'tls.crt')));
  assert.equal(written.serialNumber, new X509Certificate(api.x509Svids[0]!.chainDer).serialNumber);
  await readFile(join(work, 'certs', 'tls.key'));
  await readFile(join(work, 'certs', 'ca.crt'));
  // A Go helper's HCL config, unchanged, in the same payload.
  await writeFile(join(work, 'go-helper.conf'), `agent_address = "${api.endpoint}"\ncert_dir = "go-certs"\nsvid_file_name = "svid.pem"\nsvid_key_file_name = "svid_key.pem"\nsvid_bundle_file_name = "svid_bundle.pem"\ncert_file_mode = 0644\ndaemon_mode = false\nhealth_checks {\n  listener_enabled = false\n}\n`);
  await run(process.execPath, [join(image, basename(pkg.bin['spiffe-helper']!)), '-config', 'go-helper.conf'], { cwd: work, env, timeout: 60_000 });
  assert.equal(new X509Certificate(await readFile(join(work, 'go-certs', 'svid.pem'))).serialNumber, written.serialNumber);
});

// The benchmark (npm run bench) once through with tiny counts, on the package as built, so it keeps
// working; its figures are not asserted (timings belong to the bench, not to shared test machines).
test('the benchmark runs every part and prints a row for each helper and the floor', async () => {
  await build;
  const { stdout } = await run(process.execPath, [join(root, 'bench', 'run.ts'), '--smoke', '--no-build'], { cwd: root, timeout: 240_000 });
  for (const title of ['One-shot fetch from a real SPIRE agent', 'before the agent\'s socket exists', 'Daemon: idle, then', 'Daemon at rest with its health listener', '-CA trust bundle', 'Rotation latency over', 'Writing a 3-file set', 'The library: mTLS by SPIFFE ID']) {
    assert.ok(stdout.includes(title), `no "${title}" table in:\n${stdout}`);
  }
  const rows = (name: string) => stdout.split('\n').filter((line) => line.startsWith(name)).length;
  // One-shot (with real SPIRE), the late socket, daemon, listener, big bundle and latency each print a
  // row per helper; one-shot adds this helper with a cold code cache, an empty Node and the floor.
  const withSpire = spireUnavailable() === undefined;
  assert.equal(rows('spiffe-helper (Node, this project)'), withSpire ? 7 : 5, stdout);
  assert.equal(rows('node -e 0'), withSpire ? 1 : 0, stdout);
  assert.equal(rows('node loading http2, tls, crypto, net'), withSpire ? 1 : 0, stdout);
  if (existsSync(GO_HELPER)) assert.equal(rows('spiffe-helper v0.11.0 (Go)'), withSpire ? 6 : 5, stdout);
});
