import { checkJwtSvidClaims, type JwtSvid } from '../svid/index.ts';

/** The part of the Workload API client that JWT renewal needs. */
export interface JwtSvidSource {
  fetchJwtSvid(
    params: { audience: string; extraAudiences?: readonly string[]; spiffeId?: string },
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<JwtSvid[]>;
}

export interface JwtRenewalOptions {
  readonly audience: string;
  readonly extraAudiences: readonly string[];
  readonly spiffeId: string | undefined;
  readonly hint: string;
  readonly onToken: (svid: JwtSvid) => void;
  readonly onError: (error: Error, retryInMs: number) => void;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly fetchTimeoutMs?: number;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Never renew sooner than this after a success, so a token with a tiny lifetime cannot spin the loop. */
const MIN_RENEW_DELAY_MS = 1_000;

/**
 * Keeps one JWT-SVID fresh: fetches it, then fetches again around half its lifetime (with ±10 %
 * jitter so many helpers do not renew in step), and retries failures with capped exponential backoff.
 */
export class JwtSvidRenewer {
  readonly #source: JwtSvidSource;
  readonly #options: JwtRenewalOptions;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;

  constructor(source: JwtSvidSource, options: JwtRenewalOptions) {
    this.#source = source;
    this.#options = options;
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#abort.abort();
    clearTimeout(this.#timer);
  }

  #schedule(delayMs: number): void {
    if (this.#abort.signal.aborted) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#renew(), delayMs);
  }

  async #renew(): Promise<void> {
    const { audience, extraAudiences, spiffeId, hint } = this.#options;
    try {
      const svids = await this.#source.fetchJwtSvid(
        { audience, extraAudiences, ...(spiffeId === undefined ? {} : { spiffeId }) },
        { signal: this.#abort.signal, timeoutMs: this.#options.fetchTimeoutMs ?? 30_000 },
      );
      if (this.#abort.signal.aborted) return;
      const svid = hint === '' ? svids[0] : svids.find((candidate) => candidate.hint === hint);
      if (svid === undefined) {
        throw new Error(
          hint === ''
            ? `the Workload API returned no JWT-SVID for audience ${JSON.stringify(audience)}`
            : `no JWT-SVID for audience ${JSON.stringify(audience)} has hint ${JSON.stringify(hint)}`,
        );
      }
      this.#check(svid);
      this.#failures = 0;
      this.#options.onToken(svid);
      this.#schedule(this.#renewDelay(svid));
    } catch (error) {
      if (this.#abort.signal.aborted) return;
      const { initialMs, maxMs } = this.#options.backoff ?? { initialMs: 1_000, maxMs: 60_000 };
      const retryInMs = Math.min(maxMs, initialMs * 2 ** this.#failures);
      this.#failures++;
      this.#options.onError(error instanceof Error ? error : new Error(String(error)), retryInMs);
      this.#schedule(retryInMs);
    }
  }

  /**
   * A token that is not usable now for what was asked is refused, so the last good one stays (the
   * client already refuses one whose subject is not the SPIFFE ID asked for).
   */
  #check(svid: JwtSvid): void {
    const { audience, extraAudiences } = this.#options;
    const now = new Date((this.#options.now ?? Date.now)());
    for (const wanted of [audience, ...extraAudiences]) checkJwtSvidClaims(svid, wanted, now);
  }

  #renewDelay(svid: JwtSvid): number {
    const now = (this.#options.now ?? Date.now)();
    const random = this.#options.random ?? Math.random;
    const issued = svid.issuedAt?.getTime() ?? now;
    const lifetime = svid.expiresAt.getTime() - issued;
    const renewAt = issued + lifetime * (0.45 + 0.1 * random());
    return Math.max(MIN_RENEW_DELAY_MS, renewAt - now);
  }
}
