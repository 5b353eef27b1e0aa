import { join } from 'node:path';
import { DirHandle } from './dir-handle.ts';
import { DIR_MODE, OutputError, checkNames, sameFiles, type FileWriter, type OutputFile, type WriteOptions } from './files.ts';
import { generations } from './generations.ts';
import type { DiskLayout, FileLayout } from './layout.ts';
import { perFile } from './per-file.ts';

const LAYOUTS: Record<FileLayout, DiskLayout> = { generations, files: perFile };

/**
 * Keeps a set of files in one directory: writes are serialised, unchanged sets are not written
 * again, and the set last written can be checked and restored. How the set lies on disk is its
 * layout's (layout.ts); every step goes through the directory held by its descriptor, so no link
 * planted or swapped in by another user is ever followed (dir-handle.ts).
 */
export class FileSetWriter implements FileWriter {
  readonly dir: string;
  readonly #layout: DiskLayout;
  #queue: Promise<unknown> = Promise.resolve();
  /** The set last written or found unchanged, as verify() and restore() expect it on disk. */
  #last: readonly OutputFile[] | undefined;

  constructor(dir: string, options: { layout?: FileLayout } = {}) {
    this.dir = dir;
    this.#layout = LAYOUTS[options.layout ?? 'generations'];
  }

  /** The paths whose inotify watches see any change to the set on disk, as its layout lies. */
  get watchedPaths(): readonly string[] {
    return this.#layout.watched.map((name) => join(this.dir, name));
  }

  write(files: readonly OutputFile[], options: WriteOptions = {}): Promise<{ changed: boolean }> {
    return this.#enqueue(() => this.#write(files, options.carry ?? [], true));
  }

  verify(): Promise<string | undefined> {
    return this.#enqueue(async () => {
      const last = this.#last;
      if (last === undefined) return undefined;
      let dir: DirHandle;
      try {
        dir = DirHandle.open(this.dir);
      } catch (error) {
        return (error as Error).message;
      }
      try {
        return this.#layout.difference(dir, last);
      } finally {
        dir.close();
      }
    });
  }

  /**
   * Writes the set last written again, e.g. after someone removed the directory. The directory is
   * made again only where its parent still exists: when a whole tree is gone (an unmounted volume),
   * keys must not be written to whatever lies beneath.
   */
  restore(): Promise<{ changed: boolean }> {
    return this.#enqueue(async () => (this.#last === undefined ? { changed: false } : this.#write(this.#last, [], false)));
  }

  /** The files the visible set holds now, or undefined when there is none. */
  current(): Promise<ReadonlyMap<string, Buffer> | undefined> {
    return this.#enqueue(async () => {
      const dir = this.#open(false);
      try {
        const files = this.#layout.read(dir, 'all');
        return files.length === 0 ? undefined : new Map(files.map((file) => [file.name, Buffer.from(file.content)]));
      } finally {
        dir.close();
      }
    });
  }

  #enqueue<T>(action: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(action);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #open(makeParents: boolean): DirHandle {
    try {
      return DirHandle.open(this.dir, { mode: DIR_MODE, parents: makeParents });
    } catch (error) {
      throw new OutputError(`cannot open the output directory ${this.dir}: ${(error as Error).message}`);
    }
  }

  async #write(written: readonly OutputFile[], carry: readonly string[] | 'all', makeParents: boolean): Promise<{ changed: boolean }> {
    checkNames(written);
    const dir = this.#open(makeParents);
    try {
      const present = new Set(written.map((file) => file.name));
      const names = carry === 'all' ? carry : carry.filter((name) => !present.has(name));
      const carried = names.length === 0 ? [] : this.#layout.read(dir, names).filter((file) => !present.has(file.name));
      const files = [...written, ...carried];
      checkNames(files);
      // A set other than the one last written is not on disk (short of someone else writing exactly
      // it, where writing it again is harmless): only the same set is compared with the disk.
      if ((this.#last === undefined || sameFiles(this.#last, files)) && this.#layout.difference(dir, files) === undefined) {
        this.#last = files;
        return { changed: false };
      }
      await this.#layout.replace(dir, files, this.#last);
      this.#last = files;
      return { changed: true };
    } finally {
      dir.close();
    }
  }
}
