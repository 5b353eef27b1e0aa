import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, parse } from 'node:path';
import { databaseDataDirectory } from './data-dir.ts';
import { resolveEndpointAddress } from '../../spiffe/workload/endpoint.ts';
import type { HelperConfig } from './types.ts';

/** Checks a config against this machine; the command check is given by the caller (it knows PATH). */
export interface HostChecks {
  /** Throws (or rejects with) an Error saying why `command` cannot be run. */
  readonly command?: (command: string) => unknown;
  /**
   * src/helper/output's rules for cert_dir: why its writer could never open it (`problem`: a link it will
   * not follow), and why another user could change what it writes there (`warning`).
   */
  readonly directory?: (dir: string) => { readonly problem: string | undefined; readonly warning: string | undefined };
  /** The environment the client reads SPIFFE_ENDPOINT_SOCKET from when agent_address is not set. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Why the directory `dir` can neither be used nor created, or undefined when it can. */
async function unusableDirectory(dir: string): Promise<string | undefined> {
  if (dir === parse(dir).root) return 'is the root directory: the helper replaces files and links in it, so give it a directory of its own';
  return unwritableDirectory(dir);
}

/** The user a check runs as, for messages: the check is this process's own, not the file owner's. */
const asUser = (): string => `uid ${process.getuid?.() ?? '?'}`;

/**
 * Why this process can neither write in `dir` nor create it with its missing parents; undefined
 * when it can. Checked as the user running it (access(2) with the real uid), so `-check` run as
 * the service's user answers for that user.
 */
async function unwritableDirectory(dir: string): Promise<string | undefined> {
  let info;
  try {
    info = await stat(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      // Created at start, with its missing parents: fine when the nearest existing one is writable.
      const parent = dirname(dir);
      return parent === dir ? undefined : (await unwritableDirectory(parent))?.replace(/^is/, `cannot be created: ${parent} is`);
    }
    if (code === 'ENOTDIR') return 'cannot be created: a part of its path is a file, not a directory';
    if (code === 'EACCES') return `cannot be reached: permission denied on a directory of its path (${asUser()})`;
    return (error as Error).message;
  }
  if (!info.isDirectory()) return info.isFile() ? 'is a regular file, not a directory' : 'is a device or special file, not a directory';
  try {
    await access(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EROFS' ? 'is on a read-only file system' : `is not writable by this user (${asUser()})`;
  }
}

/**
 * A cert_dir that holds a database's data directory gets plain files, unless file_layout says
 * otherwise, where the config is warned: the layout that fits the directory, and why.
 */
async function fileLayoutFor(config: HelperConfig): Promise<Pick<HelperConfig, 'fileLayout' | 'fileLayoutChoice' | 'warnings'>> {
  const found = await databaseDataDirectory(config.certDir);
  const unchanged = { fileLayout: config.fileLayout, fileLayoutChoice: undefined, warnings: config.warnings };
  if (found === undefined) return unchanged;
  const holds = `${config.certDir} holds a MySQL/MariaDB data directory (${found})`;
  if (!config.sources.has('file_layout')) return { ...unchanged, fileLayout: 'files', fileLayoutChoice: `chosen because ${holds}, where every directory is taken for a database` };
  if (config.fileLayout === 'files') return unchanged;
  return { ...unchanged, warnings: [...config.warnings, `${holds}: the server takes ..data and each generation directory for a database (mariadb-dump --all-databases fails); file_layout = "files" writes plain files only`] };
}

/**
 * The checks that need the machine: cert_dir (and each JWT-SVID file's directory outside it) must
 * be a directory or creatable, cmd must be runnable (daemon mode only: one-shot never runs it), and
 * without agent_address, SPIFFE_ENDPOINT_SOCKET must hold a Workload API address.
 * `fail(key, problem)` throws the one-line error for a key. Returns the config with what the
 * machine decides: the file layout for a database's data directory, and warnings about cert_dir.
 */
export async function checkHost(config: HelperConfig, checks: HostChecks, fail: (key: string, problem: string) => never): Promise<HelperConfig> {
  const certDir = await unusableDirectory(config.certDir);
  if (certDir !== undefined) fail('cert_dir', `${config.certDir} ${certDir}`);
  const output = checks.directory?.(config.certDir);
  if (output?.problem !== undefined) fail('cert_dir', output.problem);
  for (const [index, jwt] of config.jwtSvids.entries()) {
    if (jwt.path === undefined) continue;
    const why = await unusableDirectory(dirname(jwt.path));
    if (why !== undefined) fail(`jwt_svids[${index}].jwt_svid_file_name`, `${dirname(jwt.path)} ${why}`);
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
  return { ...config, ...layout, warnings: output?.warning === undefined ? layout.warnings : [...layout.warnings, output.warning] };
}
