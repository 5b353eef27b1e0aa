// docs/install.md and README's install section, followed step by step from the packed tarball (what
// `npm pack` of a checkout makes): install into a prefix, run the bin, -check every shipped config,
// verify the shipped unit; and an app installing the tarball as a dependency imports both entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../support/tmp.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const node = process.execPath;
// Dependencies come from npm's cache when it has them (npm ci filled it); the registry otherwise.
const NPM_INSTALL = ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'];
const build = stat(join(root, 'dist', 'bin', 'spiffe-helper.js')).catch(() => {
  throw new Error('dist/ is not built: run `npm run build` (npm test does) before these tests');
});

/** `npm pack` of this checkout (dist/ is already built: the pack's own prepare is skipped). */
async function pack(dir: string): Promise<{ tarball: string; files: string[] }> {
  await build;
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  return { tarball: join(dir, packed!.filename), files: packed!.files.map((file) => file.path) };
}

test('docs/install.md from the packed tarball: install into a prefix, -check each shipped config, verify the unit', { timeout: 300_000 }, async (t) => {
  const dir = await tempDir(t);
  const { tarball, files } = await pack(dir);
  for (const needed of ['deploy/systemd/spiffe-helper.service', 'deploy/systemd/helper.conf', 'docs/install.md', 'config/dev.conf', 'dist/bin/spiffe-helper.js', 'dist/src/spiffe/dev/index.js']) {
    assert.ok(files.includes(needed), `the tarball carries ${needed}`);
  }
  // Step 2: the tarball into the prefix, then only its runtime dependencies, without install scripts.
  const prefix = join(dir, 'opt', 'spiffe-helper');
  await mkdir(prefix, { recursive: true });
  await run('tar', ['-xzf', tarball, '--strip-components=1', '-C', prefix]);
  await run('npm', NPM_INSTALL, { cwd: prefix, timeout: 240_000 });
  const bin = join(prefix, 'dist', 'bin', 'spiffe-helper.js');
  assert.equal((await run(node, [bin, '-version'])).stdout, `spiffe-helper ${JSON.parse((await run('npm', ['pkg', 'get', 'version'], { cwd: root })).stdout)}\n`);

  // Step 3: -check on the shipped configs. The ones that name no agent get it the way the guide says:
  // $SPIFFE_ENDPOINT_SOCKET, or -dev for the laptop config.
  const configs = [join('deploy', 'systemd', 'helper.conf'), ...(await readdir(join(prefix, 'config'))).map((name) => join('config', name))];
  assert.ok(configs.length >= 6, configs.join(', '));
  const env = { ...process.env, SPIFFE_ENDPOINT_SOCKET: 'unix:///run/spire/sockets/agent.sock' };
  for (const config of configs) {
    const flags = config.endsWith('dev.conf') ? ['-dev'] : [];
    const checked = await run(node, [bin, '-check', ...flags, '-config', config], { cwd: prefix, env }).catch((error: { stderr: string }) => error);
    assert.match((checked as { stdout?: string }).stdout ?? '', /^config: /, `${config}: ${(checked as { stderr: string }).stderr}`);
  }
  if (existsSync('/usr/bin/systemd-analyze')) await run('systemd-analyze', ['verify', join(prefix, 'deploy', 'systemd', 'spiffe-helper.service')]);
});

test('README, for app developers: an app installs the tarball and imports spiffe-helper and spiffe-helper/dev', { timeout: 300_000 }, async (t) => {
  const dir = await tempDir(t);
  const { tarball } = await pack(dir);
  const app = join(dir, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), '{ "name": "app", "private": true, "type": "module" }\n');
  await run('npm', [...NPM_INSTALL, tarball], { cwd: app, timeout: 240_000 });
  await writeFile(
    join(app, 'check.js'),
    `import { startDevWorkloadApi } from 'spiffe-helper/dev';
import { X509Source } from 'spiffe-helper';
const api = await startDevWorkloadApi({ spiffeId: 'spiffe://example.org/app' });
const source = await X509Source.create({ endpoint: api.endpoint });
console.log(source.svid.id.toString());
await source.close();
await api.close();
`,
  );
  assert.equal((await run(node, ['check.js'], { cwd: app, timeout: 60_000 })).stdout, 'spiffe://example.org/app\n');
});
