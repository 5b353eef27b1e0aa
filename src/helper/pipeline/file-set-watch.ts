import { watch, type FSWatcher } from 'node:fs';

/**
 * Tells when anything changes in a written file set, through inotify, so that an idle helper makes
 * no wakeups at all (no polling). The writer's layout names the paths that cover it: for the
 * generations layout (Kubernetes' AtomicWriter) the directory itself (its visible links, `..data`,
 * the generations; and its own removal) and `..data`, which inotify follows to the generation
 * directory holding the files (their content, mode, removal, and any file added beside them); for
 * plain files, the directory alone. The helper's own writes are seen too; the owner verifies
 * cheaply and finds nothing to do.
 */
export class FileSetWatch {
  readonly #paths: readonly string[];
  readonly #onChange: () => void;
  #watchers: FSWatcher[] = [];

  constructor(paths: readonly string[], onChange: () => void) {
    this.#paths = paths;
    this.#onChange = onChange;
  }

  /**
   * Watches the paths now (`..data` names the generation of this moment), replacing the previous
   * watches (a swap or a re-made directory leaves them on what is gone). False when one cannot be
   * watched (missing, inotify's limits reached): the owner must then look again by itself.
   */
  arm(): boolean {
    this.close();
    try {
      for (const path of this.#paths) {
        const watcher = watch(path, { persistent: false }, () => this.#onChange());
        // After an error a watcher reports nothing more; the owner looks again and re-arms.
        watcher.on('error', () => this.#onChange());
        this.#watchers.push(watcher);
      }
      return true;
    } catch {
      this.close();
      return false;
    }
  }

  close(): void {
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers = [];
  }
}
