import { dirname } from 'node:path';
import { databaseDataDirectory } from './data-dir.ts';
import { resolveEndpointAddress } from '../../spiffe/workload/endpoint.ts';
import type { HelperConfig } from './types.ts';

/** Checks a config against this machine, given by the caller: the command check (it knows PATH) and the writer's directory rules (config does not import the writer). */
export interface HostChecks {
  /** Throws (or rejects with) an Error saying why `command` cannot be run. */
  readonly command?: (command: string) => unknown;
  /**
   * src/helper/output's rules for a directory it writes in (checkOutputDirectory): why it can never be
   * used or made there (`problem`, one line naming it), and why another user could change what it
   * writes there (`warning`).
   */
  readonly directory?: (dir: string) => Promise<{ readonly problem: string | undefined; readonly warning: string | undefined }>;
  /** The environment the client reads SPIFFE_ENDPOINT_SOCKET from when agent_address is not set. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * A cert_dir that holds a database's data directory gets plain files, unless file_layout says
 * otherwise, where the config is warned: the layout that fits the directory, and why.
 */
async function fileLayoutFor(config: HelperConfig): Promise<Pick<HelperConfig, 'fileLayout' | 'defaultsChosen' | 'warnings'>> {
  const found = await databaseDataDirectory(config.certDir);
  const unchanged = { fileLayout: config.fileLayout, defaultsChosen: config.defaultsChosen, warnings: config.warnings };
  if (found === undefined) return unchanged;
  const holds = `${config.certDir} holds a MySQL/MariaDB data directory (${found})`;
  if (!config.sources.has('file_layout')) {
    const chosen = { key: 'file_layout', value: '"files"', why: `${holds}, where every directory is taken for a database; plain files only, each replaced on its own` };
    return { ...unchanged, fileLayout: 'files', defaultsChosen: [...config.defaultsChosen, chosen] };
  }
  if (config.fileLayout === 'files') return unchanged;
  return { ...unchanged, warnings: [...config.warnings, `${holds}: the server takes ..data and each generation directory for a database (mariadb-dump --all-databases fails); file_layout = "files" writes plain files only`] };
}

/**
 * The checks that need the machine: cert_dir and each JWT-SVID file's directory outside it, by the
 * writer's rules (`checks.directory`); cmd must be runnable (daemon mode only: one-shot never runs
 * it); and without agent_address, SPIFFE_ENDPOINT_SOCKET must hold a Workload API address.
 * `fail(key, problem)` throws the one-line error for a key. Returns the config with what the
 * machine decides: the file layout for a database's data directory, and warnings about the
 * directories.
 */
export async function checkHost(config: HelperConfig, checks: HostChecks, fail: (key: string, problem: string) => never): Promise<HelperConfig> {
  const directories: Array<readonly [key: string, dir: string]> = [['cert_dir', config.certDir]];
  for (const [index, jwt] of config.jwtSvids.entries()) {
    if (jwt.path !== undefined) directories.push([`jwt_svids[${index}].jwt_svid_file_name`, dirname(jwt.path)]);
  }
  const warnings: string[] = [];
  for (const [key, dir] of checks.directory === undefined ? [] : directories) {
    const { problem, warning } = await checks.directory!(dir);
    if (problem !== undefined) fail(key, problem);
    if (warning !== undefined && !warnings.includes(warning)) warnings.push(warning);
  }
  if (config.agentAddress === undefined && checks.env !== undefined) {
    try {
      resolveEndpointAddress(undefined, checks.env);
    } catch (error) {
      fail('agent_address', (error as Error).message);
    }
  }
  if (config.daemonMode && config.cmd !== undefined && checks.command !== undefined) {
    try {
      await checks.command(config.cmd.command);
    } catch (error) {
      fail('cmd', (error as Error).message);
    }
  }
  const layout = await fileLayoutFor(config);
  return { ...config, ...layout, warnings: [...layout.warnings, ...warnings] };
}
