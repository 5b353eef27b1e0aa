import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, lstat, mkdir, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileSetWriter, OutputError, type OutputFile } from '../../src/helper/output/index.ts';
import { notRoot, systemUser } from '../support/system-user.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';

const set = (n: number, mode = 0o644): OutputFile[] => [
  { name: 'a', content: `gen ${n}\n${'x'.repeat(8192)}\nend\n`, mode },
  { name: 'b', content: `gen ${n}\nend\n`, mode: 0o600 },
];

test('a concurrent reader never sees a torn, empty or mixed set across hundreds of generations', async (t) => {
  const dir = join(await tempDir(t), 'out');
  const writer = new FileSetWriter(dir);
  await writer.write(set(0));
  const stopFile = join(dir, '..stop');
  const reader = spawn(process.execPath, [new URL('./fixtures/pair-reader.ts', import.meta.url).pathname, dir, stopFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => reader.kill('SIGKILL'));
  let output = '';
  reader.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  for (let n = 1; n <= 300; n++) assert.equal((await writer.write(set(n))).changed, true);
  await writeFile(stopFile, '');
  await waitFor(() => reader.exitCode !== null, { what: 'the reader to finish', timeoutMs: 20_000 });
  assert.equal(reader.exitCode, 0);
  const seen = JSON.parse(output) as Record<string, number>;
  assert.equal(seen.torn, 0, output);
  assert.equal(seen.empty, 0, output);
  assert.equal(seen.missing, 0, output);
  assert.ok(seen.viaData! > 0 && seen.viaNames! > 0, output);
  assert.ok(seen.generations! > 1, `the reader saw the set change: ${output}`);
});

test('the layout: visible symlinks into ..data, modes applied whatever the umask, directory traversable', async (t) => {
  const root = await tempDir(t);
  for (const umask of ['077', '000']) {
    const dir = join(root, `umask-${umask}`, 'nested');
    const script = `process.umask(0o${umask}); const { FileSetWriter } = await import(${JSON.stringify(new URL('../../src/helper/output/index.ts', import.meta.url).href)});
await new FileSetWriter(${JSON.stringify(dir)}).write([{ name: 'cert.pem', content: 'c', mode: 0o644 }, { name: 'key.pem', content: 'k', mode: 0o600 }]);`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal((await stat(dir)).mode & 0o777, 0o755, `dir mode with umask ${umask}`);
    assert.equal((await stat(join(dir, 'cert.pem'))).mode & 0o777, 0o644, `cert mode with umask ${umask}`);
    assert.equal((await stat(join(dir, 'key.pem'))).mode & 0o777, 0o600, `key mode with umask ${umask}`);
    assert.equal(await readlink(join(dir, 'key.pem')), '..data/key.pem');
    const generation = await readlink(join(dir, '..data'));
    assert.equal((await stat(join(dir, generation))).mode & 0o777, 0o755);
  }
});

test('unchanged content writes nothing; a changed mode or a removed name does', async (t) => {
  const dir = await tempDir(t);
  const writer = new FileSetWriter(dir);
  assert.deepEqual(await writer.write(set(1)), { changed: true });
  const first = await readlink(join(dir, '..data'));
  assert.deepEqual(await writer.write(set(1)), { changed: false });
  assert.equal(await readlink(join(dir, '..data')), first);
  assert.deepEqual(await new FileSetWriter(dir).write(set(1)), { changed: false }, 'a restarted helper compares with the disk');
  assert.deepEqual(await writer.write(set(1, 0o640)), { changed: true });
  assert.equal((await stat(join(dir, 'a'))).mode & 0o777, 0o640);
  assert.deepEqual(await writer.write([set(2)[0]!]), { changed: true });
  await assert.rejects(lstat(join(dir, 'b')), { code: 'ENOENT' });
  assert.deepEqual([...(await writer.current())!.keys()], ['a']);
  const generations = (await readdir(dir)).filter((e) => e.startsWith('..2'));
  assert.equal(generations.length, 2, 'the current and the previous generation are kept');
});

test("the Go helper's regular files are replaced by the symlink layout", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a'), 'old regular file');
  await writeFile(join(dir, 'unrelated.txt'), 'keep me');
  await new FileSetWriter(dir).write(set(1));
  assert.ok((await lstat(join(dir, 'a'))).isSymbolicLink());
  assert.match(await readFile(join(dir, 'a'), 'utf8'), /^gen 1\n/);
  assert.equal(await readFile(join(dir, 'unrelated.txt'), 'utf8'), 'keep me');
});

test('planted symlinks are replaced, never written through', async (t) => {
  const root = await tempDir(t);
  const outside = join(root, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'passwd'), 'secret');
  await writeFile(join(outside, 'a'), 'outside a');
  const before = await stat(join(outside, 'passwd'));
  const dir = join(root, 'certs');
  await mkdir(dir);
  await symlink(join(outside, 'passwd'), join(dir, 'a'));
  await symlink(outside, join(dir, '..data'));
  await new FileSetWriter(dir).write(set(1));
  assert.equal(await readFile(join(outside, 'passwd'), 'utf8'), 'secret');
  assert.equal(await readFile(join(outside, 'a'), 'utf8'), 'outside a');
  assert.equal((await stat(join(outside, 'passwd'))).mtimeMs, before.mtimeMs);
  assert.deepEqual(await readdir(outside), ['a', 'passwd']);
  assert.match(await readFile(join(dir, 'a'), 'utf8'), /^gen 1\n/);
  assert.notEqual(await readlink(join(dir, '..data')), outside);
});

test('bad names are refused and a failed write keeps the previous set', async (t) => {
  const dir = await tempDir(t);
  const writer = new FileSetWriter(dir);
  await assert.rejects(writer.write([{ name: '../x', content: '', mode: 0o644 }]), OutputError);
  await assert.rejects(writer.write([{ name: '..data', content: '', mode: 0o644 }]), /not a usable file name/);
  await assert.rejects(writer.write([...set(1), { name: 'a', content: '', mode: 0o644 }]), /appears twice/);
  await writer.write(set(1));
  // A directory where a visible file must go cannot be replaced: the write fails, the old set stays.
  await mkdir(join(dir, 'c'));
  await assert.rejects(writer.write([...set(2), { name: 'c', content: 'c', mode: 0o644 }]), (error: unknown) => {
    assert.ok(error instanceof OutputError);
    assert.match(error.message, /is a directory/);
    return true;
  });
  assert.match(await readFile(join(dir, 'a'), 'utf8'), /^gen 1\n/);
  assert.match(await readFile(join(dir, 'b'), 'utf8'), /^gen 1\n/);
  assert.equal((await readdir(dir)).filter((e) => e.startsWith('..2')).length, 1, 'no partial generation is left behind');
});

test('an output directory that cannot be created is a clear error', async (t) => {
  const root = await tempDir(t);
  await writeFile(join(root, 'file'), '');
  await assert.rejects(new FileSetWriter(join(root, 'file')).write(set(1)), /cannot open the output directory .*file: .*file is not a directory/);
  await chmod(root, 0o755);
});

test('carry: a write keeps the current content of every carried name it has no new content for', async (t) => {
  const dir = await tempDir(t);
  await new FileSetWriter(dir).write(set(1));
  // A fresh writer (a restarted helper) that only has new content for "a".
  const writer = new FileSetWriter(dir);
  assert.deepEqual(await writer.write([set(2)[0]!], { carry: ['b', 'never-written'] }), { changed: true });
  assert.match(await readFile(join(dir, 'a'), 'utf8'), /^gen 2\n/);
  assert.match(await readFile(join(dir, 'b'), 'utf8'), /^gen 1\n/, 'b carried from the previous set');
  assert.equal((await stat(join(dir, 'b'))).mode & 0o777, 0o600, 'with its mode');
  await assert.rejects(lstat(join(dir, 'never-written')), { code: 'ENOENT' });
  assert.deepEqual(await writer.write([set(2)[0]!], { carry: ['b'] }), { changed: false }, 'carried content counts as unchanged');
});

test("carry 'all': every file of the set on disk that the write has nothing for stays, with its mode", async (t) => {
  const dir = await tempDir(t);
  await new FileSetWriter(dir).write([...set(1), { name: 'federated_partner.pem', content: 'roots\n', mode: 0o640 }]);
  const writer = new FileSetWriter(dir);
  assert.deepEqual(await writer.write([set(2)[0]!], { carry: 'all' }), { changed: true });
  assert.match(await readFile(join(dir, 'a'), 'utf8'), /^gen 2\n/);
  assert.match(await readFile(join(dir, 'b'), 'utf8'), /^gen 1\n/);
  assert.equal(await readFile(join(dir, 'federated_partner.pem'), 'utf8'), 'roots\n');
  assert.equal((await stat(join(dir, 'federated_partner.pem'))).mode & 0o777, 0o640);
  // Without it, the next write makes the set exactly what it is given.
  await writer.write(set(3));
  await assert.rejects(lstat(join(dir, 'federated_partner.pem')), { code: 'ENOENT' });
});

test("carry never takes another user's file: one planted set-uid in a 0777 cert_dir is not made root's", { skip: notRoot }, async (t) => {
  const base = await tempDir(t);
  await chmod(base, 0o755);
  const user = await systemUser(t);
  for (const layout of ['generations', 'files'] as const) {
    // An emptyDir: every container of the pod, whatever its uid, may change it.
    const dir = join(base, layout);
    await mkdir(dir, { mode: 0o777 });
    await chmod(dir, 0o777);
    await new FileSetWriter(dir, { layout }).write(set(1));
    // The attacker's own program, set-uid, at a name the next write carries: in a generation of
    // their own that ..data is pointed at, or in place of the plain file.
    const planted = layout === 'generations'
      ? 'mkdir ..20200101T000000000Z.0badc0de && cp /bin/sh ..20200101T000000000Z.0badc0de/b && chmod 4755 ..20200101T000000000Z.0badc0de/b && ln -sfn ..20200101T000000000Z.0badc0de ..data'
      : 'rm -f b && cp /bin/sh b && chmod 4755 b';
    await user.run('sh', ['-c', planted], { cwd: dir });
    // A restarted helper with new content for "a" only: "b" is carried. Then the attacker removes
    // "b", and the helper writes the set it keeps again, as its drift guard does.
    const writer = new FileSetWriter(dir, { layout });
    await writer.write([set(2)[0]!], { carry: layout === 'generations' ? 'all' : ['b'] });
    await user.run('rm', ['-f', 'b'], { cwd: dir });
    await writer.restore();
    const b = await stat(join(dir, 'b')).catch(() => undefined);
    assert.ok(b === undefined || b.uid === user.uid, `${layout}: b is the attacker's own file or gone, not copied as root's (uid ${b?.uid}, mode ${b?.mode.toString(8)})`);
    assert.match(await readFile(join(dir, 'a'), 'utf8'), /^gen 2\n/, layout);
  }
});

test('a name of 250 bytes is written and linked like any other (the swap never leaves a name unlinked)', async (t) => {
  const dir = await tempDir(t);
  const writer = new FileSetWriter(dir);
  await writer.write(set(1));
  const long = `${'n'.repeat(246)}.pem`;
  await writer.write([...set(2), { name: long, content: 'long\n', mode: 0o644 }]);
  assert.equal(await readFile(join(dir, long), 'utf8'), 'long\n');
  assert.match(await readFile(join(dir, 'a'), 'utf8'), /^gen 2\n/);
  assert.deepEqual((await readdir(dir)).filter((e) => e.includes('tmp') || e.startsWith('..link')), [], 'no temporary link left');
});

test('verify() names a missing or altered file, and writing the last set again repairs it', async (t) => {
  const root = await tempDir(t);
  const dir = join(root, 'out');
  const writer = new FileSetWriter(dir);
  assert.equal(await writer.verify(), undefined, 'nothing written yet: nothing to miss');
  await writer.write(set(1));
  assert.equal(await writer.verify(), undefined);
  await rm(join(dir, 'b'));
  assert.match((await writer.verify())!, /b is missing/);
  await writer.restore();
  assert.equal(await writer.verify(), undefined);
  const generation = await readlink(join(dir, '..data'));
  await chmod(join(dir, generation), 0o755);
  await writeFile(join(dir, generation, 'a'), 'tampered');
  assert.match((await writer.verify())!, /a was altered/);
  await rm(dir, { recursive: true, force: true });
  assert.match((await writer.verify())!, /is missing/);
  assert.deepEqual(await writer.restore(), { changed: true });
  assert.match(await readFile(join(dir, 'a'), 'utf8'), /^gen 1\n/);
  assert.match(await readFile(join(dir, 'b'), 'utf8'), /^gen 1\n/);
  await rm(root, { recursive: true, force: true });
  await assert.rejects(writer.restore(), /cannot open the output directory .*is missing/);
  await assert.rejects(lstat(root), { code: 'ENOENT' }, 'a vanished tree is not made again');
});
