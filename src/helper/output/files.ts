// What every writer of src/helper/output takes: a set of named files, checked by the one file-name rule, the error.
import { fileNameProblem } from './file-name.ts';

export interface OutputFile {
  /** A plain file name inside the directory. */
  readonly name: string;
  readonly content: string | Uint8Array;
  /** Applied on every write, whatever the umask. */
  readonly mode: number;
}

/**
 * Mode of every directory the writer makes: cert_dir and its missing parents, a JWT-SVID file's
 * directory, each generation. Consumers of any user must pass through; each file has its own mode.
 */
export const DIR_MODE = 0o755;

export class OutputError extends Error {
  override name = 'OutputError';
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
