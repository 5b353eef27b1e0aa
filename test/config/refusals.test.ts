import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig, type ConfigInputs } from '../../src/helper/config/index.ts';
import { checkOutputDirectory } from '../../src/helper/output/index.ts';
import { resolveCommand } from '../../src/helper/program/index.ts';
import { tempDir } from '../support/tmp.ts';
import { X509, refuse } from './support.ts';

const message = async (text: string, inputs: ConfigInputs = HOST): Promise<string> => (await refuse(text, inputs)).message;


/** The machine checks as the command line runs them. */
const HOST: ConfigInputs = { file: 'helper.conf', host: { command: (command) => resolveCommand(command), directory: checkOutputDirectory } };

test('cert_dir that can never hold the files is refused at load: a file, a device, under a file, the root', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'file'), '');
  assert.equal(await message(`cert_dir = "${dir}/file"\n${X509}`), `helper.conf:1: cert_dir: ${dir}/file is a regular file, not a directory`);
  assert.equal(await message(`cert_dir = "/dev/null"\n${X509}`), 'helper.conf:1: cert_dir: /dev/null is a device or special file, not a directory');
  assert.equal(await message(`cert_dir = "${dir}/file/certs"\n${X509}`), `helper.conf:1: cert_dir: ${dir}/file/certs cannot be created: a part of its path is a file, not a directory`);
  assert.equal(await message(`cert_dir = "${dir}/file/deeper/certs"\n${X509}`), `helper.conf:1: cert_dir: ${dir}/file/deeper/certs cannot be created: a part of its path is a file, not a directory`);
  assert.equal(await message(`cert_dir = "/"\n${X509}`), 'helper.conf:1: cert_dir: / is the root directory: the helper replaces files and links in it, so give it a directory of its own');
  // Missing directories are created at start: fine.
  assert.equal((await parseConfig(`cert_dir = "${dir}/new/certs"\n${X509}`, HOST)).certDir, `${dir}/new/certs`);
});

test('a JWT-SVID file\'s directory outside cert_dir is checked by the same rules as cert_dir: a file in its place, a link the writer will not follow', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'file'), '');
  // A link in a directory every user may change (an emptyDir): the writer never follows it.
  const open = join(dir, 'open');
  await mkdir(join(dir, 'real'));
  await mkdir(open);
  await chmod(open, 0o777);
  await symlink(join(dir, 'real'), join(open, 'link'));
  const jwt = (path: string): string => `${X509}[[jwt_svids]]\njwt_audience = "db"\njwt_svid_file_name = "${path}"\n`;
  assert.equal(await message(jwt(`${dir}/file/db.jwt`)), `helper.conf:6: jwt_svids[0].jwt_svid_file_name: ${dir}/file is a regular file, not a directory`);
  assert.equal(await message(jwt(`${open}/link/db.jwt`)), `helper.conf:6: jwt_svids[0].jwt_svid_file_name: ${open}/link is a symbolic link in ${open}, which is writable by every user without the sticky bit: not followed (name the real directory)`);
  assert.equal(await message(`cert_dir = "${open}/link"\n${X509}`), `helper.conf:1: cert_dir: ${open}/link is a symbolic link in ${open}, which is writable by every user without the sticky bit: not followed (name the real directory)`);
  assert.equal((await parseConfig(jwt(`${dir}/real/db.jwt`), HOST)).jwtSvids[0]?.path, `${dir}/real/db.jwt`);
});

test('a cmd that is missing or not executable is refused at load, in daemon mode', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'script'), '#!/bin/sh\n');
  await chmod(join(dir, 'script'), 0o644);
  assert.equal(await message(`${X509}cmd = "no-such-program-here"`), 'helper.conf:4: cmd: cannot run "no-such-program-here": not found in PATH');
  assert.equal(await message(`${X509}cmd = "${dir}/missing"`), `helper.conf:4: cmd: cannot run "${dir}/missing": no such file`);
  if (process.getuid?.() !== 0) assert.equal(await message(`${X509}cmd = "${dir}/script"`), `helper.conf:4: cmd: cannot run "${dir}/script": not executable (permission denied)`);
  assert.equal(await message(`${X509}cmd = "${dir}"`), `helper.conf:4: cmd: cannot run "${dir}": not a regular file`);
  // One-shot never runs it, as in the Go helper.
  assert.equal((await parseConfig(`${X509}cmd = "no-such-program-here"\ndaemon_mode = false`, HOST)).daemonMode, false);
});

test('NUL bytes, names over 255 bytes, and renew signals a program cannot catch are refused', async () => {
  assert.equal(await message(`${X509}cert_dir = "/tmp/a\\u0000b"`), 'helper.conf:4: cert_dir: "/tmp/a\\u0000b" contains a NUL byte');
  assert.equal(await message(`${X509}jwt_bundle_file_name = "b\\u0000.json"`), 'helper.conf:4: jwt_bundle_file_name: "b\\u0000.json" contains a NUL byte');
  assert.equal(await message(`${X509}cmd = "app"\ncmd_args = ["a\\u0000"]`), 'helper.conf:5: cmd_args: contains a NUL byte');
  assert.equal(await message(`${X509}renew_signal = "HUP"\npid_file_name = "/run/x\\u0000.pid"`), 'helper.conf:5: pid_file_name: "/run/x\\u0000.pid" contains a NUL byte');
  assert.equal(await message(`${X509}jwt_bundle_file_name = "${'b'.repeat(256)}"`), `helper.conf:4: jwt_bundle_file_name: the file name "${'b'.repeat(40)}…" is 256 bytes long; at most 255 fit`);
  assert.equal(await message(`${X509}jwt_bundle_file_name = "${'é'.repeat(128)}"`), `helper.conf:4: jwt_bundle_file_name: the file name "${'é'.repeat(40)}…" is 256 bytes long; at most 255 fit`);
  assert.equal((await parseConfig(`${X509}jwt_bundle_file_name = "${'b'.repeat(255)}"`, 'helper.conf')).jwtBundle?.fileName.length, 255);
  for (const signal of ['SIGKILL', 'KILL', 'SIGSTOP']) {
    assert.match(await message(`${X509}renew_signal = "${signal}"`), /^helper\.conf:4: renew_signal: SIG(KILL|STOP) cannot be caught: a program can never reload on it/);
  }
});

test('an integer overflow names the key and gives no parser advice; a huge unknown key is not echoed in full', async () => {
  assert.equal(await message(`${X509}cert_file_mode = 9223372036854775807`), 'helper.conf:4: cert_file_mode: the number is too large (at most 2^53 - 1)');
  assert.equal(await message(`${X509}[health_checks]\nbind_port = 99999999999999999999999`), 'helper.conf:5: bind_port: the number is too large (at most 2^53 - 1)');
  const key = 'k'.repeat(100_000);
  const unknown = await message(`${X509}${key} = 1`);
  assert.ok(unknown.length < 200, `${unknown.length} characters`);
  assert.equal(unknown, `helper.conf:4: ${'k'.repeat(64)}... (100000 characters): unknown key`);
});

test('the same checks run on a file with no machine checks asked for: text only', async () => {
  // Without host checks (a config checked away from its machine, by tests), cert_dir and cmd are not looked at.
  const config = await parseConfig(`cert_dir = "/dev/null"\n${X509}cmd = "no-such-program-here"`, 'helper.conf');
  assert.equal(config.certDir, '/dev/null');
});
