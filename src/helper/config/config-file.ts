import { existsSync } from 'node:fs';
import { configuredByEnvironment } from './environment.ts';

/** The Go helper's default for -config, read from the working directory. */
export const DEFAULT_CONFIG_FILE = 'helper.conf';

/**
 * The config file to read: the one named by -config; else helper.conf, unless it is absent and
 * SPIFFE_HELPER_* variables configure the helper (a pod with no config file): then none.
 */
export function configFileToRead(named: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return named ?? (existsSync(DEFAULT_CONFIG_FILE) || !configuredByEnvironment(env) ? DEFAULT_CONFIG_FILE : undefined);
}
