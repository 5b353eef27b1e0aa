import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, parse } from 'node:path';
import type { HelperConfig } from './types.ts';

/** Checks a config against this machine; the command check is given by the caller (it knows PATH). */
export interface HostChecks {
  /** Throws (or rejects with) an Error saying why `command` cannot be run. */
  readonly command?: (command: string) => unknown;
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
 * The checks that need the machine: cert_dir (and each JWT-SVID file's directory outside it) must
 * be a directory or creatable, and cmd must be runnable (daemon mode only: one-shot never runs it).
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
  if (config.daemonMode && config.cmd !== undefined && checks.command !== undefined) {
    try {
      await checks.command(config.cmd.command);
    } catch (error) {
      fail('cmd', (error as Error).message);
    }
  }
}
