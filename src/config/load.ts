import { readFile } from 'node:fs/promises';
import { ConfigError, unreadable } from './errors.ts';
import { parseConfig } from './parse.ts';
import type { HelperConfig } from './types.ts';

/** The config file's text; an unreadable file is a ConfigError like any other config problem. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError({ file }, `cannot read the config file: ${unreadable(error)}`);
  }
}

/** Reads and parses a config file. */
export async function loadConfig(file: string): Promise<HelperConfig> {
  return parseConfig(await readConfigText(file), file);
}
