import { resolve } from 'node:path';
import toml from 'toml';
import { ConfigError, nearest } from './errors.ts';
import { lineOf, locateKeys, type KeySite } from './locate.ts';
import type { CommandSpec, HelperConfig, JwtSvidOutput, LogLevel, RenewAction } from './types.ts';
import { describeType, readArgs, readBindAddress, readDuration, readFileName, readMode, readSignal, readSpiffeId, type Check } from './values.ts';
import { X509_OUTPUT_KEYS, X509_SVID_KEYS, hasX509Files, readLayout, readPkcs12Password, readX509FileNames, readX509Svids, x509FileNameKeys } from './x509-outputs.ts';

type Raw = Record<string, unknown>;

const TOP_LEVEL_KEYS = [
  'agent_address', 'cmd', 'cmd_args', 'cert_dir', ...X509_OUTPUT_KEYS,
  'renew_signal', 'pid_file_name', 'daemon_mode', 'add_intermediates_to_bundle', 'include_federated_domains',
  'omit_expired', 'hint', 'cert_file_mode', 'key_file_mode', 'jwt_bundle_file_mode', 'jwt_svid_file_mode',
  'jwt_svids', 'jwt_bundle_file_name', 'health_checks',
  'renew_action', 'renew_command', 'renew_command_timeout', 'renew_debounce', 'renew_splay', 'stop_signal', 'kill_timeout',
  'cmd_exit', 'cmd_restart_backoff_max', 'oneshot_timeout', 'log_level', 'log_format', 'federated_bundle_file_name',
] as const;
const HEALTH_KEYS = ['listener_enabled', 'bind_port', 'liveness_path', 'readiness_path', 'bind_address', 'ready_expiry_margin', 'agent_lost_threshold'] as const;
const JWT_SVID_KEYS = ['jwt_audience', 'jwt_extra_audiences', 'jwt_svid_file_name', 'jwt_svid_spiffe_id'] as const;
const RENEW_ACTIONS: readonly RenewAction[] = ['signal', 'restart', 'command', 'none'];
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
/** Served beside the health paths (src/health); a health path there would be shadowed. */
const METRICS_PATH = '/metrics';
/** Trust domain names: what `{trust_domain}` can become in federated_bundle_file_name. */
const TRUST_DOMAIN_CHARS = '[a-z0-9._-]+';

interface Source {
  readonly file: string;
  readonly sites: Map<string, KeySite>;
}

/** One TOML table: typed getters that fail with the key's path and line, and an unknown-key check. */
export class Table {
  readonly #raw: Raw;
  readonly #path: string;
  readonly #source: Source;

  constructor(raw: Raw, path: string, source: Source) {
    this.#raw = raw;
    this.#path = path;
    this.#source = source;
  }

  keyPath(key: string): string {
    return this.#path === '' ? key : `${this.#path}.${key}`;
  }

  /** Fails on `key`; `lineKey` names a key written nearby when `key` itself is missing. */
  fail(key: string | undefined, problem: string, lineKey?: string): never {
    const path = key === undefined ? this.#path : this.keyPath(key);
    const line = lineOf(this.#source.sites, lineKey === undefined ? path : this.keyPath(lineKey));
    throw new ConfigError({ file: this.#source.file, line, key: path }, problem);
  }

  has(key: string): boolean {
    return this.#raw[key] !== undefined;
  }

  rejectUnknown(known: readonly string[], elsewhere: (key: string) => string | undefined = () => undefined): void {
    for (const key of Object.keys(this.#raw)) {
      if (known.includes(key)) continue;
      const suggestion = nearest(key, known);
      const hint = suggestion !== undefined ? ` (did you mean ${suggestion}?)` : (elsewhere(key) ?? '');
      this.fail(key, `unknown key${hint}`);
    }
  }

  read<T>(key: string, check: (value: unknown, raw: string | undefined) => Check<T>): T | undefined {
    const value = this.#raw[key];
    if (value === undefined) return undefined;
    const result = check(value, this.#source.sites.get(this.keyPath(key))?.raw);
    if (!result.ok) this.fail(key, result.why);
    return result.value;
  }

  string(key: string): string | undefined {
    return this.read(key, (v) => (typeof v === 'string' ? { ok: true, value: v } : { ok: false, why: `expected a string, got ${describeType(v)}` }));
  }

  boolean(key: string): boolean | undefined {
    return this.read(key, (v) => (typeof v === 'boolean' ? { ok: true, value: v } : { ok: false, why: `expected true or false, got ${describeType(v)}` }));
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    return this.read(key, (v) =>
      typeof v === 'string' && (allowed as readonly string[]).includes(v)
        ? { ok: true, value: v as T }
        : { ok: false, why: `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describeType(v)}` },
    );
  }

  duration(key: string, fallbackMs: number, positive = false): number {
    return this.read(key, (v) => readDuration(v, positive)) ?? fallbackMs;
  }

  mode(key: string, fallback: number): number {
    return this.read(key, readMode) ?? fallback;
  }

  port(key: string): number | undefined {
    return this.read(key, (v) =>
      typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535 ? { ok: true, value: v } : { ok: false, why: `expected a port number 0-65535, got ${describeType(v)}` },
    );
  }

  urlPath(key: string): string | undefined {
    return this.read(key, (v) =>
      typeof v === 'string' && /^\/[^\s?#]*$/.test(v) ? { ok: true, value: v } : { ok: false, why: `expected a URL path starting with "/", got ${describeType(v)}` },
    );
  }

  command(key: string): CommandSpec | undefined {
    const args = this.read(key, readArgs);
    if (args === undefined) return undefined;
    const [command, ...rest] = args;
    if (command === undefined || command === '') this.fail(key, 'the command is empty');
    return { command, args: rest };
  }

  table(key: string): Table | undefined {
    const value = this.#raw[key];
    if (value === undefined) return undefined;
    if (!isTable(value)) this.fail(key, `expected a table ([${key}]), got ${describeType(value)}`);
    return new Table(value, this.keyPath(key), this.#source);
  }

  tables(key: string): Table[] {
    const value = this.#raw[key];
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every(isTable)) this.fail(key, `expected an array of tables ([[${key}]]), got ${describeType(value)}`);
    return value.map((item, index) => new Table(item, `${this.keyPath(key)}[${index}]`, this.#source));
  }
}

function isTable(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** TOML's own errors, with line and column, and a hint for the Go helper's HCL that TOML refuses. */
function parseToml(text: string, file: string): Raw {
  try {
    return toml.parse(text) as Raw;
  } catch (error) {
    const e = error as { message: string; found?: unknown; line?: number; column?: number; location?: { start?: { line: number; column: number } } };
    const line = e.location?.start?.line ?? e.line;
    const column = e.location?.start?.column ?? e.column;
    const source = line === undefined ? '' : (text.split(/\r?\n/)[line - 1] ?? '');
    const at = { file, line, column };
    const block = /^\s*([A-Za-z_][\w-]*)\s*\{/.exec(source)?.[1];
    if (block !== undefined) {
      throw new ConfigError({ ...at, column: undefined, key: block }, `"${block} { ... }" is HCL, not TOML: write [${block}] on its own line, then its keys, after all top-level keys`);
    }
    const octal = /^\s*([A-Za-z_][\w-]*)\s*=\s*(0[0-7]+)\s*(#.*)?$/.exec(source);
    if (octal !== null) {
      throw new ConfigError({ ...at, column: undefined, key: octal[1] }, `${octal[2]} is not a TOML number (no leading zeros): write 0o${octal[2]!.replace(/^0+/, '')} or "${octal[2]}"`);
    }
    if (/^\s*\/[/*]/.test(source)) throw new ConfigError(at, 'invalid TOML: comments start with "#" ("//" and "/* */" are HCL)');
    const redefined = /Cannot redefine existing key '(.*)'/.exec(e.message)?.[1];
    if (redefined !== undefined) throw new ConfigError({ ...at, key: redefined }, 'is set more than once');
    const what = e.found === undefined ? e.message : e.found === null ? 'unexpected end of file' : `unexpected ${JSON.stringify(e.found)}`;
    throw new ConfigError(at, `invalid TOML: ${what}`);
  }
}

/** Where an unknown top-level key belongs, when it is a key of a table. */
function belongsElsewhere(key: string): string | undefined {
  if ((HEALTH_KEYS as readonly string[]).includes(key)) return ' (it belongs under [health_checks])';
  if ((JWT_SVID_KEYS as readonly string[]).includes(key)) return ' (it belongs in a [[jwt_svids]] entry)';
  if ((X509_SVID_KEYS as readonly string[]).includes(key)) return ' (it belongs in an [[x509_svids]] entry)';
  return undefined;
}

/** A top-level key written after a table header lands in that table: say so. */
function topLevelBelow(table: string): (key: string) => string | undefined {
  return (key) => ((TOP_LEVEL_KEYS as readonly string[]).includes(key) ? ` (top-level keys must come before the first [${table}] header)` : undefined);
}

/**
 * Parses and validates a config file's text; every default lives here. `file` names the file in
 * errors. Relative paths (cert_dir, pid_file_name) resolve against the working directory, as the Go
 * helper's do. The Workload API address is left as written (or undefined): the client resolves it and
 * SPIFFE_ENDPOINT_SOCKET. The one secret, the PKCS#12 password, is read here from its file or from
 * `env`, so a missing one is refused at load like any other bad value.
 */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): HelperConfig {
  const source: Source = { file, sites: locateKeys(text) };
  const top = new Table(parseToml(text, file), '', source);
  top.rejectUnknown(TOP_LEVEL_KEYS, belongsElsewhere);
  const health = top.table('health_checks');
  health?.rejectUnknown(HEALTH_KEYS, topLevelBelow('health_checks'));
  const jwtEntries = top.tables('jwt_svids');
  for (const entry of jwtEntries) entry.rejectUnknown(JWT_SVID_KEYS, topLevelBelow('[jwt_svids]'));

  const cmd = top.string('cmd') || undefined;
  const cmdArgs = top.read('cmd_args', readArgs);
  if (cmd === undefined && cmdArgs !== undefined && cmdArgs.length > 0) top.fail('cmd_args', 'is set but cmd is not');

  const layout = readLayout(top);
  const topFiles = readX509FileNames(top);
  const x509 = topFiles.pem;
  const x509Svids = readX509Svids(top);
  const pkcs12Password = readPkcs12Password(top, [topFiles, ...x509Svids], env);
  const writesX509 = layout === 'filesystem_delivery' || hasX509Files(topFiles) || x509Svids.length > 0;

  const jwtSvids: JwtSvidOutput[] = jwtEntries.map((entry: Table) => {
    const audience = entry.string('jwt_audience');
    if (audience === undefined || audience === '') entry.fail('jwt_audience', 'is required (the audience the JWT-SVID is for)');
    const fileName = entry.read('jwt_svid_file_name', readFileName);
    if (fileName === undefined) entry.fail('jwt_svid_file_name', 'is required (the file the token is written to)');
    const extraAudiences = entry.read('jwt_extra_audiences', (v) =>
      Array.isArray(v) && v.every((a) => typeof a === 'string' && a !== '')
        ? { ok: true, value: v as string[] }
        : { ok: false, why: `expected an array of non-empty strings, got ${describeType(v)}` },
    );
    return { audience, extraAudiences: extraAudiences ?? [], fileName, spiffeId: entry.read('jwt_svid_spiffe_id', readSpiffeId) };
  });
  const jwtBundleFileName = top.read('jwt_bundle_file_name', readFileName);
  if (!writesX509 && jwtSvids.length === 0 && jwtBundleFileName === undefined) {
    top.fail(undefined, 'nothing to write: set svid_file_name, svid_key_file_name and svid_bundle_file_name, combined_pem_file_name, a PKCS#12 file, an [[x509_svids]] or [[jwt_svids]] entry, jwt_bundle_file_name, or layout');
  }

  const federatedBundleFileName = top.read('federated_bundle_file_name', (v) => {
    const name = readFileName(v);
    if (!name.ok || name.value.includes('{trust_domain}')) return name;
    return { ok: false, why: 'must contain "{trust_domain}", replaced by each federated trust domain name' };
  });
  if (federatedBundleFileName !== undefined && x509 === undefined) top.fail('federated_bundle_file_name', 'needs the X.509 files (svid_file_name, svid_key_file_name, svid_bundle_file_name)');

  const names: Array<readonly [string, string]> = [
    ...x509FileNameKeys(topFiles, (key) => key),
    ...x509Svids.flatMap((entry, index) => x509FileNameKeys(entry, (key) => `x509_svids[${index}].${key}`)),
    ...jwtSvids.map((jwt, index) => [`jwt_svids[${index}].jwt_svid_file_name`, jwt.fileName] as const),
    ...(jwtBundleFileName === undefined ? [] : [['jwt_bundle_file_name', jwtBundleFileName] as const]),
  ];
  const seen = new Map<string, string>();
  for (const [key, name] of names) {
    const other = seen.get(name);
    if (other !== undefined) top.fail(key, `names the same file as ${other}: ${JSON.stringify(name)}`);
    seen.set(name, key);
  }
  if (federatedBundleFileName !== undefined) {
    const pattern = new RegExp(`^${federatedBundleFileName.split('{trust_domain}').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join(TRUST_DOMAIN_CHARS)}$`);
    const clash = names.find(([, name]) => pattern.test(name));
    if (clash !== undefined) top.fail('federated_bundle_file_name', `could name the same file as ${clash[0]}: ${JSON.stringify(clash[1])}`);
  }

  const renewSignal = top.read('renew_signal', readSignal);
  const renewAction = top.oneOf('renew_action', RENEW_ACTIONS) ?? (renewSignal === undefined ? 'none' : 'signal');
  const pidFileName = top.string('pid_file_name') || undefined;
  const renewCommand = top.command('renew_command');
  if (renewAction === 'signal' && renewSignal === undefined) top.fail('renew_action', '"signal" needs renew_signal');
  if (renewAction !== 'signal' && renewSignal !== undefined) top.fail('renew_signal', `is set but renew_action is ${JSON.stringify(renewAction)}: remove one`);
  if (pidFileName !== undefined && renewAction !== 'signal') top.fail('pid_file_name', 'needs renew_signal: the signal to send to the process in the pid file');
  if (renewAction === 'command' && renewCommand === undefined) top.fail('renew_action', '"command" needs renew_command', 'renew_action');
  if (renewAction !== 'command' && renewCommand !== undefined) top.fail('renew_command', `is set but renew_action is ${JSON.stringify(renewAction)}: set renew_action = "command"`);
  if (renewAction === 'restart' && cmd === undefined) top.fail('renew_action', '"restart" needs cmd, the program to restart');
  const renewSplayMs = top.duration('renew_splay', 0);
  if (renewSplayMs > 0 && renewAction === 'none') top.fail('renew_splay', 'is set but renew_action is "none": there is no notification to delay');
  const cmdExit = top.oneOf('cmd_exit', ['exit', 'restart'] as const) ?? 'exit';
  if (cmdExit === 'restart' && cmd === undefined) top.fail('cmd_exit', '"restart" needs cmd, the program to restart');

  const livenessPath = health?.urlPath('liveness_path') ?? '/live';
  const readinessPath = health?.urlPath('readiness_path') ?? '/ready';
  if (livenessPath === readinessPath) (health ?? top).fail(health === undefined ? undefined : 'readiness_path', `is the same path as liveness_path: ${JSON.stringify(readinessPath)}`);
  for (const [key, path] of [['liveness_path', livenessPath], ['readiness_path', readinessPath]] as const) {
    if (path === METRICS_PATH) health!.fail(key, `${JSON.stringify(path)} is where the listener serves Prometheus metrics`);
  }

  return {
    file,
    agentAddress: top.string('agent_address') || undefined,
    cmd: cmd === undefined ? undefined : { command: cmd, args: cmdArgs ?? [] },
    certDir: resolve(top.string('cert_dir') || '.'),
    x509,
    combinedPemFileName: topFiles.combinedPemFileName,
    pkcs12KeystoreFileName: topFiles.pkcs12KeystoreFileName,
    pkcs12TruststoreFileName: topFiles.pkcs12TruststoreFileName,
    pkcs12Password,
    x509Svids,
    layout,
    federatedBundleFileName,
    certFileMode: top.mode('cert_file_mode', 0o644),
    keyFileMode: top.mode('key_file_mode', 0o600),
    jwtBundleFileMode: top.mode('jwt_bundle_file_mode', 0o600),
    jwtSvidFileMode: top.mode('jwt_svid_file_mode', 0o600),
    hint: top.string('hint') ?? '',
    addIntermediatesToBundle: top.boolean('add_intermediates_to_bundle') ?? false,
    includeFederatedDomains: top.boolean('include_federated_domains') ?? false,
    omitExpired: top.boolean('omit_expired') ?? false,
    jwtSvids,
    jwtBundle: jwtBundleFileName === undefined ? undefined : { fileName: jwtBundleFileName },
    daemonMode: top.boolean('daemon_mode') ?? true,
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
    oneshotTimeoutMs: top.duration('oneshot_timeout', 60_000, true),
    logLevel: top.oneOf('log_level', LOG_LEVELS) ?? 'info',
    logFormat: top.oneOf('log_format', ['json', 'text'] as const) ?? 'json',
    healthChecks: {
      listenerEnabled: health?.boolean('listener_enabled') ?? false,
      bindAddress: health?.read('bind_address', readBindAddress) ?? '127.0.0.1',
      bindPort: health?.port('bind_port') ?? 8081,
      livenessPath,
      readinessPath,
      readyExpiryMarginMs: health?.duration('ready_expiry_margin', 30_000) ?? 30_000,
      agentLostThresholdMs: health?.duration('agent_lost_threshold', 60_000) ?? 60_000,
    },
  };
}
