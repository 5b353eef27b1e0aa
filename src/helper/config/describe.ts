import { join } from 'node:path';
import { describeChosen } from './chosen.ts';
import type { CommandSpec, HelperConfig, X509FileNames } from './types.ts';

const mode = (value: number): string => `0${value.toString(8).padStart(3, '0')}`;
const shell = (spec: CommandSpec): string =>
  [spec.command, ...spec.args].map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : JSON.stringify(w))).join(' ');

/** 90000 → "1m30s", 1500 → "1s500ms": the way durations are written in the config. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1]] as const) {
    if (rest >= size) parts.push(`${Math.floor(rest / size)}${unit}`);
    rest %= size;
  }
  return parts.join('');
}

function rotation(config: HelperConfig): string {
  switch (config.renewAction) {
    case 'signal': {
      const targets = [config.cmd === undefined ? undefined : 'the program', config.pidFileName === undefined ? undefined : `the pid in ${config.pidFileName}`];
      const to = targets.filter((target) => target !== undefined).join(' and ');
      return `send ${config.renewSignal}${to === '' ? ' (to no process: set cmd or pid_file_name)' : ` to ${to}`}`;
    }
    case 'restart':
      return 'restart the program';
    case 'command':
      return `run ${shell(config.renewCommand!)} (timeout ${formatDuration(config.renewCommandTimeoutMs)})`;
    case 'none':
      return 'nothing';
  }
}

function onExit(config: HelperConfig): string {
  switch (config.cmdExit) {
    case 'exit':
      return 'the helper exits with its code';
    case 'restart':
      return `restarted with backoff up to ${formatDuration(config.cmdRestartBackoffMaxMs)}`;
    case 'rerun':
      return 'started again at the next update, as the Go helper does';
  }
}

const FORMATS = { toml: 'TOML', hcl: "HCL (the Go helper's language)" } as const;

/** What the helper would do with this config, one fact a line, for a dry run. */
export function describeConfig(config: HelperConfig): string[] {
  const lines = [
    config.file === undefined ? 'config: no file (SPIFFE_HELPER_* environment variables only)' : `config: ${config.file}, read as ${FORMATS[config.format!]}`,
    `mode: ${config.daemonMode ? 'daemon' : `one-shot (deadline ${formatDuration(config.oneshotTimeoutMs)})`}`,
    `workload API: ${config.agentAddress ?? '$SPIFFE_ENDPOINT_SOCKET'}`,
    `cert_dir: ${config.certDir} (${config.fileLayout === 'files' ? `file_layout = "files": plain files, each replaced on its own by a rename` : 'files are symlinks into ..data, swapped atomically'})`,
    config.firstWriteWaitMs === 0
      ? 'first write: at start-up each output is written as it arrives (first_write_wait = 0)'
      : `first write: at start-up waits up to ${formatDuration(config.firstWriteWaitMs)} after the first output arrives for the others, so the first set is complete; then writes what has arrived`,
  ];
  const file = (name: string, fileMode: number, what: string): string => `  ${join(config.certDir, name)}  ${mode(fileMode)}  ${what}`;
  const x509Files = (files: X509FileNames): void => {
    if (files.pem !== undefined) {
      lines.push(file(files.pem.svidFileName, config.certFileMode, config.addIntermediatesToBundle ? 'leaf certificate' : 'leaf and intermediate certificates'));
      lines.push(file(files.pem.keyFileName, config.keyFileMode, 'PKCS#8 private key'));
      const extras = [config.addIntermediatesToBundle && 'intermediates', config.includeFederatedDomains && 'federated authorities'].filter(Boolean);
      lines.push(file(files.pem.bundleFileName, config.certFileMode, `trust bundle${extras.length > 0 ? ` + ${extras.join(' + ')}` : ''}`));
    }
    if (files.combinedPemFileName !== undefined) lines.push(file(files.combinedPemFileName, config.keyFileMode, 'PKCS#8 private key, leaf and intermediates in one PEM'));
    const password = config.pkcs12Password === undefined ? '' : `, password from ${config.pkcs12Password.source}`;
    if (files.pkcs12KeystoreFileName !== undefined) lines.push(file(files.pkcs12KeystoreFileName, config.keyFileMode, `PKCS#12 keystore: key and chain, alias = the SPIFFE ID${password}`));
    if (files.pkcs12TruststoreFileName !== undefined) lines.push(file(files.pkcs12TruststoreFileName, config.certFileMode, `PKCS#12 truststore: the trust bundle as trusted certificates${password}`));
  };
  const expired = config.omitExpired ? ', expired certificates left out' : '';
  const hint = config.hint === '' ? '' : ` (hint ${JSON.stringify(config.hint)})`;
  if (config.layout === 'filesystem_delivery') {
    lines.push(`X.509-SVID${hint}${expired}, as a SPIFFE Filesystem Delivery credential folder (draft, spiffe/spiffe PR #376 at 8ba8a87):`);
    lines.push(file('credential-bundle.pem', config.keyFileMode, 'PKCS#8 private key, then leaf and intermediates'));
    lines.push(file('<trust domain>.spiffe-trust-bundle.pem', config.certFileMode, 'one per trust domain, own and federated; removed when a domain goes'));
  }
  for (const output of config.layout === 'filesystem_delivery' ? [] : config.x509Outputs) {
    const which = output.entry === undefined ? hint : ` ${'hint' in output.select ? `with hint ${JSON.stringify(output.select.hint)}` : output.select.spiffeId}`;
    lines.push(`X.509-SVID${which}${expired}:`);
    x509Files(output);
  }
  if (config.federatedBundleFileName !== undefined) lines.push(file(config.federatedBundleFileName, config.certFileMode, 'one file per federated trust domain'));
  for (const jwt of config.jwtSvids) {
    const audiences = [jwt.audience, ...jwt.extraAudiences].join(', ');
    const token = 'token, renewed at half its lifetime';
    lines.push(
      `JWT-SVID for ${audiences}${jwt.spiffeId === undefined ? '' : ` as ${jwt.spiffeId}`}:`,
      jwt.path === undefined ? file(jwt.fileName, config.jwtSvidFileMode, token) : `  ${jwt.path}  ${mode(config.jwtSvidFileMode)}  ${token}; outside the cert_dir set: replaced on its own (temp file, fsync, rename)`,
    );
  }
  if (config.jwtBundle !== undefined) lines.push('JWT bundles:', file(config.jwtBundle.fileName, config.jwtBundleFileMode, 'JSON {trust domain: base64 JWKS}'));
  if (!config.daemonMode) {
    lines.push(config.cmd === undefined ? 'program: none' : `program: ${shell(config.cmd)} (not started in one-shot mode)`);
    lines.push('health: off in one-shot mode');
  } else {
    if (config.cmd === undefined) lines.push('program: none');
    else {
      lines.push(`program: ${shell(config.cmd)}`);
      lines.push(`  started after the first complete write; on its exit: ${onExit(config)}`);
      lines.push(`  stopped with ${config.stopSignal}, SIGKILL after ${formatDuration(config.killTimeoutMs)}`);
    }
    const rerun = config.cmdExit === 'rerun' ? '; the program is started again if it has exited' : '';
    const splay = config.renewSplayMs > 0 ? `, then a random wait of up to ${formatDuration(config.renewSplayMs)}` : '';
    lines.push(`on rotation: ${rotation(config)}${rerun}; updates within ${formatDuration(config.renewDebounceMs)} of the first count once${splay}`);
    const health = config.healthChecks;
    lines.push(
      health.listenerEnabled
        ? `health: http://${health.bindAddress.includes(':') ? `[${health.bindAddress}]` : health.bindAddress}:${health.bindPort}${health.livenessPath}, ${health.readinessPath} and /metrics (not ready within ${formatDuration(health.readyExpiryMarginMs)} of expiry or after ${formatDuration(health.agentLostThresholdMs)} without the agent)`
        : 'health: listener off',
    );
  }
  lines.push(`log: ${config.logLevel}, ${config.logFormat}`);
  if (config.sources.size > 0) {
    lines.push('settings (the others have their default):');
    for (const [key, source] of [...config.sources].sort(([a], [b]) => a.localeCompare(b))) lines.push(`  ${key}  from ${source}`);
  }
  for (const chosen of config.defaultsChosen) lines.push(`default: ${describeChosen(chosen)}`);
  for (const warning of config.warnings) lines.push(`warning: ${warning}`);
  return lines;
}
