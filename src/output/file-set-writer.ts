import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readFile, readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';

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

function generationName(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
  return `..${stamp}.${randomBytes(4).toString('hex')}`;
}

function checkNames(files: readonly OutputFile[]): void {
  const seen = new Set<string>();
  for (const { name } of files) {
    if (name === '' || name.includes('/') || name.includes('\0') || name === '.' || name.startsWith('..')) {
      throw new OutputError(`${JSON.stringify(name)} is not a plain file name (no "/", not starting with "..")`);
    }
    if (seen.has(name)) throw new OutputError(`${JSON.stringify(name)} appears twice in one file set`);
    seen.add(name);
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false);
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
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

  constructor(dir: string, options: { dirMode?: number } = {}) {
    this.dir = dir;
    this.#dirMode = options.dirMode ?? 0o755;
  }

  /** Writes the set unless the directory already holds exactly it; writes are serialised. */
  write(files: readonly OutputFile[]): Promise<{ changed: boolean }> {
    const result = this.#queue.then(() => this.#write(files));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** The files the visible set holds now, or undefined when there is none. */
  async current(): Promise<ReadonlyMap<string, Buffer> | undefined> {
    const generation = await this.#currentGeneration();
    if (generation === undefined) return undefined;
    const files = new Map<string, Buffer>();
    for (const name of await readdir(join(this.dir, generation))) files.set(name, await readFile(join(this.dir, generation, name)));
    return files;
  }

  /** The generation `..data` points at, if it is one of ours; a planted link is never followed. */
  async #currentGeneration(): Promise<string | undefined> {
    const target = await readlink(join(this.dir, DATA)).catch(() => undefined);
    if (target === undefined || !GENERATION.test(target)) return undefined;
    const info = await lstat(join(this.dir, target)).catch(() => undefined);
    return info?.isDirectory() === true ? target : undefined;
  }

  async #unchanged(generation: string | undefined, files: readonly OutputFile[]): Promise<boolean> {
    if (generation === undefined) return false;
    const present = await readdir(join(this.dir, generation));
    if (present.length !== files.length) return false;
    for (const file of files) {
      const path = join(this.dir, generation, file.name);
      const info = await lstat(path).catch(() => undefined);
      if (info === undefined || !info.isFile() || (info.mode & 0o7777) !== file.mode) return false;
      if (!(await readFile(path)).equals(Buffer.from(file.content))) return false;
      const link = await readlink(join(this.dir, file.name)).catch(() => undefined);
      if (link !== `${DATA}/${file.name}`) return false;
    }
    return true;
  }

  async #write(files: readonly OutputFile[]): Promise<{ changed: boolean }> {
    checkNames(files);
    await this.#ensureDir();
    const previous = await this.#currentGeneration();
    if (await this.#unchanged(previous, files)) return { changed: false };

    for (const file of files) {
      if ((await lstat(join(this.dir, file.name)).catch(() => undefined))?.isDirectory() === true) {
        throw new OutputError(`${join(this.dir, file.name)} is a directory, not a file the helper can replace`);
      }
    }
    const generation = generationName();
    const generationPath = join(this.dir, generation);
    try {
      await mkdir(generationPath, { mode: 0o755 });
      await chmod(generationPath, 0o755);
      // Written side by side: their fsyncs overlap instead of queueing (the one slow step of a
      // rotation). Every write settles before the directory is synced, or removed on a failure.
      const written = await Promise.allSettled(files.map((file) => this.#writeFile(join(generationPath, file.name), file)));
      const failure = written.find((result) => result.status === 'rejected');
      if (failure !== undefined) throw failure.reason;
      await fsyncPath(generationPath);
    } catch (error) {
      await rm(generationPath, { recursive: true, force: true });
      throw error instanceof OutputError ? error : new OutputError(`writing ${generationPath}: ${(error as Error).message}`);
    }

    await this.#step('switch to the new file set', async () => {
      const dataTmp = join(this.dir, DATA_TMP);
      await rm(dataTmp, { recursive: true, force: true });
      await symlink(generation, dataTmp);
      const data = join(this.dir, DATA);
      // A real directory planted at ..data cannot be renamed over; it is ours to own, so it goes.
      const planted = await lstat(data).catch(() => undefined);
      if (planted !== undefined && !planted.isSymbolicLink()) await rm(data, { recursive: true, force: true });
      await rename(dataTmp, data);
    });
    const keep = new Set(files.map((file) => file.name));
    await this.#step('link the visible names', async () => {
      for (const name of keep) await this.#link(name);
    });
    await this.#step('remove names no longer written', () => this.#unlinkRemoved(keep));
    await fsyncPath(this.dir);
    await this.#removeOldGenerations(generation, previous);
    return { changed: true };
  }

  async #step(what: string, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      throw new OutputError(`${this.dir}: cannot ${what}: ${(error as Error).message}`);
    }
  }

  async #ensureDir(): Promise<void> {
    try {
      if (!(await exists(this.dir))) {
        await mkdir(this.dir, { recursive: true, mode: this.#dirMode });
        await chmod(this.dir, this.#dirMode);
      } else if (!(await stat(this.dir)).isDirectory()) {
        throw new Error('exists and is not a directory');
      }
    } catch (error) {
      throw new OutputError(`cannot create the output directory ${this.dir}: ${(error as Error).message}`);
    }
  }

  async #writeFile(path: string, file: OutputFile): Promise<void> {
    // "wx": the generation directory is new, so anything already there is an attack, not ours.
    const handle = await open(path, 'wx', file.mode);
    try {
      await handle.writeFile(file.content);
      await handle.chmod(file.mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Points `name` at `..data/name`, replacing whatever was there without following it. */
  async #link(name: string): Promise<void> {
    const path = join(this.dir, name);
    const target = `${DATA}/${name}`;
    if ((await readlink(path).catch(() => undefined)) === target) return;
    const temporary = join(this.dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
    await symlink(target, temporary);
    await rename(temporary, path);
  }

  async #unlinkRemoved(keep: ReadonlySet<string>): Promise<void> {
    for (const entry of await readdir(this.dir)) {
      if (keep.has(entry) || entry.startsWith('..')) continue;
      const link = await readlink(join(this.dir, entry)).catch(() => undefined);
      if (link === `${DATA}/${entry}`) await rm(join(this.dir, entry), { force: true });
    }
  }

  /** Keeps the previous generation until the next swap, so a reader that just resolved it can finish. */
  async #removeOldGenerations(current: string, previous: string | undefined): Promise<void> {
    for (const entry of await readdir(this.dir)) {
      if (GENERATION.test(entry) && entry !== current && entry !== previous) {
        await rm(join(this.dir, entry), { recursive: true, force: true });
      }
    }
  }
}
