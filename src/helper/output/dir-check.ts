import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, parse } from 'node:path';
import { DirHandle } from './dir-handle.ts';
import { directoryTrustWarning } from './dir-trust.ts';

/** What the host checks learn about an output directory: why it cannot be used (one line), and a warning. */
export interface OutputDirectoryCheck {
  readonly problem: string | undefined;
  readonly warning: string | undefined;
}

/**
 * What the host checks learn about an output directory (cert_dir, a JWT-SVID file's directory)
 * before anything starts, by the writer's own rules: why it can never be used (the root, not a
 * directory, not writable or creatable by this user, a link on the way the writer will not follow),
 * and the warning a root helper gives when another user can change it. A directory still missing
 * is no problem when it can be made: the writer makes it.
 */
export async function checkOutputDirectory(dir: string): Promise<OutputDirectoryCheck> {
  const unusable = await unusableDirectory(dir);
  if (unusable !== undefined) return { problem: `${dir} ${unusable}`, warning: undefined };
  let problem: string | undefined;
  try {
    DirHandle.open(dir).close();
  } catch (error) {
    const message = (error as Error).message;
    problem = message.endsWith(' is missing') ? undefined : message;
  }
  return { problem, warning: directoryTrustWarning(dir) };
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
