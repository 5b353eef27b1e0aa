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

/** The key types of JWT-SVID.md's algorithms (RS*, PS*: RSA; ES*: EC). */
const KEY_TYPES = new Set(['EC', 'RSA']);
/** JWK members that hold private key material (RFC 7518 6.2.2, 6.3.2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

/**
 * Parses a JWKS document. SPIRE's Workload API JWT bundles carry no `use` member, so a key without
 * one is a JWT authority; keys marked for another use (`x509-svid`) and key types no JWT-SVID
 * algorithm uses are skipped, as SPIFFE_Trust_Domain_and_Bundle.md 4.1.3 asks. Every JWT authority
 * needs a unique `kid` (JWT-SVID.md 6.1).
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
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return fail(`keys[${index}] is not an object`);
    const entry = jwk as JsonWebKey & { kid?: unknown; use?: unknown };
    if (entry.use !== undefined && entry.use !== 'jwt-svid') continue;
    if (typeof entry.kty !== 'string') fail(`keys[${index}] has no "kty"`);
    if (!KEY_TYPES.has(entry.kty!)) continue;
    if (typeof entry.kid !== 'string' || entry.kid === '') fail(`keys[${index}] has no "kid"`);
    const kid = entry.kid as string;
    if (keys.has(kid)) fail(`keys[${index}] repeats the kid ${JSON.stringify(kid)}`);
    if (PRIVATE_MEMBERS.some((member) => member in entry)) fail(`keys[${index}] (kid ${JSON.stringify(kid)}) holds private key material`);
    try {
      keys.set(kid, createPublicKey({ key: entry, format: 'jwk' }));
    } catch (error) {
      fail(`keys[${index}] (kid ${JSON.stringify(kid)}) is not a usable ${entry.kty} public key: ${(error as Error).message}`);
    }
  }
  return { trustDomain, keys, jwks };
}
