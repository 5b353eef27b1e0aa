import { X509Certificate } from 'node:crypto';
import { splitDerSequence } from './der.ts';
import type { TrustDomain } from './spiffe-id.ts';

/** The X.509 authorities (CA certificates) of one trust domain. */
export interface X509Bundle {
  readonly trustDomain: TrustDomain;
  readonly authorities: readonly X509Certificate[];
}

/** Keyed by trust domain name. */
export type X509BundleSet = ReadonlyMap<string, X509Bundle>;

export class X509BundleError extends Error {
  override name = 'X509BundleError';
}

/** Parses a bundle as the Workload API sends it: concatenated DER CA certificates. */
export function parseX509Bundle(trustDomain: TrustDomain, der: Uint8Array): X509Bundle {
  if (der.length === 0) throw new X509BundleError(`X.509 bundle for ${trustDomain.name} is empty`);
  try {
    const authorities = splitDerSequence(der).map((item) => new X509Certificate(item));
    return { trustDomain, authorities };
  } catch (error) {
    throw new X509BundleError(`X.509 bundle for ${trustDomain.name} is not valid DER certificates: ${(error as Error).message}`);
  }
}
