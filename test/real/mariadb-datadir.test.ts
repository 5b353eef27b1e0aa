// Issue 16, point 2: the Go helper's MySQL example points cert_dir at the server's data directory.
// MariaDB takes every directory there for a database, so the helper writes only plain files into a
// cert_dir that holds one: a real data directory (mariadb-install-db), the real helper writing into
// it, the real mariadbd started on it serving TLS from those files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mariadb, mariadbSsl, serverUnavailable, startMariadb } from '../support/servers.ts';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { server, servedSerial, x509Config } from '../helper/support.ts';

const run = promisify(execFile);
const STARTUP_MS = 60_000;

/** Every entry of `dir` the helper may have made that is not a plain file: there must be none. */
async function notFiles(dir: string): Promise<string[]> {
  const odd: string[] = [];
  for (const name of await readdir(dir)) {
    const info = await lstat(join(dir, name));
    if (name.startsWith('..') || info.isSymbolicLink()) odd.push(name);
  }
  return odd;
}

test('a cert_dir that is a MariaDB data directory gets only files: SHOW DATABASES lists nothing of ours, mariadb-dump --all-databases works', { skip: serverUnavailable('mariadb'), timeout: 240_000 }, async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const dataDir = join(dir, 'mariadb');
  const tls = { cert: join(dataDir, 'svid.pem'), key: join(dataDir, 'svid_key.pem'), bundle: join(dataDir, 'svid_bundle.pem') };
  const program = await mariadb(dir, tls);

  // The Go helper's MySQL example, unchanged in spirit: no file_layout key.
  const helper = await startHelper(t, dir, x509Config(s.address, dataDir, `cmd = "/bin/true"\ncmd_exit = "rerun"\n`));
  await helper.waitForLog((line) => line.msg.startsWith('default: file_layout = "files"'), { timeoutMs: STARTUP_MS });
  await waitFor(() => servedSerial(dataDir), { what: 'the files in the data directory', timeoutMs: STARTUP_MS });
  assert.deepEqual(await notFiles(dataDir), [], 'no directory, link or ..name of the helper in the data directory');

  const db = await startMariadb(t, dir, tls, program);
  const socket = ['--no-defaults', `--socket=${db.socket}`, '-u', 'root'];
  const databases = (await run('mariadb', [...socket, '-N', '-B', '-e', 'SHOW DATABASES'])).stdout.split('\n').filter(Boolean);
  assert.ok(databases.includes('mysql'), databases.join(', '));
  assert.deepEqual(databases.filter((name) => name.includes('..') || name.startsWith('#mysql50#')), [], `databases: ${databases.join(', ')}`);
  await run('mariadb-dump', [...socket, '--all-databases'], { maxBuffer: 64 * 1024 * 1024 });
  assert.notEqual((await mariadbSsl({ port: db.port, caFile: tls.bundle })).cipher, '', 'MariaDB serves TLS from the files the helper wrote');

  // A rotation replaces the files in place, and still makes no directory.
  await s.rotate();
  const serial = new X509Certificate(s.currentSvids[0]!.certificates[0]!).serialNumber;
  await waitFor(async () => (await servedSerial(dataDir)) === serial, { what: 'the rotated files', timeoutMs: STARTUP_MS });
  assert.deepEqual(await notFiles(dataDir), []);
  assert.equal(((await lstat(tls.key)).mode & 0o777), 0o600);
  await db.flushSsl();
  await run('mariadb-dump', [...socket, '--all-databases'], { maxBuffer: 64 * 1024 * 1024 });
  assert.match(await readFile(tls.bundle, 'utf8'), /BEGIN CERTIFICATE/);
});
