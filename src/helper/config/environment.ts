import type { Raw } from './document.ts';
import { ConfigError } from './errors.ts';
import { TOP_LEVEL_KEYS, envName, type EnvForm } from './keys.ts';

/** Go's strconv.ParseBool, which the Go helper's flags use. */
const BOOLEANS: Record<string, boolean> = { 1: true, t: true, T: true, TRUE: true, true: true, True: true, 0: false, f: false, F: false, FALSE: false, false: false, False: false };

function fromText(form: EnvForm, text: string, name: string): unknown {
  switch (form) {
    case 'string':
      return text;
    case 'boolean':
      if (Object.hasOwn(BOOLEANS, text)) return BOOLEANS[text];
      throw new ConfigError({ file: name }, `expected true or false, got ${JSON.stringify(text)}`);
    case 'duration':
      return /^\d+$/.test(text) ? Number(text) : text;
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw new ConfigError({ file: name }, `expected JSON (such as [{"jwt_audience": "db", "jwt_svid_file_name": "db.jwt"}]): ${(error as Error).message}`);
      }
  }
}

/**
 * The top-level keys set by SPIFFE_HELPER_<KEY> variables (Go helper issue #223: a pod configured
 * without a config file). An empty variable counts as unset; variables that name no key are left
 * alone (other tools share the prefix).
 */
export function readEnvironment(env: NodeJS.ProcessEnv): { readonly values: Raw; readonly names: Map<string, string> } {
  const values: Raw = {};
  const names = new Map<string, string>();
  for (const [key, form] of Object.entries(TOP_LEVEL_KEYS)) {
    const name = envName(key);
    const text = env[name];
    if (text === undefined || text === '') continue;
    values[key] = fromText(form, text, name);
    names.set(key, name);
  }
  return { values, names };
}

/** True when some SPIFFE_HELPER_<KEY> variable names a key: the environment configures the helper. */
export function configuredByEnvironment(env: NodeJS.ProcessEnv): boolean {
  return Object.keys(TOP_LEVEL_KEYS).some((key) => (env[envName(key)] ?? '') !== '');
}
