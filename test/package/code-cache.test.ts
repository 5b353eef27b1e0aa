// The launcher's V8 code cache (scripts/bundle.ts): written once, at the end of a successful run, into
// a directory private to the user; read again by later runs; a cache V8 rejects is replaced; a
// directory that is not the user's own is never written; none of it ever fails a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readFile, readdir, rename, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { HELPER_ENTRY } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { WorkloadApiTestServer } from '../support/workload-api-server.ts';

const run = promisify(execFile);

async function helper(cache: string, args: readonly string[], cwd?: string): Promise<void> {
  await run(process.execPath, [HELPER_ENTRY, ...args], { env: { ...process.env, SPIFFE_HELPER_CODE_CACHE: cache }, cwd, timeout: 60_000 });
}

const files = (dir: string): Promise<string[]> => readdir(dir).catch(() => []);

test('a one-shot run writes its cache into a private directory; the next run reads it and leaves it as it is', async (t) => {
  const dir = await tempDir(t);
  const server = await WorkloadApiTestServer.start();
  t.after(() => server.stop());
  await writeFile(join(dir, 'helper.conf'), `agent_address = "${server.address}"\ncert_dir = "certs"\nsvid_file_name = "svid.pem"\nsvid_key_file_name = "key.pem"\nsvid_bundle_file_name = "bundle.pem"\ndaemon_mode = false\n`);
  const cache = join(dir, 'home', '.cache', 'spiffe-helper');
  await helper(cache, ['-config', 'helper.conf'], dir);
  const [written, ...others] = await files(cache);
  assert.deepEqual(others, [], 'one file, no temporary file left');
  assert.match(written ?? '', /^[0-9a-f]{16}-[0-9a-f]+\.v8$/);
  assert.equal((await stat(cache)).mode & 0o777, 0o700);
  const first = await stat(join(cache, written!));
  assert.equal(first.mode & 0o777, 0o600);
  assert.ok(first.size > 100_000, `a cache of the whole run (${first.size} bytes)`);
  await helper(cache, ['-config', 'helper.conf'], dir);
  const second = await stat(join(cache, written!));
  assert.deepEqual([second.ino, second.mtimeMs], [first.ino, first.mtimeMs], 'an accepted cache is not written again');
});

test('a cache V8 rejects is replaced by a good one, and the run goes on', async (t) => {
  const cache = join(await tempDir(t), 'cache');
  await helper(cache, ['-version']);
  const [name] = await files(cache);
  const garbage = Buffer.alloc(4096, 7);
  await writeFile(join(cache, name!), garbage);
  await helper(cache, ['-version']);
  assert.notDeepEqual(await readFile(join(cache, name!)), garbage);
  const replaced = await stat(join(cache, name!));
  await helper(cache, ['-version']);
  assert.equal((await stat(join(cache, name!))).mtimeMs, replaced.mtimeMs, 'the replacement is accepted');
});

test('a cache file others could have written, or a link to one, is never read: the run makes its own', async (t) => {
  const cache = join(await tempDir(t), 'cache');
  await helper(cache, ['-version']);
  const [name] = await files(cache);
  const path = join(cache, name!);
  // Group-writable: the launcher does not read it, so the run writes a cache of its own in its place.
  await chmod(path, 0o620);
  const planted = await stat(path);
  await helper(cache, ['-version']);
  const after = await stat(path);
  assert.notEqual(after.ino, planted.ino, 'a cache of its own replaced the group-writable one');
  assert.equal(after.mode & 0o777, 0o600);
  // A link in the cache's place, even to a good cache, is not followed.
  const good = join(cache, 'good.v8');
  await rename(path, good);
  await symlink(good, path);
  await helper(cache, ['-version']);
  assert.ok((await lstat(path)).isFile(), 'the link was replaced by a cache file, not read through');
});

test('a failed run writes no cache', async (t) => {
  const dir = await tempDir(t);
  const cache = join(dir, 'cache');
  await assert.rejects(helper(cache, ['-config', join(dir, 'missing.conf')]));
  assert.deepEqual(await files(cache), []);
});

test('no cache is written into a directory that is not private to the user, nor through a link, nor where there can be none', async (t) => {
  const dir = await tempDir(t);
  const open = join(dir, 'open');
  await mkdir(open);
  await chmod(open, 0o777);
  const others = join(dir, 'others');
  await mkdir(others, { mode: 0o700 });
  await chown(others, 65534, 65534);
  const target = join(dir, 'target');
  await mkdir(target, { mode: 0o700 });
  const link = join(dir, 'link');
  await symlink(target, link);
  const file = join(dir, 'file');
  await writeFile(file, '');
  for (const cache of [open, others, link, join(file, 'cache')]) await helper(cache, ['-version']);
  assert.deepEqual([await files(open), await files(others), await files(target)], [[], [], []]);
  assert.equal(await readFile(file, 'utf8'), '');
});

test('SPIFFE_HELPER_CODE_CACHE="" turns the cache off', async (t) => {
  const home = await tempDir(t);
  await run(process.execPath, [HELPER_ENTRY, '-version'], { env: { ...process.env, SPIFFE_HELPER_CODE_CACHE: '', HOME: home, XDG_CACHE_HOME: '' }, timeout: 60_000 });
  assert.deepEqual(await files(home), []);
});

test('the image build makes the cache with the warm-up script, bundled as the Dockerfile does, and the helper then reads it as it is', async (t) => {
  const dir = await tempDir(t);
  const warm = join(dir, 'warm-code-cache.cjs');
  await build({ entryPoints: [new URL('../../scripts/warm-code-cache.ts', import.meta.url).pathname], outfile: warm, bundle: true, platform: 'node', format: 'cjs', target: 'node24', logLevel: 'warning' });
  const cache = join(dir, 'code-cache');
  await run(process.execPath, [warm, cache, process.execPath, '--max-semi-space-size=1', HELPER_ENTRY], { timeout: 120_000 });
  const [name, ...others] = await files(cache);
  assert.deepEqual(others, []);
  const made = await stat(join(cache, name!));
  await helper(cache, ['-version']);
  assert.equal((await stat(join(cache, name!))).mtimeMs, made.mtimeMs, 'the cache made by the daemon run is accepted by a later start');
});
