import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
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
  /** Runs `command` as this user, with no supplementary groups, and resolves with its stdout. */
  run(command: string, args: readonly string[]): Promise<string>;
  /** Starts `command` as this user; killed by pid after the test. */
  spawn(command: string, args: readonly string[]): ChildProcess;
}

const asUser = (user: { uid: number; gid: number }, command: string, args: readonly string[]): string[] => [
  `--reuid=${user.uid}`,
  `--regid=${user.gid}`,
  '--clear-groups',
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
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
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
    run: async (command, args) => (await run('setpriv', asUser(user, command, args))).stdout,
    spawn: (command, args) => {
      const child = spawn('setpriv', asUser(user, command, args), { stdio: 'ignore' });
      children.push(child);
      return child;
    },
  };
}

/** The TCP ports `pid` listens on (IPv4 and IPv6): its socket descriptors matched in /proc/net/tcp*. */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const target = (() => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })();
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined) inodes.add(inode);
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is "HEXIP:HEXPORT", st 0A is LISTEN, the inode is the tenth field.
      if (fields[3] === '0A' && inodes.has(fields[9]!)) ports.push(parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

/** How many descriptors `pid` has open now. */
export function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
