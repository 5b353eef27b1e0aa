import type { HelperConfig } from '../config/index.ts';
import type { ProgramSpec } from '../program/index.ts';

/** The program `config` asks for; `cmd` must be set. */
export function programSpec(config: HelperConfig): ProgramSpec {
  const cmd = config.cmd!;
  return {
    command: cmd.command,
    args: cmd.args,
    stopSignal: config.stopSignal,
    killTimeoutMs: config.killTimeoutMs,
    onExit: config.cmdExit,
    restartBackoffMaxMs: config.cmdRestartBackoffMaxMs,
  };
}

/** Whether a reload to `b` keeps the program `a` runs: the same command, signals, timeouts and exit policy. */
export function sameProgram(a: HelperConfig, b: HelperConfig): boolean {
  return JSON.stringify(a.cmd === undefined ? null : programSpec(a)) === JSON.stringify(b.cmd === undefined ? null : programSpec(b));
}
