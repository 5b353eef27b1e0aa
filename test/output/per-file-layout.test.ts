import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileSetWriter, type OutputFile } from '../../src/helper/output/index.ts';
import { DirHandle } from '../../src/helper/output/dir-handle.ts';
import { FileSetWatch } from '../../src/helper/pipeline/file-set-watch.ts';
import { notRoot, systemUser } from '../support/system-user.ts';
import { tempDir } from '../support/tmp.ts';

const set = (n: number): OutputFile[] => [
  { name: 'svid.pem', content: `cert ${n}\n`, mode: 0o644 },
  { name: 'svid_key.pem', content: `key ${n}\n`, mode: 0o600 },
];

test('file_layout "files": plain files only, replaced in place, modes applied, the directory\'s other entries untouched', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'mysql'));
  await writeFile(join(dir, 'ibdata1'), 'database');
  const writer = new FileSetWriter(dir, { layout: 'files' });
  assert.deepEqual(await writer.write(set(1)), { changed: true });
  assert.deepEqual(await writer.write(set(1)), { changed: false });
  assert.deepEqual(await writer.write(set(2)), { changed: true });
  assert.deepEqual((await readdir(dir)).sort(), ['ibdata1', 'mysql', 'svid.pem', 'svid_key.pem']);
  for (const name of ['svid.pem', 'svid_key.pem']) assert.ok((await lstat(join(dir, name))).isFile());
  assert.equal(await readFile(join(dir, 'svid.pem'), 'utf8'), 'cert 2\n');
  assert.equal((await lstat(join(dir, 'svid_key.pem'))).mode & 0o777, 0o600);
  assert.equal(await readFile(join(dir, 'ibdata1'), 'utf8'), 'database');

  await writeFile(join(dir, 'svid_key.pem'), 'altered');
  assert.match((await writer.verify())!, /svid_key\.pem was altered/);
  assert.deepEqual(await writer.restore(), { changed: true });
  assert.equal(await writer.verify(), undefined);

  assert.deepEqual(await writer.write([set(3)[0]!], { carry: ['svid_key.pem'] }), { changed: true });
  assert.equal(await readFile(join(dir, 'svid_key.pem'), 'utf8'), 'key 2\n', 'a carried name keeps its content');
  assert.deepEqual(await writer.write([set(4)[0]!]), { changed: true });
  assert.deepEqual((await readdir(dir)).sort(), ['ibdata1', 'mysql', 'svid.pem'], 'a name no longer written goes');
});

test('file_layout "files": the set is watched (no polling): a change to a plain file is seen', async (t) => {
  const dir = await tempDir(t);
  const writer = new FileSetWriter(dir, { layout: 'files' });
  await writer.write(set(1));
  const changed = Promise.withResolvers<void>();
  const watch = new FileSetWatch(writer.watchedPaths, () => changed.resolve());
  t.after(() => watch.close());
  assert.equal(watch.arm(), true, 'every watched path exists in this layout (there is no ..data)');
  await writeFile(join(dir, 'svid_key.pem'), 'altered');
  await changed.promise;
});

test('file_layout "files": a symlink planted at a name is replaced, never written through; a helper-made temp left behind goes', async (t) => {
  const root = await tempDir(t);
  const dir = join(root, 'certs');
  const victim = join(root, 'victim');
  await mkdir(dir);
  await writeFile(victim, 'victim');
  await chmod(victim, 0o600);
  await symlink(victim, join(dir, 'svid_key.pem'));
  await writeFile(join(dir, '..file.0123abcd'), 'left by a killed helper');
  await new FileSetWriter(dir, { layout: 'files' }).write(set(1));
  assert.equal(await readFile(victim, 'utf8'), 'victim');
  assert.equal((await lstat(victim)).mode & 0o777, 0o600);
  assert.ok((await lstat(join(dir, 'svid_key.pem'))).isFile());
  assert.deepEqual((await readdir(dir)).sort(), ['svid.pem', 'svid_key.pem']);
});

test('the walk to cert_dir follows a link only root or the helper\'s user made where no one else could, and names what it refuses', async (t) => {
  const root = await tempDir(t);
  const real = join(root, 'real');
  await mkdir(join(real, 'certs'), { recursive: true });
  await symlink('real', join(root, 'relative'));
  await symlink(real, join(root, 'absolute'));
  for (const via of ['relative', 'absolute']) {
    const dir = DirHandle.open(join(root, via, 'certs'));
    dir.symlink('x', 'marker');
    dir.close();
    assert.equal(await readlink(join(real, 'certs', 'marker')), 'x', `through the ${via} link`);
    await rm(join(real, 'certs', 'marker'));
  }
  // The same link in a directory anyone may write (no sticky bit) could have been swapped: refused.
  await chmod(root, 0o777);
  assert.throws(() => DirHandle.open(join(root, 'absolute', 'certs')), /absolute is a symbolic link in .*, which is writable by every user without the sticky bit: not followed/);
  await chmod(root, 0o1777);
  DirHandle.open(join(root, 'absolute', 'certs')).close();
  await chmod(root, 0o700);
  const made = DirHandle.open(join(root, 'a', 'b'), { mode: 0o750, parents: true });
  made.close();
  assert.equal((await lstat(join(root, 'a', 'b'))).mode & 0o777, 0o750, 'made with its mode, whatever the umask');
  assert.throws(() => DirHandle.open(join(root, 'c', 'd'), { mode: 0o755, parents: false }), /c is missing/);
});

test('a helper that is not root walks through a directory it may pass but not read (mode 0711) to its cert_dir', { skip: notRoot }, async (t) => {
  const base = await tempDir(t);
  await chmod(base, 0o755);
  const user = await systemUser(t);
  const passOnly = join(base, 'pass-only');
  await mkdir(join(passOnly, 'certs'), { recursive: true });
  await chmod(passOnly, 0o711);
  await chown(join(passOnly, 'certs'), user.uid, user.gid);
  const script = `const { FileSetWriter } = await import(${JSON.stringify(new URL('../../src/helper/output/index.ts', import.meta.url).href)});
await new FileSetWriter(${JSON.stringify(join(passOnly, 'certs'))}).write([{ name: 'svid.pem', content: 'cert', mode: 0o644 }]);`;
  await user.run(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(await readFile(join(passOnly, 'certs', 'svid.pem'), 'utf8'), 'cert');
});
