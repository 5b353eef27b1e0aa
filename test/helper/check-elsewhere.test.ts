import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HELPER_ENTRY } from '../support/helper-process.ts';
import { notRoot, systemUser, type SystemUser } from '../support/system-user.ts';
import { tempDir } from '../support/tmp.ts';

const run = promisify(execFile);
const X509_FILES = 'svid_file_name = "svid.pem"\nsvid_key_file_name = "svid_key.pem"\nsvid_bundle_file_name = "svid_bundle.pem"\nagent_address = "unix:///run/spire/agent.sock"\n';

/** `-check` as root, or as `user`, with its exit code, stdout and stderr. */
async function check(args: readonly string[], user?: SystemUser): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = [HELPER_ENTRY, ...args];
  const done = user === undefined ? run(process.execPath, argv, { cwd: '/' }) : user.run(process.execPath, argv, { cwd: '/' });
  return done.then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

test('-check=config checks the config alone: a cmd not installed here and a cert_dir this machine lacks pass', async (t) => {
  const dir = await tempDir(t);
  const config = join(dir, 'helper.conf');
  await writeFile(config, `${X509_FILES}cert_dir = "/nonexistent-${randomBytes(4).toString('hex')}/certs"\ncmd = "/opt/db/bin/reload-tls"\n`);
  const full = await check(['-check', '-config', config]);
  assert.equal(full.code, 1);
  assert.match(full.stderr, new RegExp(`^spiffe-helper: ${config}:6: cmd: .*/opt/db/bin/reload-tls`));
  const alone = await check(['-check=config', '-config', config]);
  assert.equal(alone.code, 0, alone.stderr);
  assert.ok(alone.stdout.includes('program: /opt/db/bin/reload-tls'), alone.stdout);
  assert.ok(alone.stdout.includes('host: not checked (-check=config): whether cert_dir can be created and written here, and cmd run'), alone.stdout);
  // A config that cannot mean what it says is refused all the same.
  await writeFile(config, `${X509_FILES}cmd_exit = "rerun"\n`);
  const bad = await check(['-check=config', '-config', config]);
  assert.deepEqual([bad.code, bad.stderr], [1, `spiffe-helper: ${config}:5: cmd_exit: "rerun" needs cmd, the program to run again\n`]);
});

test('-check as a user who can never create or write cert_dir says so; a directory it can write passes', { skip: notRoot }, async (t) => {
  const user = await systemUser(t);
  const dir = await tempDir(t);
  await chmod(dir, 0o755);
  const rootOwned = join(dir, 'root-owned');
  await mkdir(rootOwned, { mode: 0o755 });
  const closed = join(dir, 'closed');
  await mkdir(closed, { mode: 0o700 });
  const own = join(dir, 'own');
  await mkdir(own);
  await chown(own, user.uid, user.gid);
  const cases: ReadonlyArray<readonly [certDir: string, problem: string | undefined]> = [
    [join(rootOwned, 'certs'), `${join(rootOwned, 'certs')} cannot be created: ${rootOwned} is not writable by this user (uid ${user.uid})`],
    [rootOwned, `${rootOwned} is not writable by this user (uid ${user.uid})`],
    [join(closed, 'certs'), `${join(closed, 'certs')} cannot be reached: permission denied on a directory of its path (uid ${user.uid})`],
    [own, undefined],
    [join(own, 'a', 'b'), undefined],
  ];
  for (const [index, [certDir, problem]] of cases.entries()) {
    const config = join(dir, `helper-${index}.conf`);
    await writeFile(config, `${X509_FILES}cert_dir = ${JSON.stringify(certDir)}\n`);
    await chmod(config, 0o644);
    const result = await check(['-check', '-config', config], user);
    if (problem === undefined) assert.equal(result.code, 0, `${certDir}: ${result.stderr}`);
    else assert.deepEqual([result.code, result.stderr], [1, `spiffe-helper: ${config}:5: cert_dir: ${problem}\n`], certDir);
    // As root the same directories are fine: the check is the runner's own.
    assert.equal((await check(['-check', '-config', config])).code, 0, `as root: ${certDir}`);
  }
});
