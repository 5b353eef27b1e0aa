import { verify as verifySignature, type KeyObject } from 'node:crypto';
import { SpiffeId } from './spiffe-id.ts';
import type { JwtBundleSet } from './jwt-bundle.ts';

export class JwtSvidError extends Error {
  override name = 'JwtSvidError';
}

export interface JwtSvid {
  readonly id: SpiffeId;
  readonly token: string;
  readonly audience: readonly string[];
  readonly expiresAt: Date;
  readonly issuedAt: Date | undefined;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly hint: string;
}

/** JWT-SVID.md allows only these asymmetric algorithms; `none` and HMAC are refused. */
const ALGORITHMS: Readonly<Record<string, { hash: string; padding?: 'pss'; p1363?: true }>> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: { hash: 'sha256', padding: 'pss' },
  PS384: { hash: 'sha384', padding: 'pss' },
  PS512: { hash: 'sha512', padding: 'pss' },
  ES256: { hash: 'sha256', p1363: true },
  ES384: { hash: 'sha384', p1363: true },
  ES512: { hash: 'sha512', p1363: true },
};

interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  readonly signingInput: string;
  readonly signature: Buffer;
}

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new JwtSvidError(`JWT-SVID ${what} is not base64url JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JwtSvidError(`JWT-SVID ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function decode(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtSvidError('JWT-SVID is not in JWS compact serialization (three dot-separated parts)');
  const [header, payload, signature] = parts as [string, string, string];
  return {
    header: decodeSegment(header, 'header'),
    claims: decodeSegment(payload, 'payload'),
    signingInput: `${header}.${payload}`,
    signature: Buffer.from(signature, 'base64url'),
  };
}

function toDate(value: unknown, claim: string): Date {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new JwtSvidError(`JWT-SVID claim "${claim}" is not a NumericDate`);
  return new Date(value * 1000);
}

function checkStructure(decoded: DecodedJwt, token: string, hint: string): JwtSvid {
  const alg = decoded.header.alg;
  if (typeof alg !== 'string' || ALGORITHMS[alg] === undefined) {
    throw new JwtSvidError(`JWT-SVID algorithm ${JSON.stringify(alg)} is not allowed (allowed: ${Object.keys(ALGORITHMS).join(', ')})`);
  }
  const { sub, aud, exp, iat } = decoded.claims;
  if (typeof sub !== 'string') throw new JwtSvidError('JWT-SVID has no "sub" claim');
  let id: SpiffeId;
  try {
    id = SpiffeId.parse(sub);
  } catch (error) {
    throw new JwtSvidError(`JWT-SVID "sub" is not a SPIFFE ID: ${(error as Error).message}`);
  }
  const audience = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(audience) || audience.length === 0 || !audience.every((a) => typeof a === 'string')) {
    throw new JwtSvidError(`JWT-SVID for ${id} has no "aud" claim`);
  }
  if (exp === undefined) throw new JwtSvidError(`JWT-SVID for ${id} has no "exp" claim`);
  return {
    id,
    token,
    audience: audience as string[],
    expiresAt: toDate(exp, 'exp'),
    issuedAt: iat === undefined ? undefined : toDate(iat, 'iat'),
    claims: decoded.claims,
    hint,
  };
}

/**
 * Reads a JWT-SVID received from the Workload API, whose channel is already trusted: structure,
 * algorithm and claims are checked, the signature is not.
 */
export function parseJwtSvidInsecure(token: string, hint = ''): JwtSvid {
  return checkStructure(decode(token), token, hint);
}

/** Full JWT-SVID.md validation against the JWT bundle of the token's trust domain. */
export function validateJwtSvid(token: string, bundles: JwtBundleSet, audience: string, now: Date = new Date()): JwtSvid {
  const decoded = decode(token);
  const svid = checkStructure(decoded, token, '');
  const algorithm = ALGORITHMS[decoded.header.alg as string]!;
  const kid = decoded.header.kid;
  if (typeof kid !== 'string') throw new JwtSvidError(`JWT-SVID for ${svid.id} has no "kid" header`);
  const bundle = bundles.get(svid.id.trustDomain.name);
  if (bundle === undefined) throw new JwtSvidError(`no JWT bundle for trust domain ${svid.id.trustDomain.name}`);
  const key: KeyObject | undefined = bundle.keys.get(kid);
  if (key === undefined) throw new JwtSvidError(`JWT-SVID for ${svid.id}: key ${JSON.stringify(kid)} is not in the ${svid.id.trustDomain.name} bundle`);

  let valid = false;
  try {
    valid = verifySignature(
      algorithm.hash,
      Buffer.from(decoded.signingInput),
      {
        key,
        ...(algorithm.padding === 'pss' ? { padding: 2 /* RSA_PKCS1_PSS_PADDING */, saltLength: -1 } : {}),
        ...(algorithm.p1363 ? { dsaEncoding: 'ieee-p1363' as const } : {}),
      },
      decoded.signature,
    );
  } catch {
    valid = false;
  }
  if (!valid) throw new JwtSvidError(`JWT-SVID for ${svid.id}: the signature does not verify with key ${JSON.stringify(kid)}`);
  if (!svid.audience.includes(audience)) {
    throw new JwtSvidError(`JWT-SVID for ${svid.id}: audience ${JSON.stringify(audience)} is not in its "aud" claim`);
  }
  if (now.getTime() >= svid.expiresAt.getTime()) {
    throw new JwtSvidError(`JWT-SVID for ${svid.id} expired at ${svid.expiresAt.toISOString()}`);
  }
  const nbf = decoded.claims.nbf;
  if (nbf !== undefined && now.getTime() < toDate(nbf, 'nbf').getTime()) {
    throw new JwtSvidError(`JWT-SVID for ${svid.id} is not valid before ${toDate(nbf, 'nbf').toISOString()}`);
  }
  return svid;
}
