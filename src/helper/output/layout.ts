import type { DirHandle } from './dir-handle.ts';
import type { OutputFile } from './files.ts';

/**
 * How a file set lies in its directory: `generations` (generations.ts, the default: every file
 * switched at once through `..data`) or `files` (per-file.ts: plain files, each replaced on its
 * own, for directories where a program takes every subdirectory for something of its own).
 */
export type FileLayout = 'generations' | 'files';

/** A layout's steps, each on the directory held by its descriptor (dir-handle.ts). */
export interface DiskLayout {
  /**
   * What to watch (inotify) to see any change to the set: the directory itself (`.`: its entries, and
   * plain files in it), and names inotify follows to where the files are.
   */
  readonly watched: readonly string[];
  /** The named files of the visible set (or `'all'` of them, where the layout can tell) that are regular files. */
  read(dir: DirHandle, names: readonly string[] | 'all'): OutputFile[];
  /** The first way the visible set differs from `files`, or undefined when it holds exactly them. */
  difference(dir: DirHandle, files: readonly OutputFile[]): string | undefined;
  /** Makes `files` the visible set; `previous` is the set last written, if any. */
  replace(dir: DirHandle, files: readonly OutputFile[], previous: readonly OutputFile[] | undefined): Promise<void>;
}
