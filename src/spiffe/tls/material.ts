import { certificatesToPem, pkcs8ToPem, type TrustDomain, type X509BundleSet, type X509Svid } from '../svid/index.ts';
import type { X509BundleSetSource, X509SvidSource } from './sources.ts';

/** What Node's TLS presents: the SVID's chain and key (PEM). */
export interface SvidPem {
  readonly cert: string;
  readonly key: string;
}

/* Sources hand out the same objects until an update, so the PEM is computed once per SVID and per bundle set. */
const svids = new WeakMap<X509Svid, SvidPem>();
const bundleSets = new WeakMap<X509BundleSet, readonly string[]>();

/** The PEM of the source's current SVID. */
export function svidPem(source: X509SvidSource): SvidPem {
  const { svid } = source;
  let pem = svids.get(svid);
  if (pem === undefined) {
    pem = { cert: certificatesToPem(svid.certificates), key: pkcs8ToPem(svid.privateKeyDer) };
    svids.set(svid, pem);
  }
  return pem;
}

/**
 * The authorities (PEM) of the trust domains given, else of every bundle: Node's CA store. With
 * every bundle it is only a first filter (OpenSSL's check cannot be turned off while Node still
 * calls back); the decision is authorizePeer's, against the peer's own trust domain's bundle.
 */
export function authoritiesPem(source: X509BundleSetSource, trustDomains?: readonly TrustDomain[]): readonly string[] {
  if (trustDomains !== undefined) return trustDomains.flatMap((td) => source.bundleFor(td)?.authorities.map(String) ?? []);
  const set = source.x509Bundles;
  let pem = bundleSets.get(set);
  if (pem === undefined) {
    pem = [...set.values()].flatMap((bundle) => bundle.authorities.map(String));
    bundleSets.set(set, pem);
  }
  return pem;
}
