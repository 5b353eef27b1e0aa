import { stat } from 'node:fs/promises';
import { dirname, parse } from 'node:path';
import { resolveEndpointAddress } from '../workload/endpoint.ts';
import type { HelperConfig } from './types.ts';

/** Checks a config against this machine; the command check is given by the caller (it knows PATH). */
export interface HostChecks {
  /** Throws (or rejects with) an Error saying why `command` cannot be run. */
  readonly command?: (command: string) => unknown;
  /** The environment the client reads SPIFFE_ENDPOINT_SOCKET from when agent_address is not set. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Why the directory `dir` can neither be used nor created, or undefined when it can. */
async function unusableDirectory(dir: string): Promise<string | undefined> {
  if (dir === parse(dir).root) return 'is the root directory: the helper replaces files and links in it, so give it a directory of its own';
  try {
    const info = await stat(dir);
    if (info.isDirectory()) return undefined;
    return info.isFile() ? 'is a regular file, not a directory' : 'is a device or special file, not a directory';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      // Created at start, with its missing parents: fine unless a parent is not a directory.
      const parent = dirname(dir);
      return parent === dir ? undefined : (await unusableDirectory(parent))?.replace(/^is/, `cannot be created: ${parent} is`);
    }
    if (code === 'ENOTDIR') return 'cannot be created: a part of its path is a file, not a directory';
    if (code === 'EACCES') return undefined; // reported, with the path, when the helper writes
    return (error as Error).message;
  }
}

/**
 * The checks that need the machine: cert_dir (and each JWT-SVID file's directory outside it) must
 * be a directory or creatable, cmd must be runnable (daemon mode only: one-shot never runs it), and
 * without agent_address, SPIFFE_ENDPOINT_SOCKET must hold a Workload API address.
 * `fail(key, problem)` throws the one-line error for a key.
 */
export async function checkHost(config: HelperConfig, checks: HostChecks, fail: (key: string, problem: string) => never): Promise<void> {
  const certDir = await unusableDirectory(config.certDir);
  if (certDir !== undefined) fail('cert_dir', `${config.certDir} ${certDir}`);
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
}
