import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { waitFor } from './wait.ts';

const run = promisify(execFile);

/** A second local user for attacker tests: made with a random name, removed (with its processes) after the test. */
export interface OtherUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** Runs argv as this user (setpriv: its uid and gid only, no supplementary groups); stopped by pid after the test. */
  spawn(argv: readonly string[]): ChildProcess;
  /** Runs argv as this user to completion; rejects on a non-zero exit. */
  run(argv: readonly string[]): Promise<string>;
}

/** True when the test may create users and act as them (root, as CI runs). */
export const canActAsOtherUser = (): boolean => process.getuid?.() === 0;

export async function createOtherUser(t: { after(fn: () => unknown): void }): Promise<OtherUser> {
  const name = `shattk${randomBytes(4).toString('hex')}`;
  await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
  const children = new Set<ChildProcess>();
  t.after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
    await run('userdel', [name]);
  });
  const uid = Number((await run('id', ['-u', name])).stdout.trim());
  const gid = Number((await run('id', ['-g', name])).stdout.trim());
  const as = (argv: readonly string[]): string[] => [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...argv];
  return {
    name,
    uid,
    gid,
    spawn(argv) {
      const child = spawn('setpriv', as(argv), { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      return child;
    },
    async run(argv) {
      return (await run('setpriv', as(argv))).stdout;
    },
  };
}

/** Starts the link racer fixture as `user`; resolves once it watches. `swaps()` counts the swaps it won; stopped with the user. */
export async function startRacer(user: OtherUser, args: readonly string[]): Promise<{ swaps(): number; stop(): Promise<void> }> {
  const racer = user.spawn([process.execPath, new URL('../output/fixtures/link-racer.ts', import.meta.url).pathname, ...args]);
  let output = '';
  let errors = '';
  racer.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  racer.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const watching = (): boolean => {
    if (racer.exitCode !== null) throw new Error(`the racer exited: ${errors}`);
    return output.startsWith('ready\n');
  };
  await waitFor(watching, {
    what: `the link racer (${args.join(' ')}) to watch`,
    timeoutMs: 20_000,
  });
  return {
    swaps: () => output.split('\n').filter((line) => line.startsWith('swap ')).length,
    async stop() {
      if (racer.exitCode !== null || racer.signalCode !== null) return;
      racer.kill('SIGKILL');
      await once(racer, 'exit');
    },
  };
}
