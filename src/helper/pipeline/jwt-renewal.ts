import { checkJwtSvidClaims, type JwtSvid } from '../../spiffe/svid/index.ts';
import { jwtSvidRenewalTime, requireSvid, type JwtSource } from '../../spiffe/sources/index.ts';
import { Backoff, type BackoffPolicy } from '../../spiffe/backoff.ts';
import { toError } from '../log/index.ts';

/** The part of a JwtSource that JWT renewal needs. */
export type JwtSvidSource = Pick<JwtSource, 'fetchJwtSvids'>;

export interface JwtRenewalOptions {
  readonly audience: string;
  readonly extraAudiences: readonly string[];
  readonly spiffeId: string | undefined;
  readonly hint: string;
  readonly onToken: (svid: JwtSvid) => void;
  readonly onError: (error: Error, retryInMs: number) => void;
  readonly backoff?: BackoffPolicy;
  readonly fetchTimeoutMs?: number;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Never renew sooner than this after a success, so a token with a tiny lifetime cannot spin the loop. */
const MIN_RENEW_DELAY_MS = 1_000;

/**
 * Keeps one JWT-SVID file fresh: a timer over the JwtSource, which renews its cache half way through
 * a token's lifetime. The timer fires just after that point (up to 5 % of the lifetime later, so many
 * helpers do not renew in step), and retries failures with capped exponential backoff.
 */
export class JwtSvidRenewer {
  readonly #source: JwtSvidSource;
  readonly #options: JwtRenewalOptions;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  readonly #backoff: Backoff;
  #lastToken: string | undefined;

  constructor(source: JwtSvidSource, options: JwtRenewalOptions) {
    this.#source = source;
    this.#options = options;
    this.#backoff = new Backoff(options.backoff ?? { initialMs: 1_000, maxMs: 60_000 }, options.random);
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
      const svids = await this.#source.fetchJwtSvids(
        { audience, extraAudiences, ...(spiffeId === undefined ? {} : { spiffeId }) },
        { signal: this.#abort.signal, timeoutMs: this.#options.fetchTimeoutMs ?? 30_000 },
      );
      if (this.#abort.signal.aborted) return;
      const svid = requireSvid(svids, { hint }, `JWT-SVID for audience ${JSON.stringify(audience)}`);
      this.#check(svid);
      this.#backoff.reset();
      // The source's cache serves the same token until its renewal time: only a new one is news.
      if (svid.token !== this.#lastToken) this.#options.onToken(svid);
      this.#lastToken = svid.token;
      this.#schedule(this.#renewDelay(svid));
    } catch (error) {
      if (this.#abort.signal.aborted) return;
      const retryInMs = this.#backoff.next();
      this.#options.onError(toError(error), retryInMs);
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
    // Just after the source's cache renews (the same rule, a little later), so the fetch gets the new token.
    return Math.max(MIN_RENEW_DELAY_MS, jwtSvidRenewalTime(svid, now, 0.5 + 0.05 * random()) - now);
  }
}
