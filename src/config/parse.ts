import { resolve } from 'node:path';
import toml from 'toml';
import { ConfigError, lineOf, nearest } from './errors.ts';
import type { CommandSpec, HelperConfig, JwtSvidOutput, LogLevel, RenewAction } from './types.ts';
import { describeType, readArgs, readDuration, readFileName, readMode, readSignal, type Check } from './values.ts';

type Raw = Record<string, unknown>;
interface TableRef {
  readonly name: string;
  readonly index: number;
  readonly array: boolean;
}

const TOP_LEVEL_KEYS = [
  'agent_address', 'cmd', 'cmd_args', 'cert_dir', 'svid_file_name', 'svid_key_file_name', 'svid_bundle_file_name',
  'renew_signal', 'pid_file_name', 'daemon_mode', 'add_intermediates_to_bundle', 'include_federated_domains',
  'omit_expired', 'hint', 'cert_file_mode', 'key_file_mode', 'jwt_bundle_file_mode', 'jwt_svid_file_mode',
  'jwt_svids', 'jwt_bundle_file_name', 'health_checks',
  'renew_action', 'renew_command', 'renew_command_timeout', 'renew_debounce', 'stop_signal', 'kill_timeout',
  'cmd_exit', 'cmd_restart_backoff_max', 'oneshot_timeout', 'log_level', 'log_format', 'federated_bundle_file_name',
] as const;
const HEALTH_KEYS = ['listener_enabled', 'bind_port', 'liveness_path', 'readiness_path', 'bind_address', 'ready_expiry_margin', 'agent_lost_threshold'] as const;
const JWT_SVID_KEYS = ['jwt_audience', 'jwt_extra_audiences', 'jwt_svid_file_name', 'jwt_svid_spiffe_id'] as const;
const RENEW_ACTIONS: readonly RenewAction[] = ['signal', 'restart', 'command', 'none'];
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** Reads one TOML table: typed getters that fail with the key's path and line, and an unknown-key check. */
class Table {
  readonly #raw: Raw;
  readonly #path: string;
  readonly #ref: TableRef | undefined;
  readonly #text: string;
  readonly #file: string;

  constructor(raw: Raw, path: string, ref: TableRef | undefined, text: string, file: string) {
    this.#raw = raw;
    this.#path = path;
    this.#ref = ref;
    this.#text = text;
    this.#file = file;
  }

  fail(key: string | undefined, problem: string): never {
    const line = key === undefined ? undefined : lineOf(this.#text, this.#ref, key);
    throw new ConfigError(this.#file, line, key === undefined ? (this.#path || undefined) : `${this.#path}${key}`, problem);
  }

  has(key: string): boolean {
    return this.#raw[key] !== undefined;
  }

  rejectUnknown(known: readonly string[]): void {
    for (const key of Object.keys(this.#raw)) {
      if (known.includes(key)) continue;
      const suggestion = nearest(key, known);
      this.fail(key, `unknown key${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}`);
    }
  }

  read<T>(key: string, check: (value: unknown) => Check<T>): T | undefined {
    const value = this.#raw[key];
    if (value === undefined) return undefined;
    const result = check(value);
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

  port(key: string): number | undefined {
    return this.read(key, (v) =>
      typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535 ? { ok: true, value: v } : { ok: false, why: `expected a port number 0-65535, got ${describeType(v)}` },
    );
  }

  urlPath(key: string): string | undefined {
    return this.read(key, (v) => (typeof v === 'string' && v.startsWith('/') ? { ok: true, value: v } : { ok: false, why: `expected a path starting with "/", got ${describeType(v)}` }));
  }

  command(key: string): CommandSpec | undefined {
    const args = this.read(key, readArgs);
    if (args === undefined) return undefined;
    const [command, ...rest] = args;
    if (command === undefined || command === '') this.fail(key, 'the command is empty');
    return { command, args: rest };
  }

  table(key: string, ref: TableRef): Table | undefined {
    const value = this.#raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(key, `expected a table, got ${describeType(value)}`);
    return new Table(value as Raw, `${this.#path}${key}.`, ref, this.#text, this.#file);
  }

  tables(key: string): Table[] {
    const value = this.#raw[key];
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item))) {
      this.fail(key, `expected an array of tables ([[${key}]]), got ${describeType(value)}`);
    }
    return (value as Raw[]).map((item, index) => new Table(item, `${this.#path}${key}[${index}].`, { name: key, index, array: true }, this.#text, this.#file));
  }
}

function parseToml(text: string, file: string): Raw {
  try {
    return toml.parse(text) as Raw;
  } catch (error) {
    const e = error as { message: string; found?: unknown; location?: { start?: { line: number; column: number } } };
    const start = e.location?.start;
    const what = e.found === undefined ? e.message : e.found === null ? 'unexpected end of file' : `unexpected ${JSON.stringify(e.found)}`;
    // A Go helper config is TOML already except for HCL blocks: say how to write those.
    const block = start === undefined ? undefined : /^\s*([A-Za-z_]+)\s*\{/.exec(text.split('\n')[start.line - 1] ?? '')?.[1];
    if (block !== undefined) {
      throw new ConfigError(`${file}:${start!.line}`, undefined, block, `"${block} { ... }" is HCL block syntax: in TOML write [${block}] on its own line, then its keys, at the end of the file`);
    }
    throw new ConfigError(`${file}${start === undefined ? '' : `:${start.line}:${start.column}`}`, undefined, undefined, `invalid TOML: ${what}`);
  }
}

/** Parses and validates a config file's text; every default lives here. */
export function parseConfig(text: string, file: string): HelperConfig {
  const top = new Table(parseToml(text, file), '', undefined, text, file);
  top.rejectUnknown(TOP_LEVEL_KEYS);

  const cmd = top.string('cmd') || undefined;
  const cmdArgs = top.read('cmd_args', readArgs);
  if (cmd === undefined && cmdArgs !== undefined && cmdArgs.length > 0) top.fail('cmd_args', 'is set but cmd is not');

  const x509Names = ['svid_file_name', 'svid_key_file_name', 'svid_bundle_file_name'] as const;
  const [svidFileName, keyFileName, bundleFileName] = x509Names.map((key) => top.read(key, readFileName));
  const x509Count = [svidFileName, keyFileName, bundleFileName].filter((name) => name !== undefined).length;
  if (x509Count > 0 && x509Count < 3) {
    const missing = x509Names.find((key) => !top.has(key))!;
    top.fail(missing, `is required with ${x509Names.filter((key) => top.has(key)).join(' and ')} (the X.509 files are written as a set)`);
  }
  const x509 = x509Count === 3 ? { svidFileName: svidFileName!, keyFileName: keyFileName!, bundleFileName: bundleFileName! } : undefined;

  const jwtSvids: JwtSvidOutput[] = top.tables('jwt_svids').map((entry) => {
    entry.rejectUnknown(JWT_SVID_KEYS);
    const audience = entry.string('jwt_audience');
    if (audience === undefined || audience === '') entry.fail('jwt_audience', 'is required');
    const fileName = entry.read('jwt_svid_file_name', readFileName);
    if (fileName === undefined) entry.fail('jwt_svid_file_name', 'is required');
    const extraAudiences = entry.read('jwt_extra_audiences', (v) =>
      Array.isArray(v) && v.every((a) => typeof a === 'string' && a !== '') ? { ok: true, value: v as string[] } : { ok: false, why: 'expected an array of non-empty strings' },
    );
    const spiffeId = entry.read('jwt_svid_spiffe_id', (v) =>
      typeof v === 'string' && v.startsWith('spiffe://') ? { ok: true, value: v } : { ok: false, why: `expected a SPIFFE ID (spiffe://...), got ${describeType(v)}` },
    );
    return { audience: audience!, extraAudiences: extraAudiences ?? [], fileName: fileName!, spiffeId };
  });
  const jwtBundleFileName = top.read('jwt_bundle_file_name', readFileName);
  if (x509 === undefined && jwtSvids.length === 0 && jwtBundleFileName === undefined) {
    top.fail(undefined, 'nothing to write: set svid_file_name, svid_key_file_name and svid_bundle_file_name, a [[jwt_svids]] entry, or jwt_bundle_file_name');
  }

  const federatedBundleFileName = top.read('federated_bundle_file_name', (v) => {
    const name = readFileName(v);
    if (!name.ok) return name;
    return name.value.includes('{trust_domain}') ? name : { ok: false, why: 'must contain "{trust_domain}", replaced by each federated trust domain name' };
  });
  if (federatedBundleFileName !== undefined && x509 === undefined) top.fail('federated_bundle_file_name', 'needs the X.509 files (svid_file_name, ...)');

  const names = [
    ...(x509 === undefined ? [] : x509Names.map((key) => [key, top.read(key, readFileName)!] as const)),
    ...jwtSvids.map((jwt, index) => [`jwt_svids[${index}].jwt_svid_file_name`, jwt.fileName] as const),
    ...(jwtBundleFileName === undefined ? [] : [['jwt_bundle_file_name', jwtBundleFileName] as const]),
  ];
  const seen = new Map<string, string>();
  for (const [key, name] of names) {
    const other = seen.get(name);
    if (other !== undefined) top.fail(key.includes('[') ? undefined : key, `${key} names the same file as ${other}: ${JSON.stringify(name)}`);
    seen.set(name, key);
  }

  const renewSignal = top.read('renew_signal', readSignal);
  const renewAction = top.oneOf('renew_action', RENEW_ACTIONS) ?? (renewSignal === undefined ? 'none' : 'signal');
  const pidFileName = top.string('pid_file_name');
  if (renewAction === 'signal' && renewSignal === undefined) top.fail('renew_action', '"signal" needs renew_signal');
  if (pidFileName !== undefined && (renewSignal === undefined || renewAction !== 'signal')) {
    top.fail('pid_file_name', 'needs renew_signal (and renew_action "signal") to know what to send');
  }
  const renewCommand = top.command('renew_command');
  if (renewAction === 'command' && renewCommand === undefined) top.fail('renew_action', '"command" needs renew_command');
  if (renewAction === 'restart' && cmd === undefined) top.fail('renew_action', '"restart" needs cmd');

  const health = top.table('health_checks', { name: 'health_checks', index: 0, array: false });
  health?.rejectUnknown(HEALTH_KEYS);

  const certDir = resolve(top.string('cert_dir') || '.');
  return {
    file,
    agentAddress: top.string('agent_address') || undefined,
    cmd: cmd === undefined ? undefined : { command: cmd, args: cmdArgs ?? [] },
    certDir,
    x509,
    federatedBundleFileName,
    certFileMode: top.read('cert_file_mode', readMode) ?? 0o644,
    keyFileMode: top.read('key_file_mode', readMode) ?? 0o600,
    jwtBundleFileMode: top.read('jwt_bundle_file_mode', readMode) ?? 0o600,
    jwtSvidFileMode: top.read('jwt_svid_file_mode', readMode) ?? 0o600,
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
    renewCommandTimeoutMs: top.read('renew_command_timeout', readDuration) ?? 30_000,
    renewDebounceMs: top.read('renew_debounce', readDuration) ?? 1_000,
    stopSignal: top.read('stop_signal', readSignal) ?? 'SIGTERM',
    killTimeoutMs: top.read('kill_timeout', readDuration) ?? 10_000,
    cmdExit: top.oneOf('cmd_exit', ['exit', 'restart']) ?? 'exit',
    cmdRestartBackoffMaxMs: top.read('cmd_restart_backoff_max', readDuration) ?? 30_000,
    oneshotTimeoutMs: top.read('oneshot_timeout', readDuration) ?? 60_000,
    logLevel: top.oneOf('log_level', LOG_LEVELS) ?? 'info',
    logFormat: top.oneOf('log_format', ['json', 'text']) ?? 'json',
    healthChecks: {
      listenerEnabled: health?.boolean('listener_enabled') ?? false,
      bindAddress: health?.string('bind_address') ?? '127.0.0.1',
      bindPort: health?.port('bind_port') ?? 8081,
      livenessPath: health?.urlPath('liveness_path') ?? '/live',
      readinessPath: health?.urlPath('readiness_path') ?? '/ready',
      readyExpiryMarginMs: health?.read('ready_expiry_margin', readDuration) ?? 30_000,
      agentLostThresholdMs: health?.read('agent_lost_threshold', readDuration) ?? 60_000,
    },
  };
}
