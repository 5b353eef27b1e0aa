import { replaceFile, type FileSetWriter } from '../output/index.ts';
import type { HealthState } from '../health/index.ts';
import { errorMessage, type Logger } from '../log/index.ts';
import type { HelperMetrics } from '../metrics/index.ts';
import type { DriftGuard } from './drift-guard.ts';
import type { FilePlan } from './file-plan.ts';

export interface WriteQueueOptions {
  readonly dir: string;
  readonly plan: FilePlan;
  readonly writer: FileSetWriter;
  readonly guard: DriftGuard;
  /** Whether a write may go ahead now (the first write waits for a complete set: first-write.ts). */
  readonly mayWrite: () => boolean;
  readonly health: HealthState;
  readonly metrics: HelperMetrics;
  readonly log: Logger;
  /** A write changed the files on disk (or not) and every configured output is now present. */
  readonly onComplete: (changed: boolean) => void;
  /** A write failed: the previous set stays. */
  readonly onFailure: (message: string) => void;
}

/**
 * Writes are serialised: each one renders the whole set from the newest material, so material that
 * arrives while a write runs goes out with the next one, and no two writes interleave.
 */
export class WriteQueue {
  readonly #options: WriteQueueOptions;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: WriteQueueOptions) {
    this.#options = options;
  }

  /** Queues a write; resolves once it (and every write before it) has run. */
  schedule(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  /** No write starts any more; resolves once the one running has ended. */
  close(): Promise<void> {
    this.#closed = true;
    return this.#writing;
  }

  async #write(): Promise<void> {
    if (this.#closed || !this.#options.mayWrite()) return;
    const { plan, writer, guard, health, metrics, log, dir } = this.#options;
    // Snapshot first: material that arrives during the write belongs to the next write.
    const ready = plan.ready();
    const complete = plan.complete();
    const files = plan.files();
    const looseFiles = plan.looseFiles();
    const expiries = plan.expiries();
    guard.writing();
    try {
      // Files outside the set first: one that cannot be written then leaves cert_dir's set untouched.
      let changed = false;
      for (const { path, file } of looseFiles) changed = (await replaceFile(path, file)).changed || changed;
      const carry = plan.carry();
      if (files.length > 0 || carry === 'all' || carry.length > 0) changed = (await writer.write(files, { carry })).changed || changed;
      for (const output of ready) health.recordWrite(output);
      if (changed) metrics.filesWritten(new Date(), expiries);
      health.setWarning('write', undefined);
      guard.wrote();
      if (changed) log.info({ dir, outputs: ready }, 'files written');
      else log.debug('files unchanged; the program is not told');
      if (complete) this.#options.onComplete(changed);
    } catch (error) {
      const message = errorMessage(error);
      this.#options.onFailure(message);
      metrics.writeFailed();
      health.setWarning('write', `the newest files are not written; the previous set stays: ${message}`);
      log.error(`files not written; the previous set stays: ${message}`);
    } finally {
      guard.writeDone();
    }
  }
}
