import { join } from 'node:path';
import type { HelperConfig } from './types.ts';

const mode = (value: number): string => `0${value.toString(8).padStart(3, '0')}`;
const seconds = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
const shell = (words: readonly string[]): string => words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : JSON.stringify(w))).join(' ');

/** What the helper would do with this config, one fact a line, for `-check`. */
export function describeConfig(config: HelperConfig): string[] {
  const lines = [
    `config: ${config.file}`,
    `mode: ${config.daemonMode ? 'daemon' : `one-shot (deadline ${seconds(config.oneshotTimeoutMs)})`}`,
    `workload API: ${config.agentAddress ?? '$SPIFFE_ENDPOINT_SOCKET'}`,
    `cert_dir: ${config.certDir} (files are symlinks into ..data, swapped atomically)`,
  ];
  const file = (name: string, fileMode: number, what: string): string => `  ${join(config.certDir, name)}  ${mode(fileMode)}  ${what}`;
  if (config.x509 !== undefined) {
    lines.push(`X.509-SVID${config.hint === '' ? '' : ` (hint ${JSON.stringify(config.hint)})`}:`);
    lines.push(file(config.x509.svidFileName, config.certFileMode, config.addIntermediatesToBundle ? 'leaf certificate' : 'leaf and intermediate certificates'));
    lines.push(file(config.x509.keyFileName, config.keyFileMode, 'PKCS#8 private key'));
    const extras = [config.addIntermediatesToBundle && 'intermediates', config.includeFederatedDomains && 'federated authorities'].filter(Boolean);
    lines.push(file(config.x509.bundleFileName, config.certFileMode, `trust bundle${extras.length > 0 ? ` + ${extras.join(' + ')}` : ''}`));
    if (config.federatedBundleFileName !== undefined) lines.push(file(config.federatedBundleFileName, config.certFileMode, 'one file per federated trust domain'));
  }
  for (const jwt of config.jwtSvids) {
    const audiences = [jwt.audience, ...jwt.extraAudiences].join(', ');
    lines.push(`JWT-SVID for ${audiences}${jwt.spiffeId === undefined ? '' : ` as ${jwt.spiffeId}`}:`, file(jwt.fileName, config.jwtSvidFileMode, 'token, renewed at half its lifetime'));
  }
  if (config.jwtBundle !== undefined) lines.push('JWT bundles:', file(config.jwtBundle.fileName, config.jwtBundleFileMode, 'JSON {trust domain: base64 JWKS}'));
  if (config.cmd === undefined) lines.push('program: none');
  else {
    lines.push(`program: ${shell([config.cmd.command, ...config.cmd.args])}`);
    lines.push(`  started after the first complete write; on its exit: ${config.cmdExit === 'exit' ? 'the helper exits with its code' : 'restarted with backoff'}`);
    lines.push(`  stopped with ${config.stopSignal}, SIGKILL after ${seconds(config.killTimeoutMs)}`);
  }
  const action =
    config.renewAction === 'signal'
      ? `send ${config.renewSignal}${config.cmd === undefined ? '' : ' to the program'}${config.pidFileName === undefined ? '' : ` and to the pid in ${config.pidFileName}`}`
      : config.renewAction === 'restart'
        ? 'restart the program'
        : config.renewAction === 'command'
          ? `run ${shell([config.renewCommand!.command, ...config.renewCommand!.args])} (timeout ${seconds(config.renewCommandTimeoutMs)})`
          : 'nothing';
  lines.push(`on rotation: ${action}; bursts within ${seconds(config.renewDebounceMs)} count once`);
  const health = config.healthChecks;
  lines.push(
    health.listenerEnabled && config.daemonMode
      ? `health: http://${health.bindAddress}:${health.bindPort}${health.livenessPath} and ${health.readinessPath} (not ready within ${seconds(health.readyExpiryMarginMs)} of expiry or after ${seconds(health.agentLostThresholdMs)} without the agent)`
      : 'health: listener off',
  );
  lines.push(`log: ${config.logLevel}, ${config.logFormat}`);
  return lines;
}
