import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

/**
 * Tells when anything changes in a written file set, through inotify, so that an idle helper makes
 * no wakeups at all (no polling). Two watches cover the set's layout (Kubernetes' AtomicWriter, as
 * the writer makes it): the directory itself (its visible links, `..data`, the generations; and its
 * own removal), and `..data`, which inotify follows to the generation directory holding the files
 * (their content, mode, removal, and any file added beside them). The helper's own writes are seen
 * too; the owner verifies cheaply and finds nothing to do.
 */
export class FileSetWatch {
  readonly #dir: string;
  readonly #onChange: () => void;
  #watchers: FSWatcher[] = [];

  constructor(dir: string, onChange: () => void) {
    this.#dir = dir;
    this.#onChange = onChange;
  }

  /**
   * Watches the directory and the generation `..data` names now, replacing the previous watches (a
   * swap or a re-made directory leaves them on what is gone). False when either cannot be watched
   * (the directory or `..data` missing, inotify's limits reached): the owner must then look again
   * by itself.
   */
  arm(): boolean {
    this.close();
    try {
      for (const path of [this.#dir, join(this.#dir, '..data')]) {
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
