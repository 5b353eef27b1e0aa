import { configuredOutputs, formatDuration, type HelperConfig } from '../config/index.ts';
import type { Logger } from '../log/index.ts';
import type { FilePlan } from './file-plan.ts';

/**
 * Holds a session's first write until every configured output has arrived, for at most
 * first_write_wait after the first one did. The outputs come on separate streams moments apart
 * (X.509, the JWT bundle, each JWT-SVID), and a program or consumer that reads cert_dir at
 * start-up must find one complete set, as the README promises, not the JWT bundle alone, then the
 * X.509 files, then the token. When the moment ends, what has arrived is written (one missing
 * output must not keep the others off disk) and the missing ones are named. Later writes are
 * never held: after the first, each update replaces the whole set anyway.
 */
export class FirstWriteGate {
  readonly #config: HelperConfig;
  readonly #plan: FilePlan;
  readonly #log: Logger;
  /** Called when the moment ends, to write what has arrived. */
  readonly #release: () => void;
  #open = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(config: HelperConfig, plan: FilePlan, log: Logger, release: () => void) {
    this.#config = config;
    this.#plan = plan;
    this.#log = log;
    this.#release = release;
  }

  /** Whether a write may go ahead now; the first call that must wait starts the moment. */
  allows(): boolean {
    if (this.#open || this.#plan.complete() || this.#config.firstWriteWaitMs === 0) {
      this.open();
      return true;
    }
    this.#timer ??= setTimeout(() => {
      const ready = new Set(this.#plan.ready());
      const missing = configuredOutputs(this.#config).filter((output) => !ready.has(output));
      this.#log.warn({ missing }, `not every output arrived within ${formatDuration(this.#config.firstWriteWaitMs)} of the first: writing what has arrived`);
      this.open();
      this.#release();
    }, this.#config.firstWriteWaitMs);
    return false;
  }

  /** No more holding: the first write has gone, or (a reload's seed) the set on disk is complete already. */
  open(): void {
    this.#open = true;
    clearTimeout(this.#timer);
  }
}
