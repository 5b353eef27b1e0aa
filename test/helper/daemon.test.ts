import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { keyMatches, lines, RECORDER, servedSerial, server, toml, x509Config } from './support.ts';

test('files are written as the Go helper writes them, with modes, and every rotation replaces the set', async (t) => {
  const s = await server(t, { intermediate: true });
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  await startHelper(t, dir, x509Config(s.address, certs));
  await waitFor(() => servedSerial(certs), { what: 'the first write' });
  const svid = await readFile(join(certs, 'svid.pem'), 'utf8');
  assert.equal(svid.match(/BEGIN CERTIFICATE/g)?.length, 2, 'leaf and intermediate');
  assert.match(await readFile(join(certs, 'svid_key.pem'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  assert.equal((await readFile(join(certs, 'svid_bundle.pem'), 'utf8')).match(/BEGIN CERTIFICATE/g)?.length, 1);
  assert.equal((await stat(join(certs, 'svid_key.pem'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(certs, 'svid.pem'))).mode & 0o777, 0o644);
  assert.equal(await readlink(join(certs, 'svid.pem')), '..data/svid.pem');
  const first = await servedSerial(certs);
  await s.rotate();
  await waitFor(async () => (await servedSerial(certs)) !== first, { what: 'the rotated SVID on disk' });
});

test('a reader polling the files during many rotations never sees a torn certificate/key pair', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  await startHelper(t, dir, x509Config(s.address, certs));
  await waitFor(() => servedSerial(certs));
  let stop = false;
  const seen = { pairs: 0, torn: 0, empty: 0, serials: new Set<string>() };
  const reader = (async () => {
    while (!stop) {
      const cert = await readFile(join(certs, 'svid.pem'), 'utf8');
      const key = await readFile(join(certs, 'svid_key.pem'), 'utf8');
      const again = await readFile(join(certs, 'svid.pem'), 'utf8');
      if (cert === '' || key === '') seen.empty++;
      else if (cert === again) {
        seen.pairs++;
        if (keyMatches(cert, key)) seen.serials.add(cert);
        else seen.torn++;
      }
    }
  })();
  for (let i = 0; i < 25; i++) {
    const before = await servedSerial(certs);
    await s.rotate();
    await waitFor(async () => (await servedSerial(certs)) !== before);
  }
  stop = true;
  await reader;
  assert.equal(seen.torn, 0);
  assert.equal(seen.empty, 0);
  assert.ok(seen.serials.size >= 10, `the reader saw many sets: ${seen.serials.size}`);
});

test('the program starts only after the first write; one SIGHUP per rotation, one per burst', async (t) => {
  const s = await server(t, { startLate: true });
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const record = join(dir, 'signals.log');
  const helper = await startHelper(
    t,
    dir,
    x509Config(s.address, certs, `cmd = ${toml(process.execPath)}\ncmd_args = ${toml([RECORDER, record, `--check-file=${join(certs, 'svid_key.pem')}`])}\nrenew_signal = "SIGHUP"\nrenew_debounce = "300ms"`),
  );
  await helper.waitForLog((l) => l.msg.startsWith('Workload API') && l.level >= 40);
  assert.deepEqual(await lines(record), [], 'not started while nothing is written');
  await s.listen();
  const [ready] = await waitFor(async () => ((await lines(record)).length > 0 ? await lines(record) : undefined), { what: 'the program to start' });
  assert.match(ready!, / files=present$/);
  const signals = async (): Promise<number> => (await lines(record)).filter((l) => l === 'SIGHUP').length;
  const first = await servedSerial(certs);
  await s.rotate();
  await waitFor(async () => (await signals()) === 1, { what: 'one SIGHUP after a rotation' });
  assert.notEqual(await servedSerial(certs), first);
  for (let i = 0; i < 5; i++) await s.rotate();
  await waitFor(async () => (await signals()) >= 2, { what: 'a SIGHUP after the burst' });
  const latest = new X509Certificate(s.currentSvids[0]!.certificates[0]!).serialNumber;
  await waitFor(async () => (await servedSerial(certs)) === latest, { what: 'the last SVID of the burst on disk' });
  s.pushCurrent();
  await helper.waitForLog((l) => l.msg === 'files unchanged; the program is not told');
  assert.equal(await signals(), 2, 'one signal for the rotation, one for the burst, none for an unchanged update');
});

test('restart mode gives the program a new pid on rotation', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const record = join(dir, 'signals.log');
  await startHelper(t, dir, x509Config(s.address, join(dir, 'certs'), `cmd = ${toml(process.execPath)}\ncmd_args = ${toml([RECORDER, record])}\nrenew_action = "restart"\nrenew_debounce = 0`));
  const pidOf = async (): Promise<string | undefined> => (await lines(record))[0]?.split(' ')[1];
  const first = await waitFor(pidOf, { what: 'first start' });
  await s.rotate();
  const second = await waitFor(async () => ((await pidOf()) !== first ? await pidOf() : undefined), { what: 'a restart' });
  assert.notEqual(second, first);
});

test('reload-command mode runs the command after each rotation', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const runs = join(dir, 'runs.log');
  const certs = join(dir, 'certs');
  await startHelper(t, dir, x509Config(s.address, certs, `renew_action = "command"\nrenew_command = ${toml(['sh', '-c', `cat ${certs}/svid.pem | head -1 >> ${runs}`])}\nrenew_debounce = 0`));
  await waitFor(() => servedSerial(certs));
  // The first write is told too, like every later one: the count is 1 until the rotation.
  await waitFor(async () => (await lines(runs)).length === 1, { what: 'the command run after the first write' });
  await s.rotate();
  await waitFor(async () => (await lines(runs)).length === 2, { what: 'the command run after the rotation' });
  assert.deepEqual(await lines(runs), ['-----BEGIN CERTIFICATE-----', '-----BEGIN CERTIFICATE-----']);
});

test('pid-file mode signals the process named in the pid file, read afresh', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const record = join(dir, 'signals.log');
  const { spawn } = await import('node:child_process');
  const target = spawn(process.execPath, [RECORDER, record], { stdio: 'ignore' });
  t.after(() => target.kill('SIGKILL'));
  const pidFile = join(dir, 'server.pid');
  const { writeFile } = await import('node:fs/promises');
  await waitFor(async () => (await lines(record)).length > 0);
  await writeFile(pidFile, `${target.pid}\n`);
  await startHelper(t, dir, x509Config(s.address, join(dir, 'certs'), `renew_signal = "SIGUSR1"\npid_file_name = ${toml(pidFile)}\nrenew_debounce = 0`));
  await waitFor(async () => (await lines(record)).includes('SIGUSR1'), { what: 'the first write to signal the pid-file process' });
  await s.rotate();
  await waitFor(async () => (await lines(record)).filter((l) => l === 'SIGUSR1').length === 2, { what: 'a signal after the rotation' });
});

test('SIGTERM is forwarded to the program and its exit code becomes the helper\'s', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const record = join(dir, 'signals.log');
  const helper = await startHelper(t, dir, x509Config(s.address, join(dir, 'certs'), `cmd = ${toml(process.execPath)}\ncmd_args = ${toml([RECORDER, record, '--term-exit=3'])}`));
  await waitFor(async () => (await lines(record)).length > 0);
  helper.child.kill('SIGTERM');
  assert.equal(await helper.exited(), 3);
  assert.ok((await lines(record)).includes('SIGTERM'));
});

test("the program's own exit ends the helper with the program's code; without a program SIGTERM exits 0", async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const helper = await startHelper(t, dir, x509Config(s.address, join(dir, 'certs'), `cmd = ${toml(process.execPath)}\ncmd_args = ${toml([RECORDER, join(dir, 'r.log'), '--exit=5'])}\nrenew_signal = "SIGHUP"`));
  assert.equal(await helper.exited(), 5);
  const dir2 = await tempDir(t);
  const plain = await startHelper(t, dir2, x509Config(s.address, join(dir2, 'certs')));
  await waitFor(() => servedSerial(join(dir2, 'certs')));
  plain.child.kill('SIGTERM');
  assert.equal(await plain.exited(), 0);
});

test('an update that fails validation is skipped and the last good files stay', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const helper = await startHelper(t, dir, x509Config(s.address, certs, 'hint = "internal"'));
  await s.setSvids([{ spiffeId: 'spiffe://example.org/workload', hint: 'internal' }]);
  const good = await waitFor(() => servedSerial(certs));
  await s.setSvids([{ spiffeId: 'spiffe://example.org/workload', hint: 'external' }]);
  await helper.waitForLog((l) => /no X.509-SVID has hint "internal"/.test(l.msg));
  assert.equal(await servedSerial(certs), good);
});

test('SIGINT is forwarded too; a program that ignores it is killed after kill_timeout and the helper exits 137', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const record = join(dir, 'signals.log');
  const helper = await startHelper(t, dir, x509Config(s.address, join(dir, 'certs'), `cmd = ${toml(process.execPath)}\ncmd_args = ${toml([RECORDER, record])}\nkill_timeout = "500ms"`));
  await waitFor(async () => (await lines(record)).length > 0);
  helper.child.kill('SIGINT');
  assert.equal(await helper.exited(), 137);
  assert.ok((await lines(record)).includes('SIGINT'), 'the program got SIGINT first');
});
