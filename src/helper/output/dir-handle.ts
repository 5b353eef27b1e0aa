import {
  closeSync, constants, existsSync, fchmodSync, fstatSync, fsync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, renameSync, rmdirSync, symlinkSync, unlinkSync, type Stats,
} from 'node:fs';
import { promisify } from 'node:util';
import { othersMayReplace, trustedOwner } from './dir-trust.ts';

// A directory held by descriptor. Another user who may write cert_dir (a 0777 emptyDir) or its
// parent can swap any entry for a symlink between two system calls that name it by path. Node has
// no openat(), but `/proc/self/fd/<fd>/<name>` is resolved by the kernel through the open directory,
// never by walking the path again: every step of a write names its entries that way, and the last
// component of each step is never followed (open with O_NOFOLLOW or O_EXCL, mkdir, symlink, rename,
// unlink, rmdir, lstat, readlink do not follow it). Modes are set and data flushed on descriptors.

const { O_RDONLY, O_WRONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_CREAT, O_EXCL } = constants;
const DIRECTORY = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
/** Linux's limit of symlinks in one path walk (ELOOP). */
const MAX_LINKS = 40;

const flushFd = promisify(fsync);
let procMounted: boolean | undefined;
const codeOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

export class DirHandle {
  /** The path as named, for messages only: nothing is resolved by it after the open. */
  readonly path: string;
  readonly #fd: number;
  /**
   * Directories below the descriptor's that the helper may pass through but not read (mode 0711),
   * so cannot open: named through it, each ending in "/". Safe only because the walk takes one
   * only where no one else can swap it for a link (#passThrough).
   */
  readonly #via: string;

  private constructor(path: string, fd: number, via = '') {
    this.path = path;
    this.#fd = fd;
    this.#via = via;
  }

  /**
   * Opens the absolute directory `path` one component at a time, each through the one before,
   * never following a symlink that another user could have planted or swapped in: a link is
   * followed only when root or the helper's user owns it and its directory lets no one else
   * replace it (dir-trust.ts); any other link is refused with a message naming it. With `create`,
   * missing components (only the last, unless `parents`) are made, checked to be the directory
   * just made (not one raced in by someone else), and given `mode`.
   */
  static open(path: string, create?: { readonly mode: number; readonly parents: boolean }): DirHandle {
    procMounted ??= existsSync('/proc/self/fd');
    if (!procMounted) throw new Error('/proc is not mounted: the helper names every file through /proc/self/fd, so that it never follows a link');
    const pending = path.split('/').filter((part) => part !== '');
    let at = new DirHandle('/', openSync('/', DIRECTORY));
    let links = 0;
    try {
      while (pending.length > 0) {
        const name = pending.shift()!;
        const next = at.#child(name, create !== undefined && (pending.length === 0 || create.parents) ? create.mode : undefined);
        if (typeof next === 'string') {
          if (++links > MAX_LINKS) throw new Error(`too many symbolic links on the way to ${path}`);
          pending.unshift(...next.split('/').filter((part) => part !== ''));
          if (next.startsWith('/')) {
            at.close();
            at = new DirHandle('/', openSync('/', DIRECTORY));
          }
          continue;
        }
        // A directory passed through shares its parent's descriptor.
        if (next.#fd !== at.#fd) at.close();
        at = next;
      }
      if (at.#via !== '') throw new Error(`${path} cannot be read by the helper's user`);
      return new DirHandle(path, at.#fd);
    } catch (error) {
      at.close();
      throw error;
    }
  }

  /** The entry `name` of this directory, as the kernel resolves it through the descriptor. */
  entry(name: string): string {
    return `/proc/self/fd/${this.#fd}/${this.#via}${name}`;
  }

  /** The entry's path, for messages. */
  #pathOf(name: string): string {
    return `${this.path === '/' ? '' : this.path}/${name}`;
  }

  /** A step of the walk: the subdirectory `name` opened, or the target of a link that may be followed. */
  #child(name: string, createMode: number | undefined): DirHandle | string {
    let opened: DirHandle | undefined;
    try {
      opened = this.openDir(name);
    } catch (error) {
      if (codeOf(error) === 'EACCES') return this.#passThrough(name);
      throw error;
    }
    if (opened !== undefined) return opened;
    const info = this.lstat(name);
    const where = this.#pathOf(name);
    if (info === undefined) {
      if (createMode === undefined) throw new Error(`${where} is missing`);
      try {
        return this.makeDir(name, createMode);
      } catch (error) {
        if (codeOf(error) !== 'EEXIST') throw error;
        // Made by someone else meanwhile: a link is judged as any other, a directory is used only
        // if root or the helper's user made it (another user's would be theirs to swap things in).
        const found = this.#child(name, undefined);
        if (typeof found === 'string') return found;
        const owner = found.#stat().uid;
        if (trustedOwner(owner)) return found;
        found.close();
        throw new Error(`${where} was made by uid ${owner} while the helper was making it: not used`);
      }
    }
    if (!info.isSymbolicLink()) throw new Error(`${where} is not a directory`);
    const replaceable = othersMayReplace(this.#stat());
    if (!trustedOwner(info.uid) || replaceable !== undefined) {
      const why = replaceable === undefined ? `owned by uid ${info.uid}` : `in ${this.path}, which ${replaceable}`;
      throw new Error(`${where} is a symbolic link ${why}: not followed (name the real directory)`);
    }
    return readlinkSync(this.entry(name));
  }

  /**
   * The subdirectory `name` that cannot be opened (EACCES, so it is no link), to be named through
   * this directory: only where no one else can swap it for a link meanwhile.
   */
  #passThrough(name: string): DirHandle {
    const replaceable = othersMayReplace(this.#stat());
    if (replaceable !== undefined) throw new Error(`${this.#pathOf(name)} cannot be read, and ${this.path} ${replaceable}: not walked through`);
    return new DirHandle(this.#pathOf(name), this.#fd, `${this.#via}${name}/`);
  }

  #stat(): Stats {
    return this.#via === '' ? fstatSync(this.#fd) : lstatSync(this.entry('.'));
  }

  /** The existing subdirectory `name`, opened; undefined when it is missing, a link or not a directory. */
  openDir(name: string): DirHandle | undefined {
    try {
      return new DirHandle(this.#pathOf(name), openSync(this.entry(name), DIRECTORY));
    } catch (error) {
      if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes(codeOf(error) ?? '')) return undefined;
      throw error;
    }
  }

  /**
   * Makes the subdirectory `name` and opens it, checking that what is open is the directory just
   * made and owned by the helper, so nothing swapped in between is ever written to or chmod-ed;
   * its mode is set on the descriptor, whatever the umask.
   */
  makeDir(name: string, mode: number): DirHandle {
    mkdirSync(this.entry(name), { mode });
    const made = lstatSync(this.entry(name));
    const dir = this.openDir(name);
    const held = dir === undefined ? undefined : dir.#stat();
    if (held === undefined || held.dev !== made.dev || held.ino !== made.ino || held.uid !== process.geteuid?.()) {
      dir?.close();
      throw new Error(`${this.#pathOf(name)} was replaced by someone else while it was being made`);
    }
    fchmodSync(dir!.#fd, mode);
    return dir!;
  }

  /** Creates the file `name` (never through anything already there) with `mode`, open for writing. */
  createFile(name: string, mode: number): number {
    const fd = openSync(this.entry(name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
    try {
      fchmodSync(fd, mode);
      return fd;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /**
   * The regular file `name` (not a link, FIFO or device) of root or the helper's user, with its mode;
   * undefined otherwise. Another user's file is never taken for the helper's: a write would carry it
   * (content and mode, set-uid bits included) into a file of the helper's own, and it could be as big
   * as that user likes; it is checked on the descriptor before a byte is read.
   */
  readFile(name: string): { readonly content: Buffer; readonly mode: number } | undefined {
    let fd: number;
    try {
      fd = openSync(this.entry(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch {
      return undefined;
    }
    try {
      const info = fstatSync(fd);
      return info.isFile() && trustedOwner(info.uid) ? { content: readFileSync(fd), mode: info.mode & 0o7777 } : undefined;
    } finally {
      closeSync(fd);
    }
  }

  lstat(name: string): Stats | undefined {
    return lstatSync(this.entry(name), { throwIfNoEntry: false });
  }

  /** The target of the symlink `name`; undefined when it is missing or not a link. */
  readlink(name: string): string | undefined {
    try {
      return readlinkSync(this.entry(name));
    } catch {
      return undefined;
    }
  }

  list(): string[] {
    return readdirSync(this.entry('.'));
  }

  symlink(target: string, name: string): void {
    symlinkSync(target, this.entry(name));
  }

  rename(from: string, to: string): void {
    renameSync(this.entry(from), this.entry(to));
  }

  /**
   * Removes the entry `name`, a directory with everything in it: a link is unlinked, never
   * followed, and each directory is emptied through its own descriptor.
   */
  remove(name: string): void {
    const dir = this.lstat(name)?.isDirectory() === true ? this.openDir(name) : undefined;
    if (dir !== undefined) {
      try {
        for (const entry of dir.list()) dir.remove(entry);
      } finally {
        dir.close();
      }
    }
    try {
      if (dir === undefined) unlinkSync(this.entry(name));
      else rmdirSync(this.entry(name));
    } catch (error) {
      // Swapped for a link between the two steps: the link goes.
      if (codeOf(error) === 'ENOTDIR') unlinkSync(this.entry(name));
      else if (codeOf(error) !== 'ENOENT') throw error;
    }
  }

  /** Flushes the directory: a rename in it is durable only once it is. */
  fsync(): Promise<void> {
    return flushFd(this.#fd);
  }

  close(): void {
    closeSync(this.#fd);
  }
}
