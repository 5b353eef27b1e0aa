import { resolve } from 'node:path';
import type { ChosenDefault } from './chosen.ts';
import type { Table } from './table.ts';
import type { CmdExit, HelperConfig, RenewAction } from './types.ts';
import { readArgs, readPath, readRenewSignal, readSignal } from './values.ts';

const RENEW_ACTIONS: readonly RenewAction[] = ['signal', 'restart', 'command', 'none'];
const CMD_EXITS: readonly CmdExit[] = ['exit', 'restart', 'rerun'];

type Program = Pick<
  HelperConfig,
  'cmd' | 'renewAction' | 'renewSignal' | 'pidFileName' | 'renewCommand' | 'renewCommandTimeoutMs' | 'renewDebounceMs' | 'renewSplayMs' | 'stopSignal' | 'killTimeoutMs' | 'cmdExit' | 'cmdRestartBackoffMaxMs'
>;

/**
 * The Go helper starts `cmd` again at the next update whenever it is not running, and never exits
 * because it ended. Its MySQL and PostgreSQL examples rely on that: `cmd` is a reload command
 * (`mysql -e "ALTER INSTANCE RELOAD TLS"`) with no renew_signal. So when nothing tells the program
 * of a rotation, it is run again at each one; a program that is told (a signal, a restart, a
 * command, or an explicit "none": it watches the files itself) is a long-running one, whose exit
 * ends the helper.
 */
function defaultCmdExit(top: Table, renewSignalSet: boolean): { value: CmdExit; why: string } {
  if (!renewSignalSet && !top.has('renew_action')) {
    return { value: 'rerun', why: 'cmd is set and nothing tells it of a rotation (no renew_signal, no renew_action), so it is started again at the next update, as the Go helper does' };
  }
  return { value: 'exit', why: 'renew_signal or renew_action says how cmd learns of a rotation, so it is a long-running program: when it exits by itself, the helper exits with its code' };
}

/** The wrapped program and how it, or another process, learns of an update. */
export function readProgram(top: Table, chosen: ChosenDefault[]): Program {
  const cmd = top.read('cmd', readPath) || undefined;
  const cmdArgs = top.read('cmd_args', readArgs);
  if (cmd === undefined && cmdArgs !== undefined && cmdArgs.length > 0) top.fail('cmd_args', 'is set but cmd is not');
  if (cmdArgs?.some((arg) => arg.includes('\0'))) top.fail('cmd_args', 'contains a NUL byte');

  // "" means unset, as in the Go helper (its MySQL and PostgreSQL examples write renew_signal = "").
  const renewSignal = top.read<NodeJS.Signals | undefined>('renew_signal', (value) => (value === '' ? { ok: true, value: undefined } : readRenewSignal(value)));
  const renewAction = top.oneOf('renew_action', RENEW_ACTIONS) ?? (renewSignal === undefined ? 'none' : 'signal');
  const pidFileName = top.read('pid_file_name', readPath) || undefined;
  const renewCommand = top.command('renew_command');
  if (renewAction === 'signal' && renewSignal === undefined) top.fail('renew_action', '"signal" needs renew_signal');
  if (renewAction !== 'signal' && renewSignal !== undefined) top.fail('renew_signal', `is set but renew_action is ${JSON.stringify(renewAction)}: remove one`);
  if (pidFileName !== undefined && renewAction !== 'signal') top.fail('pid_file_name', 'needs renew_signal: the signal to send to the process in the pid file');
  if (renewAction === 'command' && renewCommand === undefined) top.fail('renew_action', '"command" needs renew_command', 'renew_action');
  if (renewAction !== 'command' && renewCommand !== undefined) top.fail('renew_command', `is set but renew_action is ${JSON.stringify(renewAction)}: set renew_action = "command"`);
  if (renewAction === 'restart' && cmd === undefined) top.fail('renew_action', '"restart" needs cmd, the program to restart');
  const renewSplayMs = top.duration('renew_splay', 0);
  if (renewSplayMs > 0 && renewAction === 'none') top.fail('renew_splay', 'is set but renew_action is "none": there is no notification to delay');
  let cmdExit = top.oneOf('cmd_exit', CMD_EXITS);
  if (cmdExit === undefined && cmd !== undefined) {
    const { value, why } = defaultCmdExit(top, renewSignal !== undefined);
    chosen.push({ key: 'cmd_exit', value: JSON.stringify(value), why });
    cmdExit = value;
  }
  cmdExit ??= 'exit';
  if (cmdExit !== 'exit' && cmd === undefined) top.fail('cmd_exit', `${JSON.stringify(cmdExit)} needs cmd, the program to ${cmdExit === 'restart' ? 'restart' : 'run again'}`);

  return {
    cmd: cmd === undefined ? undefined : { command: cmd, args: cmdArgs ?? [] },
    renewAction,
    renewSignal,
    pidFileName: pidFileName === undefined ? undefined : resolve(pidFileName),
    renewCommand,
    renewCommandTimeoutMs: top.duration('renew_command_timeout', 30_000, true),
    renewDebounceMs: top.duration('renew_debounce', 1_000),
    renewSplayMs,
    stopSignal: top.read('stop_signal', readSignal) ?? 'SIGTERM',
    killTimeoutMs: top.duration('kill_timeout', 10_000),
    cmdExit,
    cmdRestartBackoffMaxMs: top.duration('cmd_restart_backoff_max', 30_000, true),
  };
}
