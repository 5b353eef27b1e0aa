import { readFile } from 'node:fs/promises';
import { ConfigError } from './errors.ts';
import { parseConfig } from './parse.ts';
import type { HelperConfig } from './types.ts';

export async function loadConfig(file: string): Promise<HelperConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw new ConfigError(file, undefined, undefined, `cannot read the config file: ${why}`);
  }
  return parseConfig(text, file);
}
