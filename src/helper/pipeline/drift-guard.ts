import type { FileSetWriter } from '../output/index.ts';
import type { HealthState } from '../health/index.ts';
import { errorMessage, type Logger } from '../log/index.ts';
import { FileSetWatch } from './file-set-watch.ts';

/**
 * How soon the files are looked at again while they are not the set last written, or cannot be
 * watched; otherwise only a change on disk (or a readiness probe) makes the guard look.
 */
const RECHECK_MS = 1_000;

/**
 * Keeps the set last written on disk: compares the files with it whenever the watch sees a change
 * (none for the session's own writes) or a readiness probe asks; when they are missing or altered,
 * says so in the health state (not ready) and writes the set again at once.
 */
export class DriftGuard {
  readonly #dir: string;
  readonly #writer: Pick<FileSetWriter, 'verify' | 'restore'>;
  readonly #health: Pick<HealthState, 'setProblem'>;
  readonly #log: Logger;
  readonly #watch: FileSetWatch;
  /** Set by a change on disk: the check running now may have missed it, so another one follows. */
  #recheck = false;
  #recheckTimer: NodeJS.Timeout | undefined;
  /** Watched only once a set is written: before, there is nothing to keep on disk. */
  #written = false;
  /** The session's own writes in flight: what the watch sees meanwhile is their doing. */
  #ownWrites = 0;
  #checking: Promise<void> | undefined;
  /** What is wrong with the files on disk now, as last logged. */
  #problem: string | undefined;
  #closed = false;

  constructor(dir: string, writer: Pick<FileSetWriter, 'verify' | 'restore' | 'watchedPaths'>, health: Pick<HealthState, 'setProblem'>, log: Logger) {
    this.#dir = dir;
    this.#writer = writer;
    this.#health = health;
    this.#log = log;
    this.#watch = new FileSetWatch(writer.watchedPaths, () => {
      if (this.#ownWrites === 0) void this.check();
    });
  }

  /**
   * Compares the files on disk with the set last written, and writes it again when they differ.
   * Calls during a check share it, and one more check follows it, so no change goes unseen.
   */
  check(): Promise<void> {
    this.#recheck = true;
    this.#checking ??= this.#checkUntilQuiet().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  /** Before each of the session's own writes: not watched while it writes, its own changes are no news (and each would cost a callback). */
  writing(): void {
    if (this.#ownWrites++ === 0) this.#watch.close();
  }

  /** A write succeeded: the set on disk is the one to keep, and whatever was wrong with the files is over. */
  wrote(): void {
    this.#written = true;
    this.#setProblem(undefined);
  }

  /**
   * After each of the session's own writes, however it went: the set is what it just wrote, so it is
   * not read back (that would cost every rotation a verify); the watch is armed again, on the new
   * generation. A change made by someone else while the write ran is seen at the next change, probe
   * or write. Should a check have armed the watch meanwhile, the write's events were queued before
   * its last step returned, so by the next turn of the loop (setImmediate) they have been read, and
   * ignored.
   */
  writeDone(): void {
    setImmediate(() => {
      this.#ownWrites--;
      if (this.#ownWrites === 0 && this.#written && !this.#closed) this.#recheckUnless(this.#watch.arm());
    });
  }

  /** Stops watching at once; resolves when a check running now has ended. */
  close(): Promise<void> {
    this.#closed = true;
    this.#watch.close();
    clearTimeout(this.#recheckTimer);
    return this.#checking ?? Promise.resolve();
  }

  async #checkUntilQuiet(): Promise<void> {
    clearTimeout(this.#recheckTimer);
    let watched = true;
    while (this.#recheck && !this.#closed) {
      this.#recheck = false;
      // Watched before looking: a change after the look is an event, one before it is seen by it.
      watched = !this.#written || this.#watch.arm();
      await this.#compare();
    }
    this.#recheckUnless(watched);
  }

  /** Looks again in a while unless the set is right and watched: nothing else would make it look. */
  #recheckUnless(watched: boolean): void {
    if (this.#closed || (watched && this.#problem === undefined)) return;
    clearTimeout(this.#recheckTimer);
    this.#recheckTimer = setTimeout(() => void this.check(), RECHECK_MS);
    this.#recheckTimer.unref();
  }

  async #compare(): Promise<void> {
    const difference = await this.#writer.verify().catch(errorMessage);
    if (difference === undefined) return this.#setProblem(undefined);
    const problem = `the files in ${this.#dir} are not the set last written (${difference})`;
    this.#setProblem(problem);
    try {
      await this.#writer.restore();
      this.#setProblem(undefined);
    } catch (error) {
      this.#setProblem(`${problem}, and writing them again failed: ${errorMessage(error)}`);
    }
  }

  /** One log line per change of what is wrong with the files on disk. */
  #setProblem(problem: string | undefined): void {
    if (problem === this.#problem) return;
    if (problem === undefined) this.#log.info({ dir: this.#dir }, 'the last good files are back on disk');
    else this.#log.error(`${problem}; writing the last good set again`);
    this.#problem = problem;
    this.#health.setProblem('files', problem);
  }
}
