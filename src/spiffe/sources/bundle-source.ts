import type { JwtBundle, JwtBundleSet, X509Bundle, X509BundleSet, X509BundleSource } from '../svid/index.ts';
import { LiveSource, stream, toTrustDomain, type SourceOptions, type TrustDomainLike } from './live-source.ts';
import type { JwtBundleSource } from './jwt-source.ts';

export interface BundleSourceOptions extends SourceOptions {
  /** Watch the X.509 bundles (FetchX509Bundles); default true. */
  readonly x509?: boolean;
  /** Watch the JWT bundles (FetchJWTBundles); default true. */
  readonly jwt?: boolean;
}

export interface BundleSourceUpdate {
  readonly x509: X509BundleSet;
  readonly jwt: JwtBundleSet;
}

/**
 * The trust bundles alone, for a program that verifies peers (X.509 or JWT) but has no identity
 * of its own to present: kept current from FetchX509Bundles and FetchJWTBundles.
 */
export class BundleSource extends LiveSource<BundleSourceUpdate> implements X509BundleSource, JwtBundleSource {
  protected readonly awaited: string;
  #x509: X509BundleSet = new Map();
  #jwt: JwtBundleSet = new Map();

  private constructor(options: BundleSourceOptions) {
    super(options);
    this.awaited = [options.x509 !== false ? 'X.509 bundles' : '', options.jwt !== false ? 'JWT bundles' : ''].filter(Boolean).join(' and ');
  }

  static async create(options: BundleSourceOptions = {}): Promise<BundleSource> {
    if (options.x509 === false && options.jwt === false) throw new TypeError('a BundleSource needs X.509 or JWT bundles (x509 and jwt are both false)');
    const source = new BundleSource(options);
    const streams = [];
    if (options.x509 !== false) {
      streams.push(stream<X509BundleSet>({ open: (client, handler) => client.watchX509Bundles(handler), accept: (bundles) => void (source.#x509 = bundles) }));
    }
    if (options.jwt !== false) {
      streams.push(stream<JwtBundleSet>({ open: (client, handler) => client.watchJwtBundles(handler), accept: (bundles) => void (source.#jwt = bundles) }));
    }
    await source.start(streams, options.timeoutMs);
    return source;
  }

  protected snapshot(): BundleSourceUpdate {
    return { x509: this.#x509, jwt: this.#jwt };
  }

  /** Trust domain name → X.509 bundle (empty when not watched). */
  get x509Bundles(): X509BundleSet {
    return this.#x509;
  }

  /** Trust domain name → JWT bundle (empty when not watched). */
  get jwtBundles(): JwtBundleSet {
    return this.#jwt;
  }

  bundleFor(trustDomain: TrustDomainLike): X509Bundle | undefined {
    return this.#x509.get(toTrustDomain(trustDomain).name);
  }

  jwtBundleFor(trustDomain: TrustDomainLike): JwtBundle | undefined {
    return this.#jwt.get(toTrustDomain(trustDomain).name);
  }
}
