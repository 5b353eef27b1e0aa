// What every writer of src/output takes: a set of named files, the one file-name rule, the error.

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

/** Linux's NAME_MAX: the longest file name, in bytes, a directory entry can have. */
const NAME_MAX = 255;

/** Why `name` cannot be one file of a set, or undefined when it can: the one file-name rule. */
export function fileNameProblem(name: string): string | undefined {
  if (name === '' || name.includes('/') || name.includes('\0') || name === '.' || name.startsWith('..')) {
    return `${JSON.stringify(name)} is not a plain file name (no "/", not starting with "..")`;
  }
  const bytes = Buffer.byteLength(name);
  if (bytes > NAME_MAX) return `the file name ${JSON.stringify(`${name.slice(0, 40)}…`)} is ${bytes} bytes long; at most ${NAME_MAX} fit`;
  return undefined;
}

export function checkNames(files: readonly OutputFile[]): void {
  const seen = new Set<string>();
  for (const { name } of files) {
    const problem = fileNameProblem(name);
    if (problem !== undefined) throw new OutputError(problem);
    if (seen.has(name)) throw new OutputError(`${JSON.stringify(name)} appears twice in one file set`);
    seen.add(name);
  }
}

/** Same names, modes and content, in the same order. */
export function sameFiles(a: readonly OutputFile[], b: readonly OutputFile[]): boolean {
  return a.length === b.length && a.every((file, index) => {
    const other = b[index]!;
    return file.name === other.name && file.mode === other.mode && Buffer.from(file.content).equals(Buffer.from(other.content));
  });
}

/** The result of a step that may fail (a name missing, or not a symlink), or undefined. */
export function attempt<T>(step: () => T): T | undefined {
  try {
    return step();
  } catch {
    return undefined;
  }
}

export interface WriteOptions {
  /**
   * Names the set keeps when `files` has no new content for them: their content and mode are copied
   * from the set on disk (if it holds them), so a partial update never removes a configured file.
   * `'all'`: every file of the set on disk, for a writer that does not yet know all the names it
   * will write.
   */
  readonly carry?: readonly string[] | 'all';
}

/** What the pipeline writes through: a file set kept in one directory (file-set-writer.ts, per-file-writer.ts). */
export interface FileWriter {
  readonly dir: string;
  /** Writes the set unless the directory already holds exactly it; writes are serialised. */
  write(files: readonly OutputFile[], options?: WriteOptions): Promise<{ changed: boolean }>;
  /** Why the directory no longer holds the set last written, or undefined when it does or nothing was written yet. */
  verify(): Promise<string | undefined>;
  /** Writes the set last written again; the directory is made again only where its parent still exists. */
  restore(): Promise<{ changed: boolean }>;
}
