import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { waitFor } from './wait.ts';

const run = promisify(execFile);

/** Making users and acting as them needs root (as CI runs); tests that do skip otherwise. */
export const notRoot = process.getuid?.() !== 0 ? 'needs root: it makes a system user to act as' : false;

/** A system user a test made, to act as another local user (an attacker, a service). */
export interface SystemUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** Runs `command` as this user, with no supplementary groups, to completion; rejects on a non-zero exit (execFile's error: code, stdout, stderr). */
  run(command: string, args: readonly string[], options?: { readonly cwd?: string }): Promise<{ stdout: string; stderr: string }>;
  /** Starts `command` as this user, stdout and stderr piped; killed by pid after the test. */
  spawn(command: string, args: readonly string[]): ChildProcess;
}

const asUser = (user: { uid: number; gid: number }, command: string, args: readonly string[]): string[] => [
  `--reuid=${user.uid}`,
  `--regid=${user.gid}`,
  '--clear-groups',
  '--',
  command,
  ...args,
];

/**
 * Makes a system user with a random name (tests of other runs make theirs at the same time), removed
 * after the test with everything it started. useradd fails while another useradd holds the passwd
 * lock, so it is tried again until a deadline.
 */
export async function systemUser(t: { after(fn: () => unknown): void }): Promise<SystemUser> {
  const name = `sht-${randomBytes(4).toString('hex')}`;
  await waitFor(() => run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]).then(() => true), {
    what: `useradd ${name}`,
    timeoutMs: 30_000,
    intervalMs: 200,
  });
  const children: ChildProcess[] = [];
  t.after(async () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    // --force: processes of the user that the test started are stopped by their own hooks, which run later.
    await waitFor(() => run('userdel', ['--force', name]).then(() => true), { what: `userdel ${name}`, timeoutMs: 30_000, intervalMs: 200 });
  });
  const uid = Number((await run('id', ['-u', name])).stdout);
  const gid = Number((await run('id', ['-g', name])).stdout);
  const user = { uid, gid };
  return {
    name,
    uid,
    gid,
    run: (command, args, options) => run('setpriv', asUser(user, command, args), { cwd: options?.cwd }),
    spawn: (command, args) => {
      const child = spawn('setpriv', asUser(user, command, args), { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    },
  };
}
