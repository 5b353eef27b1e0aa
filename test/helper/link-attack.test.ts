import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startHelper, type HelperProcess } from '../support/helper-process.ts';
import { notRoot, systemUser, type SystemUser } from '../support/system-user.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { keyMatches, server, servedSerial, x509Config } from './support.ts';

// Issue 15, row 2: another local user who can write cert_dir (a 0777 Kubernetes emptyDir) or its
// parent swaps what a root helper creates for symlinks to a victim directory. The helper must never
// create, write or chmod anything outside cert_dir, and must keep rotating.

const STARTUP_MS = 30_000;

/** The victim: a root-only directory of root-only files; its state as "name mode content" lines. */
async function victimState(victim: string): Promise<string[]> {
  const state = [`. ${((await lstat(victim)).mode & 0o7777).toString(8)}`];
  for (const name of (await readdir(victim)).sort()) {
    const path = join(victim, name);
    const info = await lstat(path);
    const what = info.isFile() ? await readFile(path, 'utf8') : info.isSymbolicLink() ? `-> ${await readlink(path)}` : 'not a file';
    state.push(`${name} ${(info.mode & 0o7777).toString(8)} ${what}`);
  }
  return state;
}

/** Starts the link racer fixture as `user`; resolves once it watches. `swaps()` counts the swaps it won; stopped with the user. */
async function startRacer(user: SystemUser, args: readonly string[]): Promise<{ swaps(): number; stop(): Promise<void> }> {
  const racer = user.spawn(process.execPath, [new URL('../output/fixtures/link-racer.ts', import.meta.url).pathname, ...args]);
  let output = '';
  let errors = '';
  racer.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  racer.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const watching = (): boolean => {
    if (racer.exitCode !== null) throw new Error(`the racer exited: ${errors}`);
    return output.startsWith('ready\n');
  };
  await waitFor(watching, { what: `the link racer (${args.join(' ')}) to watch`, timeoutMs: 20_000 });
  return {
    swaps: () => output.split('\n').filter((line) => line.startsWith('swap ')).length,
    async stop() {
      if (racer.exitCode !== null || racer.signalCode !== null) return;
      racer.kill('SIGKILL');
      await once(racer, 'exit');
    },
  };
}

/** Writes tried: written, or refused with one error line. */
const attempts = (helper: HelperProcess): number => helper.logs.filter((line) => line.msg === 'files written' || line.msg.startsWith('files not written')).length;
const alive = (helper: HelperProcess): boolean => helper.child.exitCode === null && helper.child.signalCode === null;

test('a local user racing the writer with symlinks never gets a root helper to write or chmod outside cert_dir', { skip: notRoot }, async (t) => {
  const s = await server(t);
  const base = await tempDir(t);
  await chmod(base, 0o755);
  const user = await systemUser(t);

  const victim = join(base, 'victim');
  await mkdir(victim, { mode: 0o700 });
  await chmod(victim, 0o700);
  for (const n of [1, 2]) {
    await writeFile(join(victim, `sentinel-${n}`), `root only ${n}\n`, { mode: 0o600 });
    await chmod(join(victim, `sentinel-${n}`), 0o600);
  }
  const before = await victimState(victim);

  // A: cert_dir is an emptyDir (0777, no sticky bit). The user plants links at ..data and a
  // configured name, and swaps every new generation directory for a link to the victim.
  const open = join(base, 'emptydir');
  await mkdir(open);
  await chmod(open, 0o777);
  await user.run('ln', ['-s', victim, join(open, '..data')]);
  await user.run('ln', ['-s', join(victim, 'sentinel-1'), join(open, 'svid.pem')]);
  const generations = await startRacer(user, ['generations', open, victim]);

  // D: the same emptyDir attack on the per-file layout: each temporary file swapped for a link.
  const flat = join(base, 'emptydir-files');
  await mkdir(flat);
  await chmod(flat, 0o777);
  const temporaries = await startRacer(user, ['temporaries', flat, victim]);

  // B: cert_dir named through a link the user planted in a sticky, world-writable directory.
  const sticky = join(base, 'sticky');
  await mkdir(sticky);
  await chmod(sticky, 0o1777);
  await user.run('ln', ['-s', victim, join(sticky, 'certs')]);

  // C: cert_dir does not exist yet, in a parent anyone may write: the user races its creation.
  const parent = join(base, 'shared');
  await mkdir(parent);
  await chmod(parent, 0o777);
  const racedDir = join(parent, 'certs');
  const creation = await startRacer(user, ['entry', parent, 'certs', victim]);

  const a = await startHelper(t, base, x509Config(s.address, open));
  const b = await startHelper(t, join(base, 'b'), '', { configFile: await config(base, 'b', x509Config(s.address, join(sticky, 'certs'))) });
  const c = await startHelper(t, join(base, 'c'), '', { configFile: await config(base, 'c', x509Config(s.address, racedDir)) });
  const d = await startHelper(t, join(base, 'd'), '', { configFile: await config(base, 'd', x509Config(s.address, flat, 'file_layout = "files"')) });

  await waitFor(() => attempts(a) > 0, { what: 'the first write into the emptyDir', timeoutMs: STARTUP_MS });
  // Rotations under attack: each one is a new generation for the racer to swap.
  for (let rotation = 1; rotation <= 8; rotation++) {
    const count = attempts(a);
    await s.rotate();
    await waitFor(() => attempts(a) > count, { what: `write ${rotation} under attack`, timeoutMs: STARTUP_MS }).catch((error: Error) => {
      throw new Error(`${error.message}\n${a.stderr().slice(-3000)}`);
    });
  }
  assert.ok(generations.swaps() > 0, 'the racer swapped generation directories for links (the attack ran)');
  assert.ok(temporaries.swaps() > 0, 'the racer swapped temporary files for links (the attack ran)');
  // B is refused before it starts; C, once its cert_dir has been swapped for a link, at each write.
  assert.equal(await b.exited(), 1, b.stderr());
  assert.match(b.stderr(), /^spiffe-helper: .*helper\.conf:2: cert_dir: .*sticky\/certs is a symbolic link owned by uid \d+: not followed/);
  assert.ok(creation.swaps() > 0, 'the racer swapped the cert_dir helper C made for a link (the attack ran)');
  await waitFor(() => /shared\/certs is a symbolic link in .*: not followed/.test(c.stderr()), { what: 'helper C to refuse the swapped cert_dir', timeoutMs: STARTUP_MS });

  assert.deepEqual(await victimState(victim), before, 'nothing in the victim directory was created, written or chmod-ed');
  const warnings = a.logs.filter((line) => line.level === 40 && line.msg.includes(`${open} is writable by every user without the sticky bit`));
  assert.equal(warnings.length, 1, 'helper A warned once that another user can change its cert_dir');
  for (const helper of [a, c, d]) assert.ok(alive(helper), `helper ${helper.pid} still runs:\n${helper.stderr().slice(-2000)}`);

  // Once the racers are gone, the next rotation leaves both emptyDirs holding the right set again.
  await Promise.all([generations.stop(), creation.stop(), temporaries.stop()]);
  await s.rotate();
  const serial = new X509Certificate(s.currentSvids[0]!.certificates[0]!).serialNumber;
  for (const certs of [open, flat]) {
    await waitFor(
      async () => {
        const key = await readFile(join(certs, 'svid_key.pem'), 'utf8').catch(() => undefined);
        return (await servedSerial(certs)) === serial && key !== undefined && keyMatches(await readFile(join(certs, 'svid.pem'), 'utf8'), key);
      },
      { what: `${certs} to hold the served SVID and its key again`, timeoutMs: STARTUP_MS },
    );
  }
  assert.ok((await lstat(join(flat, 'svid_key.pem'))).isFile(), 'the per-file layout holds plain files again');
  assert.match(await readlink(join(open, '..data')), /^\.\.\d{8}T/);
});

async function config(base: string, name: string, text: string): Promise<string> {
  const dir = join(base, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'helper.conf'), text);
  return join(dir, 'helper.conf');
}
