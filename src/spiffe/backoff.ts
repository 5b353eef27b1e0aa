/** How long to wait before retry n: doubling from `initialMs`, capped at `maxMs`. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000 };

/**
 * For a run bounded by a deadline (a one-shot): look again at least every half second, so files are
 * written soon after the agent's socket appears, not up to 30 s later as a daemon's retries would be.
 */
export const PROMPT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 500 };

/**
 * The one retry policy of the library (and the helper built on it): capped exponential backoff with
 * equal jitter, so retries spread out but never come sooner than half the ceiling. reset() after a
 * success starts over from `initialMs`.
 */
export class Backoff {
  readonly policy: BackoffPolicy;
  readonly #random: () => number;
  #failures = 0;

  constructor(policy: Partial<BackoffPolicy> = {}, random: () => number = Math.random) {
    this.policy = { initialMs: policy.initialMs ?? DEFAULT_BACKOFF.initialMs, maxMs: policy.maxMs ?? DEFAULT_BACKOFF.maxMs };
    this.#random = random;
  }

  /** The delay before the next retry; counts one more failure. */
  next(): number {
    const ceiling = Math.min(this.policy.maxMs, this.policy.initialMs * 2 ** this.#failures);
    this.#failures++;
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  reset(): void {
    this.#failures = 0;
  }
}
