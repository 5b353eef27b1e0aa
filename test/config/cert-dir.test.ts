import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeConfig, parseConfig } from '../../src/helper/config/index.ts';
import { HELPER_ENTRY } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { X509, refuse } from './support.ts';

const run = promisify(execFile);
const noHost = { command: () => undefined };

/** A directory that looks like a MariaDB data directory as mariadb-install-db leaves it. */
async function dataDirectory(dir: string): Promise<void> {
  await mkdir(join(dir, 'mysql'), { recursive: true });
  await writeFile(join(dir, 'ibdata1'), '');
  await writeFile(join(dir, 'aria_log_control'), '');
}

test('file_layout: "generations" by default, "files" when asked, anything else refused on one line', async () => {
  assert.equal((await parseConfig(X509, 'helper.conf')).fileLayout, 'generations');
  const files = await parseConfig(`${X509}file_layout = "files"\n`, 'helper.conf');
  assert.equal(files.fileLayout, 'files');
  assert.match(describeConfig(files).join('\n'), /cert_dir: .* \(file_layout = "files": plain files, each replaced on its own/);
  const refused = await refuse(`${X509}file_layout = "flat"\n`);
  assert.match(refused.message, /^helper\.conf:4: file_layout: .*"generations".*"files"/);
});

test('a cert_dir holding a MariaDB/MySQL data directory gets the "files" layout, and -check says why', async (t) => {
  const dir = await tempDir(t);
  await dataDirectory(dir);
  const chosen = await parseConfig(`cert_dir = ${JSON.stringify(dir)}\n${X509}`, { file: 'helper.conf', host: noHost });
  assert.equal(chosen.fileLayout, 'files');
  assert.match(describeConfig(chosen).join('\n'), /^default: file_layout = "files": .* holds a MySQL\/MariaDB data directory \(mysql\/, ibdata1, aria_log_control\)/m);

  const kept = await parseConfig(`cert_dir = ${JSON.stringify(dir)}\n${X509}file_layout = "generations"\n`, { file: 'helper.conf', host: noHost });
  assert.equal(kept.fileLayout, 'generations', 'a layout set explicitly is kept');
  assert.ok(kept.warnings.some((w) => /MySQL\/MariaDB data directory/.test(w) && /\.\.data/.test(w)), kept.warnings.join('\n'));

  const plain = await parseConfig(`cert_dir = ${JSON.stringify(join(dir, 'mysql'))}\n${X509}`, { file: 'helper.conf', host: noHost });
  assert.equal(plain.fileLayout, 'generations', 'a directory without the markers keeps the default');
});

test('-check as root warns once about a cert_dir another user can change (0777 without the sticky bit, or owned by another user)', { skip: process.getuid?.() === 0 ? false : 'the warning is for a root helper' }, async (t) => {
  const base = await tempDir(t);
  await chmod(base, 0o755);
  const open = join(base, 'emptydir');
  await mkdir(open);
  await chmod(open, 0o777);
  await writeFile(join(base, 'helper.conf'), `agent_address = "unix:///run/agent.sock"\ncert_dir = ${JSON.stringify(open)}\n${X509}`);
  const { stdout } = await run(process.execPath, [HELPER_ENTRY, '-check', '-config', join(base, 'helper.conf')]);
  const warnings = stdout.split('\n').filter((line) => line.startsWith('warning: '));
  assert.equal(warnings.length, 1, stdout);
  assert.match(warnings[0]!, new RegExp(`${open} is writable by every user without the sticky bit`));

  await chmod(open, 0o1777);
  const sticky = await run(process.execPath, [HELPER_ENTRY, '-check', '-config', join(base, 'helper.conf')]);
  assert.doesNotMatch(sticky.stdout, /^warning: /m, 'a sticky directory (as /tmp) lets no one replace the helper\'s entries');

  await chmod(open, 0o755);
  await chown(open, 65534, 65534);
  const owned = await run(process.execPath, [HELPER_ENTRY, '-check', '-config', join(base, 'helper.conf')]);
  assert.match(owned.stdout, new RegExp(`^warning: ${open} is owned by uid 65534: `, 'm'));
});

test('-check refuses a cert_dir reached through a link the writer would not follow, naming the link', async (t) => {
  const base = await tempDir(t);
  await mkdir(join(base, 'real'));
  await mkdir(join(base, 'open'));
  await chmod(join(base, 'open'), 0o777);
  await symlink(join(base, 'real'), join(base, 'open', 'certs'));
  await writeFile(join(base, 'helper.conf'), `agent_address = "unix:///run/agent.sock"\ncert_dir = ${JSON.stringify(join(base, 'open', 'certs'))}\n${X509}`);
  const failed = await run(process.execPath, [HELPER_ENTRY, '-check', '-config', join(base, 'helper.conf')]).catch((error: { code: number; stderr: string }) => error);
  assert.equal((failed as { code: number }).code, 1);
  assert.match((failed as { stderr: string }).stderr, /^spiffe-helper: .*helper\.conf:2: cert_dir: .*open\/certs is a symbolic link in .*open, which is writable by every user without the sticky bit: not followed/);
});
