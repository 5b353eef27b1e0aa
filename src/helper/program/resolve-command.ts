import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export class CommandNotFoundError extends Error {
  override name = 'CommandNotFoundError';
}

/** Why `path` cannot be executed, or undefined when it can. */
function unusable(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return 'not a regular file';
    accessSync(path, constants.X_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file' : code === 'EACCES' ? 'not executable (permission denied)' : (error as Error).message;
  }
}

/**
 * Finds the program as execvp would, so a missing or non-executable command is reported by name
 * before anything is spawned (a wrapper such as setpriv would otherwise hide it behind its own error).
 */
export function resolveCommand(command: string, env: NodeJS.ProcessEnv = process.env): string {
  if (command === '') throw new CommandNotFoundError('cannot run an empty command');
  if (command.includes('/')) {
    const why = unusable(command);
    if (why === undefined) return command;
    throw new CommandNotFoundError(`cannot run ${JSON.stringify(command)}: ${why}`);
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && unusable(join(dir, command)) === undefined) return join(dir, command);
  }
  throw new CommandNotFoundError(`cannot run ${JSON.stringify(command)}: not found in PATH`);
}
