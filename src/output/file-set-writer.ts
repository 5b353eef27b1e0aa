import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { lstat, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncPath, writeNewFiles } from './durable.ts';
import { fileNameProblem } from './file-name.ts';

export interface OutputFile {
  /** A plain file name inside the directory. */
  readonly name: string;
  readonly content: string | Uint8Array;
  /** Applied on every write, whatever the umask. */
  readonly mode: number;
}

export class OutputError extends Error {
  override name = 'OutputError';
}

/** The one symlink whose rename swaps the whole set, as Kubernetes' AtomicWriter names it. */
const DATA = '..data';
const DATA_TMP = '..data_tmp';
const GENERATION = /^\.\.\d{8}T\d{9}Z\.[0-9a-f]{8}$/;
/**
 * A visible link is made under a temporary name, then renamed over the visible one. The temporary
 * name is short and fixed in length, so any name that fits in the directory can be linked, and it
 * starts with ".." so it is never taken for a visible name.
 */
const LINK_TMP = /^\.\.link\.[0-9a-f]{8}$/;

export interface WriteOptions {
  /**
   * Names the set keeps when `files` has no new content for them: their content and mode are copied
   * from the set on disk (if it holds them), so a partial update never removes a configured file.
   * `'all'`: every file of the set on disk, for a writer that does not yet know all the names it
   * will write.
   */
  readonly carry?: readonly string[] | 'all';
}

function generationName(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
  return `..${stamp}.${randomBytes(4).toString('hex')}`;
}

function checkNames(files: readonly OutputFile[]): void {
  const seen = new Set<string>();
  for (const { name } of files) {
    const problem = fileNameProblem(name);
    if (problem !== undefined) throw new OutputError(problem);
    if (seen.has(name)) throw new OutputError(`${JSON.stringify(name)} appears twice in one file set`);
    seen.add(name);
  }
}

/** The result of a read that may fail (a name missing, or not a symlink), or undefined. */
function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** Same names, modes and content, in the same order. */
function sameFiles(a: readonly OutputFile[], b: readonly OutputFile[]): boolean {
  return a.length === b.length && a.every((file, index) => {
    const other = b[index]!;
    return file.name === other.name && file.mode === other.mode && Buffer.from(file.content).equals(Buffer.from(other.content));
  });
}


/**
 * Writes a set of files into one directory so that, at every instant, the visible files form one
 * consistent set. Each set is a fresh hidden generation directory; the visible names are symlinks
 * through `..data`, and one rename of `..data` switches every file at once (Kubernetes'
 * AtomicWriter layout, which Envoy's watched_directory and kubelet consumers already understand).
 */
export class FileSetWriter {
  readonly dir: string;
  readonly #dirMode: number;
  #queue: Promise<unknown> = Promise.resolve();
  /** The set last written or found unchanged, as verify() and restore() expect it on disk. */
  #last: readonly OutputFile[] | undefined;

  constructor(dir: string, options: { dirMode?: number } = {}) {
    this.dir = dir;
    this.#dirMode = options.dirMode ?? 0o755;
  }

  /** Writes the set unless the directory already holds exactly it; writes are serialised. */
  write(files: readonly OutputFile[], options: WriteOptions = {}): Promise<{ changed: boolean }> {
    return this.#enqueue(async () => this.#write(await this.#withCarried(files, options.carry ?? [])));
  }

  /**
   * Why the directory no longer holds the set last written (a file missing, replaced or altered), or
   * undefined when it does or nothing was written yet.
   */
  verify(): Promise<string | undefined> {
    return this.#enqueue(async () => {
      if (this.#last === undefined) return undefined;
      return this.#difference(this.#currentGeneration(), this.#last);
    });
  }

  /**
   * Writes the set last written again, e.g. after someone removed the directory. The directory is
   * made again only where its parent still exists: when a whole tree is gone (an unmounted volume),
   * keys must not be written to whatever lies beneath.
   */
  restore(): Promise<{ changed: boolean }> {
    return this.#enqueue(async () => (this.#last === undefined ? { changed: false } : this.#write(this.#last, false)));
  }

  #enqueue<T>(action: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(action);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #withCarried(files: readonly OutputFile[], carry: readonly string[] | 'all'): Promise<OutputFile[]> {
    const present = new Set(files.map((file) => file.name));
    const generation = carry !== 'all' && carry.length === 0 ? undefined : this.#currentGeneration();
    const carried: OutputFile[] = [];
    if (generation !== undefined) {
      const names = carry === 'all' ? await readdir(join(this.dir, generation)).catch(() => []) : carry;
      const missing = names.filter((name) => !present.has(name));
      for (const name of missing) {
        const path = join(this.dir, generation, name);
        const info = await lstat(path).catch(() => undefined);
        if (info?.isFile() === true) carried.push({ name, content: await readFile(path), mode: info.mode & 0o7777 });
      }
    }
    return [...files, ...carried];
  }

  /** The files the visible set holds now, or undefined when there is none. */
  async current(): Promise<ReadonlyMap<string, Buffer> | undefined> {
    const generation = this.#currentGeneration();
    if (generation === undefined) return undefined;
    const files = new Map<string, Buffer>();
    for (const name of await readdir(join(this.dir, generation))) files.set(name, await readFile(join(this.dir, generation, name)));
    return files;
  }

  /** The generation `..data` points at, if it is one of ours; a planted link is never followed. */
  #currentGeneration(): string | undefined {
    const target = attempt(() => readlinkSync(join(this.dir, DATA)));
    if (target === undefined || !GENERATION.test(target)) return undefined;
    return lstatSync(join(this.dir, target), { throwIfNoEntry: false })?.isDirectory() === true ? target : undefined;
  }

  /** The first way the visible set differs from `files`, or undefined when it holds exactly them. */
  // Synchronous, as a write's steps are (see durable.ts): the session runs this check every second.
  #difference(generation: string | undefined, files: readonly OutputFile[]): string | undefined {
    if (generation === undefined) return `${join(this.dir, DATA)} is missing`;
    const present = attempt(() => readdirSync(join(this.dir, generation)));
    if (present === undefined) return `${join(this.dir, generation)} is missing`;
    for (const file of files) {
      const path = join(this.dir, generation, file.name);
      const info = attempt(() => lstatSync(path));
      if (info === undefined || !info.isFile()) return `${join(this.dir, file.name)} is missing`;
      if ((info.mode & 0o7777) !== file.mode) return `${join(this.dir, file.name)} has mode ${(info.mode & 0o7777).toString(8)}`;
      if (!readFileSync(path).equals(Buffer.from(file.content))) return `${join(this.dir, file.name)} was altered`;
      if (attempt(() => readlinkSync(join(this.dir, file.name))) !== `${DATA}/${file.name}`) return `${join(this.dir, file.name)} is missing`;
    }
    if (present.length !== files.length) return `${join(this.dir, generation)} holds other files`;
    return undefined;
  }

  // The steps of a write are synchronous system calls, except the flushes and the removal of old
  // generations: see durable.ts for why.
  async #write(files: readonly OutputFile[], makeParents = true): Promise<{ changed: boolean }> {
    checkNames(files);
    this.#ensureDir(makeParents);
    const previous = this.#currentGeneration();
    // A set other than the one last written is not on disk (short of someone else writing exactly
    // it, where writing it again is harmless): only the same set is compared with the disk.
    if (this.#last === undefined || sameFiles(this.#last, files)) {
      if (this.#difference(previous, files) === undefined) {
        this.#last = files;
        return { changed: false };
      }
    }

    const unlinked = files.filter((file) => attempt(() => readlinkSync(join(this.dir, file.name))) !== `${DATA}/${file.name}`);
    for (const file of unlinked) {
      if (lstatSync(join(this.dir, file.name), { throwIfNoEntry: false })?.isDirectory() === true) {
        throw new OutputError(`${join(this.dir, file.name)} is a directory, not a file the helper can replace`);
      }
    }
    const generation = generationName();
    const generationPath = join(this.dir, generation);
    try {
      mkdirSync(generationPath, { mode: 0o755 });
      chmodSync(generationPath, 0o755);
      await writeNewFiles(files.map((file) => ({ ...file, path: join(generationPath, file.name) })), generationPath);
    } catch (error) {
      await rm(generationPath, { recursive: true, force: true });
      throw error instanceof OutputError ? error : new OutputError(`writing ${generationPath}: ${(error as Error).message}`);
    }

    // Every visible link is made before the swap, so a name that cannot be linked fails the write
    // while the previous set is still whole.
    const links = new Map<string, string>();
    try {
      for (const file of unlinked) {
        const temporary = join(this.dir, `..link.${randomBytes(4).toString('hex')}`);
        symlinkSync(`${DATA}/${file.name}`, temporary);
        links.set(file.name, temporary);
      }
    } catch (error) {
      await Promise.all([...links.values(), generationPath].map((path) => rm(path, { recursive: true, force: true })));
      throw new OutputError(`${this.dir}: cannot link the visible names: ${(error as Error).message}`);
    }

    this.#step('switch to the new file set', () => {
      const dataTmp = join(this.dir, DATA_TMP);
      // Left only by a helper killed mid-swap: removed when it is in the way, not looked for first.
      try {
        symlinkSync(generation, dataTmp);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        rmSync(dataTmp, { recursive: true, force: true });
        symlinkSync(generation, dataTmp);
      }
      const data = join(this.dir, DATA);
      // A real directory planted at ..data cannot be renamed over; it is ours to own, so it goes.
      // With a generation found, ..data is our symlink.
      const planted = previous === undefined ? lstatSync(data, { throwIfNoEntry: false }) : undefined;
      if (planted !== undefined && !planted.isSymbolicLink()) rmSync(data, { recursive: true, force: true });
      renameSync(dataTmp, data);
    });
    this.#step('link the visible names', () => {
      for (const [name, temporary] of links) renameSync(temporary, join(this.dir, name));
    });
    const entries = readdirSync(this.dir);
    this.#step('remove names no longer written', () => this.#unlinkRemoved(entries, new Set(files.map((file) => file.name))));
    // The swap is flushed while the generations no longer needed go: their removal need not last.
    await Promise.all([fsyncPath(this.dir), this.#removeLeftovers(entries, generation, previous)]);
    this.#last = files;
    return { changed: true };
  }

  #step(what: string, action: () => void): void {
    try {
      action();
    } catch (error) {
      throw new OutputError(`${this.dir}: cannot ${what}: ${(error as Error).message}`);
    }
  }

  #ensureDir(makeParents: boolean): void {
    try {
      const info = statSync(this.dir, { throwIfNoEntry: false });
      if (info === undefined) {
        mkdirSync(this.dir, { recursive: makeParents, mode: this.#dirMode });
        chmodSync(this.dir, this.#dirMode);
      } else if (!info.isDirectory()) {
        throw new Error('exists and is not a directory');
      }
    } catch (error) {
      throw new OutputError(`cannot create the output directory ${this.dir}: ${(error as Error).message}`);
    }
  }

  #unlinkRemoved(entries: readonly string[], keep: ReadonlySet<string>): void {
    for (const entry of entries) {
      if (keep.has(entry) || entry.startsWith('..')) continue;
      if (attempt(() => readlinkSync(join(this.dir, entry))) === `${DATA}/${entry}`) rmSync(join(this.dir, entry), { force: true });
    }
  }

  /**
   * Keeps the previous generation until the next swap, so a reader that just resolved it can finish;
   * older generations and temporary links (left by a helper killed mid-write) go.
   */
  async #removeLeftovers(entries: readonly string[], current: string, previous: string | undefined): Promise<void> {
    for (const entry of entries) {
      if ((GENERATION.test(entry) && entry !== current && entry !== previous) || LINK_TMP.test(entry)) {
        await rm(join(this.dir, entry), { recursive: true, force: true });
      }
    }
  }
}
