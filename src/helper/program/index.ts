export { exitCodeOf, stopExitCode, type ExitStatus } from './exit-status.ts';
export type { ProcessLogger } from './logger.ts';
export { Notifier, type NotifierOptions } from './notifier.ts';
export { parentDeathPrefix } from './parent-death.ts';
export { signalPidFile } from './pid-file.ts';
export { runReloadCommand } from './reload.ts';
export type { SignalTarget } from './signal-target.ts';
export { CommandNotFoundError, resolveCommand } from './resolve-command.ts';
export { WrappedProgram, type ProgramEvents, type ProgramSpec } from './wrapped-program.ts';
