import { readFile } from 'node:fs/promises';
import { ConfigError, unreadable } from './errors.ts';
import { parseConfig, type ConfigInputs } from './parse.ts';
import type { HelperConfig } from './types.ts';

/** The config file's text; an unreadable file is a ConfigError like any other config problem. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError({ file }, `cannot read the config file: ${unreadable(error)}`);
  }
}

/** Reads the config file (if there is one) and parses it with the environment and flags on top. */
export async function loadConfig(inputs: ConfigInputs | string): Promise<HelperConfig> {
  const all = typeof inputs === 'string' ? { file: inputs } : inputs;
  return parseConfig(all.file === undefined ? undefined : await readConfigText(all.file), all);
}
