import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { TrustDomain } from './spiffe-id.ts';

/** The JWT authorities of one trust domain, keyed by key ID, and the JWKS document they came from. */
export interface JwtBundle {
  readonly trustDomain: TrustDomain;
  readonly keys: ReadonlyMap<string, KeyObject>;
  readonly jwks: Uint8Array;
}

export type JwtBundleSet = ReadonlyMap<string, JwtBundle>;

export class JwtBundleError extends Error {
  override name = 'JwtBundleError';
}

/**
 * Parses a JWKS document. SPIRE's JWT bundles carry no `use` member, so a key without one is a JWT
 * authority; keys marked for another use (`x509-svid`) are skipped.
 */
export function parseJwtBundle(trustDomain: TrustDomain, jwks: Uint8Array): JwtBundle {
  const fail = (what: string): never => {
    throw new JwtBundleError(`JWT bundle for ${trustDomain.name}: ${what}`);
  };
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(jwks).toString('utf8'));
  } catch {
    return fail('not a JSON document');
  }
  if (typeof document !== 'object' || document === null || !Array.isArray((document as { keys?: unknown }).keys)) {
    return fail('not a JWKS document (no "keys" array)');
  }
  const keys = new Map<string, KeyObject>();
  for (const [index, jwk] of ((document as { keys: unknown[] }).keys).entries()) {
    if (typeof jwk !== 'object' || jwk === null) fail(`keys[${index}] is not an object`);
    const entry = jwk as JsonWebKey & { kid?: unknown; use?: unknown };
    if (entry.use !== undefined && entry.use !== 'jwt-svid') continue;
    if (typeof entry.kid !== 'string' || entry.kid === '') fail(`keys[${index}] has no "kid"`);
    try {
      keys.set(entry.kid as string, createPublicKey({ key: entry, format: 'jwk' }));
    } catch (error) {
      fail(`keys[${index}] (kid ${JSON.stringify(entry.kid)}) is not a usable public key: ${(error as Error).message}`);
    }
  }
  return { trustDomain, keys, jwks };
}
