import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { lockName } from '../../src/helper/pipeline/index.ts';
import { startHelper } from '../support/helper-process.ts';
import { notRoot, systemUser } from '../support/system-user.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { server, servedSerial, x509Config } from '../helper/support.ts';

const STARTUP_MS = 30_000;

test('a second helper on a cert_dir a live helper writes refuses to start, naming its pid; one SIGKILLed blocks nothing', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const config = x509Config(s.address, certs);
  const first = await startHelper(t, await tempDir(t), config);
  await waitFor(() => servedSerial(certs), { what: 'the first helper\'s files', timeoutMs: STARTUP_MS });
  // The copy-pasted config, as a daemon and as a one-shot run; and the same directory by another path
  // (relative to the working directory, the directory above it).
  for (const [what, text, named, cwd] of [
    ['a daemon', config, certs, await tempDir(t)],
    ['a one-shot run', `${config}\ndaemon_mode = false`, certs, await tempDir(t)],
    ['a relative path', x509Config(s.address, 'certs'), certs, dir],
  ] as const) {
    const inUse = new RegExp(`^spiffe-helper: cert_dir ${named} is being written by another spiffe-helper \\(pid ${first.pid}\\)`, 'm');
    const second = await startHelper(t, cwd, text);
    const code = await waitFor(() => second.child.exitCode ?? undefined, { what: `${what} to exit`, timeoutMs: STARTUP_MS });
    assert.equal(code, 1, what);
    assert.match(second.stderr(), inUse, what);
  }
  first.child.kill('SIGKILL');
  await first.exited();
  const next = await startHelper(t, await tempDir(t), config);
  const before = await servedSerial(certs);
  await s.rotate();
  await waitFor(async () => ((await servedSerial(certs)) !== before ? true : undefined), { what: 'the next helper to write', timeoutMs: STARTUP_MS });
  assert.equal(next.child.exitCode, null);
});

test('a reload onto a cert_dir another helper writes is refused naming its pid; the running pipeline stays', async (t) => {
  const s = await server(t);
  const taken = join(await tempDir(t), 'certs');
  const owner = await startHelper(t, await tempDir(t), x509Config(s.address, taken));
  await waitFor(() => servedSerial(taken), { what: 'the owner\'s files', timeoutMs: STARTUP_MS });
  const dir = await tempDir(t);
  const own = join(dir, 'certs');
  await mkdir(own);
  const helper = await startHelper(t, dir, x509Config(s.address, own));
  await waitFor(() => servedSerial(own), { what: 'the files', timeoutMs: STARTUP_MS });
  await writeFile(join(dir, 'helper.conf'), x509Config(s.address, taken));
  const refused = await helper.waitForLog((l) => l.msg.includes('the new config is not applied'), { timeoutMs: STARTUP_MS });
  assert.match(refused.msg, new RegExp(`cert_dir ${taken} is being written by another spiffe-helper \\(pid ${owner.pid}\\)`));
  const before = await servedSerial(own);
  await s.rotate();
  await waitFor(async () => ((await servedSerial(own)) !== before ? true : undefined), { what: 'the running pipeline to write the rotation', timeoutMs: STARTUP_MS });
  // Its own directory again: the lock it holds is its own, not another helper's.
  await writeFile(join(dir, 'helper.conf'), `${x509Config(s.address, own)}\n# back to its own directory\n`);
  await helper.waitForLog((l) => l.msg === 'applying reloaded config', { timeoutMs: STARTUP_MS });
});

test('a process holding the lock\'s name that lies about its pid is not named as a helper', async (t) => {
  const s = await server(t);
  const certs = join(await tempDir(t), 'certs');
  // Anyone in the network namespace may listen on an abstract name first (SECURITY.md says so).
  const squatter = createServer((socket) => socket.end(`${process.ppid}\n`));
  const name = await lockName(certs);
  await new Promise<void>((done) => squatter.listen(name, done));
  t.after(() => squatter.close());
  const helper = await startHelper(t, await tempDir(t), x509Config(s.address, certs));
  assert.equal(await helper.exited(), 1);
  assert.match(helper.stderr(), new RegExp(`cert_dir ${certs} is being written by a process that says it is pid ${process.ppid} but is not`));
});

test('another local user who connects to the lock and hangs up at once stops nothing', { skip: notRoot }, async (t) => {
  const user = await systemUser(t);
  const s = await server(t);
  const certs = join(await tempDir(t), 'certs');
  const helper = await startHelper(t, await tempDir(t), x509Config(s.address, certs));
  await waitFor(() => servedSerial(certs), { what: 'the first files', timeoutMs: STARTUP_MS });
  // Abstract sockets have no permissions: any user in the namespace may connect. Each connection is
  // gone before the holder answers (EPIPE), or leaves the answer unread (ECONNRESET).
  const attack = `const { connect } = require('node:net');
for (let i = 0; i < 200; i++) {
  const c = connect(${JSON.stringify(await lockName(certs))});
  c.on('error', () => {});
  if (i % 2 === 0) c.destroy(); else c.on('connect', () => { c.write('x'); c.destroy(); });
}`;
  await user.run(process.execPath, ['-e', attack]);
  const before = await servedSerial(certs);
  await s.rotate();
  await waitFor(async () => ((await servedSerial(certs)) !== before ? true : undefined), { what: 'the next rotation on disk', timeoutMs: STARTUP_MS });
  assert.equal(helper.child.exitCode, null, helper.stderr());
});

test('the lock stands for the directory, not the spelling of its path: symlinks resolved, also before it exists', async (t) => {
  const dir = await tempDir(t);
  const alias = join(await tempDir(t), 'alias');
  await symlink(dir, alias);
  assert.equal(await lockName(join(alias, 'certs')), await lockName(join(dir, 'certs')), 'cert_dir not created yet');
  await mkdir(join(dir, 'certs'));
  assert.equal(await lockName(join(alias, 'certs')), await lockName(join(dir, 'certs')), 'cert_dir created');
  assert.notEqual(await lockName(join(dir, 'other')), await lockName(join(dir, 'certs')));
});
