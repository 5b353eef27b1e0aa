import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WrappedProgram, type ProgramSpec } from '../../src/helper/program/index.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';

export const RECORDER = new URL('./fixtures/recorder.ts', import.meta.url).pathname;

type After = { after(fn: () => unknown): void };

/** Whether `pid` is a live process: a zombie (dead, not yet reaped by its new parent) is not. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // The state follows the parenthesised command name: "pid (comm) S ...".
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** SIGKILLs `pid` after the test unless it is gone already. */
export function killAfter(t: After, pid: number): void {
  t.after(() => {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
}

export async function lines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

export interface Recorder {
  readonly program: WrappedProgram;
  readonly dir: string;
  /** Where the recorder writes "ready <pid> <mark>" and then the signals it gets. */
  readonly file: string;
  lines(): Promise<string[]>;
  count(signal: string): Promise<number>;
  /** Waits for the ready line of a program other than `previous`; returns its pid (killed after the test). */
  ready(previous?: number): Promise<number>;
}

/** A WrappedProgram running the recorder fixture (not started), stopped and killed by pid after the test. */
export async function recorder(t: After, flags: readonly string[] = [], spec: Partial<ProgramSpec> = {}, log?: Parameters<typeof WrappedProgram.create>[1]): Promise<Recorder> {
  const dir = await tempDir(t);
  const file = join(dir, 'signals.log');
  const program = await WrappedProgram.create(
    { command: process.execPath, args: [RECORDER, file, ...flags], stopSignal: 'SIGTERM', killTimeoutMs: 5_000, onExit: 'exit', restartBackoffMaxMs: 100, ...spec },
    log,
  );
  t.after(async () => {
    const pid = program.pid;
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
    await program.stop('SIGKILL');
  });
  const own = () => lines(file);
  return {
    program,
    dir,
    file,
    lines: own,
    count: async (signal) => (await own()).filter((line) => line === signal).length,
    async ready(previous) {
      const pid = await waitFor(
        async () => {
          const pid = Number((await own())[0]?.split(' ')[1]);
          return Number.isInteger(pid) && pid !== previous ? pid : undefined;
        },
        { what: previous === undefined ? 'the recorder to start' : `a recorder other than ${previous} to start` },
      );
      killAfter(t, pid);
      return pid;
    },
  };
}

/** A logger that keeps what it is given, for assertions. */
export function memoryLog(): { readonly entries: { level: string; object: object; message: string }[]; info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void } {
  const entries: { level: string; object: object; message: string }[] = [];
  const at = (level: string) => (object: object, message = '') => void entries.push({ level, object, message });
  return { entries, info: at('info'), warn: at('warn'), error: at('error') };
}
