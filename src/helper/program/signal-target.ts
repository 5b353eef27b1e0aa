import { readFile } from 'node:fs/promises';

/**
 * What /proc says about a process a pid file names, before the helper signals it. Facts the kernel
 * keeps: who owns it (Uid: of /proc/<pid>/status) and when it started (field 22 of /proc/<pid>/stat,
 * in clock ticks since boot). /proc may hide other users' processes (hidepid, systemd's
 * ProtectProc=invisible) while kill() still reaches them: such a target is signalled with its owner
 * unknown.
 */
export interface SignalTarget {
  readonly pid: number;
  /** Its real uid; undefined when /proc does not show it. */
  readonly uid: number | undefined;
}

/** USER_HZ: /proc counts process times in these ticks, 100 a second on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;
/** btime is whole seconds and start times are ticks: a pid file written in the second its process started is not stale. */
const STALE_SLACK_MS = 2_000;
/** Far more than any real chain of parents: a loop in what /proc says ends here. */
const MAX_ANCESTORS = 256;

/**
 * Resolves with the target when the helper may signal `pid`, named by a pid file last modified at
 * `writtenAtMs`; rejects with why not. Refused, whoever may write the pid file:
 * - init (pid 1), which a signal it has no handler for does not even reach in a container, and
 *   which reacts to many it has (systemd: SIGUSR1, SIGWINCH, SIGHUP...);
 * - the helper itself and its ancestors (the launcher, npm, a shell, tini, the service manager):
 *   the chained attack that made the helper signal itself, and a stop or reload of what runs it;
 *   the helper's own process group is never signalled either (the pid is always positive);
 * - a process that started after the pid file was last written: it cannot be the process that
 *   wrote its pid there, so the file is stale and its pid was reused by someone else.
 * Another user's process is not refused: signalling a server of another user is what the helper is
 * for (nginx's master runs as root); the kernel decides whether it may, and the log names the uid.
 */
export async function checkSignalTarget(pid: number, writtenAtMs: number): Promise<SignalTarget> {
  if (pid === 1) throw new Error('it is init (pid 1)');
  if (pid === process.pid) throw new Error('it is the helper itself');
  const ancestor = await ancestry(pid);
  if (ancestor !== undefined) throw new Error(`it is ${ancestor}`);
  const [stat, status, boot] = await Promise.all([readProc(`/proc/${pid}/stat`), readProc(`/proc/${pid}/status`), bootTimeMs()]);
  const startTicks = stat === undefined ? undefined : Number(statFields(stat)[19]);
  if (startTicks !== undefined && boot !== undefined && boot + (startTicks * 1_000) / TICKS_PER_SECOND > writtenAtMs + STALE_SLACK_MS) {
    throw new Error('it started after the pid file was written (a stale pid file whose pid was reused?)');
  }
  const uid = status === undefined ? undefined : /^Uid:\s+(\d+)/m.exec(status)?.[1];
  return { pid, uid: uid === undefined ? undefined : Number(uid) };
}

/** How `pid` relates to the helper when it is one of its ancestors, else undefined. */
async function ancestry(pid: number): Promise<string | undefined> {
  let current = process.ppid;
  for (let depth = 0; current > 1 && depth < MAX_ANCESTORS; depth++) {
    if (current === pid) return depth === 0 ? "the helper's parent" : 'an ancestor of the helper';
    const stat = await readProc(`/proc/${current}/stat`);
    if (stat === undefined) return undefined;
    current = Number(statFields(stat)[1]);
  }
  return undefined;
}

/** The fields after the command name, which is in parentheses and may itself hold spaces and parentheses: [0] is field 3 (state). */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** When the machine booted, in ms since the epoch (btime of /proc/stat). */
async function bootTimeMs(): Promise<number | undefined> {
  const btime = /^btime (\d+)$/m.exec((await readProc('/proc/stat')) ?? '')?.[1];
  return btime === undefined ? undefined : Number(btime) * 1_000;
}

async function readProc(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}
