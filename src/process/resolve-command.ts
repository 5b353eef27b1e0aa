import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export class CommandNotFoundError extends Error {
  override name = 'CommandNotFoundError';
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds the program as execvp would, so a missing or non-executable command is reported by name
 * before anything is spawned (a wrapper such as setpriv would otherwise hide it behind its own error).
 */
export function resolveCommand(command: string, env: NodeJS.ProcessEnv = process.env): string {
  if (command.includes('/')) {
    if (isExecutable(command)) return command;
    throw new CommandNotFoundError(`cannot run ${JSON.stringify(command)}: no such executable file`);
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, command))) return join(dir, command);
  }
  throw new CommandNotFoundError(`cannot run ${JSON.stringify(command)}: not found in PATH`);
}
