import { validateJwtSvid, type JwtBundle, type JwtBundleSet, type JwtSvid } from '../svid/index.ts';
import type { CallOptions } from '../workload/index.ts';
import { LiveSource, stream, toTrustDomain, type SourceOptions, type TrustDomainLike } from './live-source.ts';

/** Anything that knows the current JWT bundle of a trust domain. */
export interface JwtBundleSource {
  jwtBundleFor(trustDomain: TrustDomainLike): JwtBundle | undefined;
}

export interface JwtSvidParams {
  /** The audience the token is for (its `aud` claim holds it). */
  readonly audience: string;
  readonly extraAudiences?: readonly string[];
  /** Only this identity's token (default: every identity of the workload; the first is returned). */
  readonly spiffeId?: string;
}

interface CacheEntry {
  readonly svids: readonly JwtSvid[];
  /** Past this instant the next request fetches new tokens. */
  readonly renewAt: number;
}

/**
 * When a token fetched at `fetchedAt` is due for renewal (ms since the epoch): `fraction` (default
 * half) of the way through its lifetime, as the Workload API's own clients renew SVIDs, so a caller
 * never holds a token close to expiry. The lifetime counts from `iat`; without one, or with one
 * later than the fetch (a skewed clock), from the fetch.
 */
export function jwtSvidRenewalTime(svid: Pick<JwtSvid, 'issuedAt' | 'expiresAt'>, fetchedAt: number, fraction = 0.5): number {
  const issued = Math.min(svid.issuedAt?.getTime() ?? fetchedAt, fetchedAt);
  return issued + (svid.expiresAt.getTime() - issued) * fraction;
}

/**
 * JWT-SVIDs for this workload, served from a cache that is renewed half way through each token's
 * lifetime, and validation of other workloads' JWT-SVIDs against the JWT bundles, kept current from
 * the FetchJWTBundles stream.
 */
export class JwtSource extends LiveSource<JwtBundleSet> implements JwtBundleSource {
  protected readonly awaited = 'JWT bundles';
  #bundles: JwtBundleSet = new Map();
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inFlight = new Map<string, Promise<readonly JwtSvid[]>>();

  static async create(options: SourceOptions = {}): Promise<JwtSource> {
    const source = new JwtSource(options);
    await source.start([stream<JwtBundleSet>({ open: (client, handler) => client.watchJwtBundles(handler), accept: (bundles) => void (source.#bundles = bundles) })], options.timeoutMs);
    return source;
  }

  protected snapshot(): JwtBundleSet {
    return this.#bundles;
  }

  /** Trust domain name → JWT bundle: this workload's and the federated ones. */
  get bundles(): JwtBundleSet {
    return this.#bundles;
  }

  jwtBundleFor(trustDomain: TrustDomainLike): JwtBundle | undefined {
    return this.#bundles.get(toTrustDomain(trustDomain).name);
  }

  /** The workload's JWT-SVID for `audience` (the first identity's, or `spiffeId`'s), from the cache when still fresh. */
  async fetchJwtSvid(params: JwtSvidParams, options: CallOptions = {}): Promise<JwtSvid> {
    return (await this.fetchJwtSvids(params, options))[0]!;
  }

  /** One JWT-SVID per identity of the workload (or only `spiffeId`'s), from the cache when still fresh. */
  async fetchJwtSvids(params: JwtSvidParams, options: CallOptions = {}): Promise<readonly JwtSvid[]> {
    if (this.closed) throw new Error('the JwtSource is closed');
    const key = JSON.stringify([params.audience, [...(params.extraAudiences ?? [])].sort(), params.spiffeId ?? '']);
    const cached = this.#cache.get(key);
    if (cached !== undefined && Date.now() < cached.renewAt) return cached.svids;
    let request = this.#inFlight.get(key);
    if (request === undefined) {
      const fetchedAt = Date.now();
      request = this.client.fetchJwtSvid(params, options).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, request);
      request.then(
        (svids) => this.#cache.set(key, { svids, renewAt: Math.min(...svids.map((svid) => jwtSvidRenewalTime(svid, fetchedAt))) }),
        () => undefined,
      );
    }
    try {
      return await request;
    } catch (error) {
      // A renewal that fails while the cached tokens are still valid serves them, and says why.
      if (cached !== undefined && cached.svids.every((svid) => Date.now() < svid.expiresAt.getTime())) {
        this.report(error as Error);
        return cached.svids;
      }
      throw error;
    }
  }

  /**
   * Validates another workload's JWT-SVID by the JWT-SVID spec against the current JWT bundle of its
   * subject's trust domain: signature, allowed algorithm, audience, expiry. Returns the token's SVID;
   * throws JwtSvidError saying why not.
   */
  async validateJwtSvid(token: string, audience: string): Promise<JwtSvid> {
    return validateJwtSvid(token, this.#bundles, audience);
  }
}
