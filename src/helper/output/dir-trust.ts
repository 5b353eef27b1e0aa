import { lstatSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';

// Who may change a directory's entries. One rule, used twice: the writer follows a symlink on the
// way to cert_dir only where no other user could have put it there (dir-handle.ts), and a root
// helper warns once at start when another user could swap what it writes (issue 15, row 7).
// It is OpenSSH's StrictModes rule, with the sticky bit's exception (/tmp): there, others may add
// entries but not rename or remove ours.

const STICKY = 0o1000;

/** Root and the helper's own user: whose directories and links the helper trusts. */
export const trustedOwner = (uid: number): boolean => uid === 0 || uid === process.geteuid?.();

/** Why another user could rename or replace entries of this directory, or undefined when none can. */
export function othersMayReplace(info: Stats): string | undefined {
  if (!trustedOwner(info.uid)) return `is owned by uid ${info.uid}`;
  if ((info.mode & 0o022) !== 0 && (info.mode & STICKY) === 0) {
    return `is writable by ${(info.mode & 0o002) !== 0 ? 'every user' : `group ${info.gid}`} without the sticky bit`;
  }
  return undefined;
}

/**
 * For a helper running as root: the first directory from `dir` (or, while it does not exist, its
 * nearest existing parent) up to `/` that another user could change, as one warning; undefined
 * when there is none, or when the helper is not root (a user's helper trusts its own files).
 */
export function directoryTrustWarning(dir: string): string | undefined {
  if (process.geteuid?.() !== 0) return undefined;
  for (let path = dir; ; path = dirname(path)) {
    const info = lstatSync(path, { throwIfNoEntry: false });
    const why = info?.isDirectory() === true ? othersMayReplace(info) : undefined;
    if (why !== undefined) {
      return `${path} ${why}: that user can replace the files the helper writes in ${dir} (it never follows their links, but consumers read what is there); write into a directory only root can change`;
    }
    if (path === dirname(path)) return undefined;
  }
}
