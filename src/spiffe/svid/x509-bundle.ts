import { X509Certificate } from 'node:crypto';
import { splitDerSequence } from '../der/read.ts';
import type { TrustDomain } from './spiffe-id.ts';

/** The X.509 authorities (CA certificates) of one trust domain. */
export interface X509Bundle {
  readonly trustDomain: TrustDomain;
  readonly authorities: readonly X509Certificate[];
}

/** Keyed by trust domain name. */
export type X509BundleSet = ReadonlyMap<string, X509Bundle>;

/** Anything that knows the current X.509 bundle of a trust domain: a live source, or a fixed set. */
export interface X509BundleSource {
  bundleFor(trustDomain: TrustDomain): X509Bundle | undefined;
}

export class X509BundleError extends Error {
  override name = 'X509BundleError';
}

/**
 * The Workload API sends the bundle again with every SVID rotation, nearly always unchanged. The last
 * parse of each trust domain's bundle is reused while its bytes are the same: a certificate costs
 * node:crypto some 50 µs to parse, comparing the bytes about 1 µs. At most BUNDLES_KEPT trust
 * domains are kept, the most recently parsed.
 */
const BUNDLES_KEPT = 64;
const lastParsed = new Map<string, { readonly der: Buffer; readonly bundle: X509Bundle }>();

/**
 * Parses a bundle as the Workload API sends it: concatenated DER CA certificates. An empty bundle is
 * a trust domain with no authorities (SPIFFE_Trust_Domain_and_Bundle.md 4.1): nothing verifies to it.
 */
export function parseX509Bundle(trustDomain: TrustDomain, der: Uint8Array): X509Bundle {
  const last = lastParsed.get(trustDomain.name);
  if (last !== undefined && last.der.equals(der)) return last.bundle;
  let items: Uint8Array[];
  try {
    items = splitDerSequence(der);
  } catch (error) {
    throw new X509BundleError(`X.509 bundle for ${trustDomain.name} is not concatenated DER: ${(error as Error).message}`);
  }
  const authorities = items.map((item, index) => {
    try {
      return new X509Certificate(item);
    } catch (error) {
      throw new X509BundleError(`X.509 bundle for ${trustDomain.name}: item ${index} is not a certificate: ${(error as Error).message}`);
    }
  });
  const bundle: X509Bundle = { trustDomain, authorities };
  lastParsed.delete(trustDomain.name);
  // A copy: the caller's buffer may be reused.
  lastParsed.set(trustDomain.name, { der: Buffer.from(der), bundle });
  if (lastParsed.size > BUNDLES_KEPT) lastParsed.delete(lastParsed.keys().next().value!);
  return bundle;
}
