import { loadExeca } from './load-execa.ts';
import { resolveCommand } from './resolve-command.ts';

let probed: Promise<readonly string[] | undefined> | undefined;

/**
 * The argv prefix that makes the kernel SIGKILL the program when the helper dies, even by SIGKILL:
 * util-linux's setpriv (2.33 or later knows --pdeathsig), found in PATH and probed once. setpriv
 * execs the program, so the pid stays the program's own. Undefined where setpriv is missing.
 *
 * The signal fires when the thread that spawned the program ends, so programs are spawned from the
 * main thread only. A helper killed in the instant between fork and setpriv's prctl() is not covered.
 */
export function parentDeathPrefix(): Promise<readonly string[] | undefined> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<readonly string[] | undefined> {
  let setpriv: string;
  try {
    setpriv = resolveCommand('setpriv');
  } catch {
    return undefined;
  }
  const { execa } = await loadExeca();
  const help = await execa(setpriv, ['--help'], { reject: false, stdin: 'ignore', timeout: 5_000 });
  return help.exitCode === 0 && String(help.stdout).includes('--pdeathsig') ? [setpriv, '--pdeathsig', 'SIGKILL', '--'] : undefined;
}
