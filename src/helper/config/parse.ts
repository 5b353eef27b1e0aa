import { resolve } from 'node:path';
import { parseText, type ParsedText, type Raw } from './document.ts';
import { ConfigError } from './errors.ts';
import { checkHost, type HostChecks } from './host.ts';
import { readEnvironment } from './environment.ts';
import type { ChosenDefault } from './chosen.ts';
import { HEALTH_KEYS, JWT_SVID_KEYS, TOP_LEVEL_NAMES } from './keys.ts';
import { lineOf } from './locate.ts';
import { readOutputs } from './outputs.ts';
import { readProgram } from './program.ts';
import { X509_SVID_KEYS } from './x509-outputs.ts';
import { Table, placeOf, type Origin } from './table.ts';
import type { FileLayout, HealthChecks, HelperConfig, LogLevel } from './types.ts';
import { readAgentAddress, readBindAddress, readPath } from './values.ts';
import { METRICS_PATH } from '../health/paths.ts';

const FILE_LAYOUTS: readonly FileLayout[] = ['generations', 'files'];
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** What a configuration is made of, highest precedence first: flags, environment, file. */
export interface ConfigInputs {
  /** The config file's name, for messages; undefined when there is none. */
  readonly file: string | undefined;
  /** SPIFFE_HELPER_<KEY> variables, and the PKCS#12 password's variable, are read from this; none when omitted. */
  readonly env?: NodeJS.ProcessEnv;
  /** Command-line values. */
  readonly flags?: { readonly daemonMode?: boolean | undefined; readonly devAgentAddress?: string | undefined };
  /** Also check the config against this machine (cert_dir, cmd); omitted: the text alone is checked. */
  readonly host?: HostChecks;
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
  return (key) => ((TOP_LEVEL_NAMES as readonly string[]).includes(key) ? ` (top-level keys must come before the first [${table}] header)` : undefined);
}

/**
 * The listener binds every interface unless told otherwise, as the Go helper's does: kubelet probes
 * and Prometheus reach a sidecar on the pod IP. A host that wants loopback says so (the systemd
 * example does).
 */
const DEFAULT_BIND_ADDRESS: ChosenDefault = {
  key: 'health_checks.bind_address',
  value: '"0.0.0.0"',
  why: 'every interface, as the Go helper listens, so kubelet probes and Prometheus reach it on the pod IP; set bind_address = "127.0.0.1" for loopback only',
};

function readHealth(top: Table, chosen: ChosenDefault[]): HealthChecks {
  const health = top.table('health_checks');
  health?.rejectUnknown(HEALTH_KEYS, topLevelBelow('health_checks'));
  const livenessPath = health?.urlPath('liveness_path') ?? '/live';
  const readinessPath = health?.urlPath('readiness_path') ?? '/ready';
  if (livenessPath === readinessPath) (health ?? top).fail(health === undefined ? undefined : 'readiness_path', `is the same path as liveness_path: ${JSON.stringify(readinessPath)}`);
  for (const [key, path] of [['liveness_path', livenessPath], ['readiness_path', readinessPath]] as const) {
    if (path === METRICS_PATH) health!.fail(key, `${JSON.stringify(path)} is where the listener serves Prometheus metrics`);
  }
  const listenerEnabled = health?.boolean('listener_enabled') ?? false;
  let bindAddress = health?.read('bind_address', readBindAddress);
  if (bindAddress === undefined && listenerEnabled) chosen.push(DEFAULT_BIND_ADDRESS);
  bindAddress ??= '0.0.0.0';
  return {
    listenerEnabled,
    bindAddress,
    bindPort: health?.port('bind_port') ?? 8081,
    livenessPath,
    readinessPath,
    readyExpiryMarginMs: health?.duration('ready_expiry_margin', 30_000) ?? 30_000,
    agentLostThresholdMs: health?.duration('agent_lost_threshold', 60_000) ?? 60_000,
  };
}

/** Each top-level key that is set, and where: the file's line, the environment variable, the flag. */
function sourcesOf(raw: Raw, origin: Origin): Map<string, string> {
  const sources = new Map<string, string>();
  for (const key of Object.keys(raw)) {
    const line = lineOf(origin.sites, key);
    sources.set(key, origin.overrides.get(key) ?? `${origin.file}${line === undefined ? '' : `:${line}`}`);
  }
  return sources;
}

/**
 * Validates parsed values into a HelperConfig; every default lives here or in the section readers.
 * Relative paths (cert_dir, pid_file_name) resolve against the working directory, as the Go helper's
 * do. The Workload API address is checked and kept as written (or undefined: the client falls back
 * to SPIFFE_ENDPOINT_SOCKET, which the host checks look at).
 */
function buildConfig(text: string | undefined, parsed: ParsedText | undefined, inputs: ConfigInputs): { config: HelperConfig; origin: Origin } {
  const environment = readEnvironment(inputs.env ?? {});
  const flags: Raw = {
    ...(inputs.flags?.daemonMode === undefined ? {} : { daemon_mode: inputs.flags.daemonMode }),
    ...(inputs.flags?.devAgentAddress === undefined ? {} : { agent_address: inputs.flags.devAgentAddress }),
  };
  const written: Raw = { ...parsed?.raw, ...environment.values };
  const raw: Raw = { ...written, ...flags };
  const overrides = new Map(environment.names);
  if ('daemon_mode' in flags) overrides.set('daemon_mode', '-daemon-mode');
  const origin: Origin = { file: inputs.file, format: parsed?.format, sites: parsed?.sites ?? new Map(), overrides, warnings: [...(parsed?.warnings ?? [])] };
  if ('agent_address' in flags && written.agent_address !== undefined) {
    // Two agents named: say once which one the helper talks to, and where the other came from.
    const where = sourcesOf({ agent_address: written.agent_address }, origin).get('agent_address');
    origin.warnings.push(`-dev wins over agent_address = ${JSON.stringify(written.agent_address)} (${where}): the helper uses the development Workload API`);
  }
  if ('agent_address' in flags) overrides.set('agent_address', '-dev');

  const top = new Table(raw, '', origin);
  top.rejectUnknown(TOP_LEVEL_NAMES, belongsElsewhere);
  for (const entry of top.tables('jwt_svids')) entry.rejectUnknown(JWT_SVID_KEYS, topLevelBelow('[jwt_svids]'));

  const certDirAsWritten = top.read('cert_dir', readPath) ?? '';
  const certDir = resolve(certDirAsWritten || '.');
  const outputs = readOutputs(top, certDirAsWritten, certDir, inputs.env ?? {});
  const defaultsChosen: ChosenDefault[] = [];
  const program = readProgram(top, defaultsChosen);
  const config: HelperConfig = {
    file: inputs.file,
    format: parsed?.format,
    text,
    sources: sourcesOf(raw, origin),
    warnings: origin.warnings,
    agentAddress: top.read('agent_address', readAgentAddress) || undefined,
    certDir,
    ...outputs,
    fileLayout: top.oneOf('file_layout', FILE_LAYOUTS) ?? 'generations',
    certFileMode: top.mode('cert_file_mode', 0o644),
    keyFileMode: top.mode('key_file_mode', 0o600),
    jwtBundleFileMode: top.mode('jwt_bundle_file_mode', 0o600),
    jwtSvidFileMode: top.mode('jwt_svid_file_mode', 0o600),
    addIntermediatesToBundle: top.boolean('add_intermediates_to_bundle') ?? false,
    includeFederatedDomains: top.boolean('include_federated_domains') ?? false,
    omitExpired: top.boolean('omit_expired') ?? false,
    daemonMode: top.boolean('daemon_mode') ?? true,
    ...program,
    oneshotTimeoutMs: top.duration('oneshot_timeout', 60_000, true),
    firstWriteWaitMs: top.duration('first_write_wait', 5_000),
    logLevel: top.oneOf('log_level', LOG_LEVELS) ?? 'info',
    logFormat: top.oneOf('log_format', ['json', 'text'] as const) ?? 'json',
    healthChecks: readHealth(top, defaultsChosen),
    defaultsChosen,
  };
  return { config, origin };
}

/**
 * Parses a config text (TOML or the Go helper's HCL, told from the content; undefined: no file) and
 * validates it, with the environment and flags of `inputs` on top. `inputs` may be just the file
 * name, for a file alone.
 */
export async function parseConfig(text: string | undefined, inputs: ConfigInputs | string): Promise<HelperConfig> {
  const all = typeof inputs === 'string' ? { file: inputs } : inputs;
  const parsed = text === undefined ? undefined : await parseText(text, all.file ?? 'config');
  const { config, origin } = buildConfig(text, parsed, all);
  if (all.host === undefined) return config;
  return checkHost(config, all.host, (key, problem) => {
    throw new ConfigError({ ...placeOf(origin, key), key }, problem);
  });
}
