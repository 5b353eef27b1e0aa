import type { KeyObject } from 'node:crypto';
import { compactVerify } from 'jose';
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

interface Algorithm {
  /** The key an algorithm takes, so a token cannot pick how a key is used (RFC 8725 3.1). */
  readonly keyType: 'rsa' | 'ec';
  readonly curve?: string;
  readonly pss?: true;
}

/** JWT-SVID.md 2.1 allows only these asymmetric algorithms; `none` and HMAC are refused. */
const ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  RS256: { keyType: 'rsa' },
  RS384: { keyType: 'rsa' },
  RS512: { keyType: 'rsa' },
  PS256: { keyType: 'rsa', pss: true },
  PS384: { keyType: 'rsa', pss: true },
  PS512: { keyType: 'rsa', pss: true },
  ES256: { keyType: 'ec', curve: 'prime256v1' },
  ES384: { keyType: 'ec', curve: 'secp384r1' },
  ES512: { keyType: 'ec', curve: 'secp521r1' },
};

/** JWT-SVID.md 2: no other header may appear. */
const HEADERS = new Set(['alg', 'kid', 'typ']);
/** Unpadded base64url; a length of 4n+1 cannot come from any byte string. */
const BASE64URL = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$/;

interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
}

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    if (!BASE64URL.test(segment)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new JwtSvidError(`JWT-SVID ${what} is not base64url-encoded JSON`);
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
  if (!BASE64URL.test(signature)) throw new JwtSvidError('JWT-SVID signature is not base64url');
  return {
    header: decodeSegment(header, 'header'),
    claims: decodeSegment(payload, 'payload'),
  };
}

function toDate(value: unknown, claim: string, who: string): Date {
  // A number beyond what a Date can hold would become an Invalid Date, which compares false both ways.
  const date = typeof value === 'number' ? new Date(value * 1000) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new JwtSvidError(`JWT-SVID ${who}: claim "${claim}" is not a NumericDate`);
  }
  return date;
}

function checkHeader(header: Record<string, unknown>): Algorithm {
  const alg = header.alg;
  const algorithm = typeof alg === 'string' && Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg] : undefined;
  if (algorithm === undefined) {
    throw new JwtSvidError(`JWT-SVID algorithm ${JSON.stringify(alg)} is not allowed (allowed: ${Object.keys(ALGORITHMS).join(', ')})`);
  }
  const extra = Object.keys(header).filter((name) => !HEADERS.has(name));
  if (extra.length > 0) {
    throw new JwtSvidError(`JWT-SVID header has ${extra.map((name) => JSON.stringify(name)).join(', ')}; only alg, kid and typ are allowed`);
  }
  if (header.typ !== undefined && header.typ !== 'JWT' && header.typ !== 'JOSE') {
    throw new JwtSvidError(`JWT-SVID header "typ" is ${JSON.stringify(header.typ)}; it must be "JWT" or "JOSE" when set`);
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') throw new JwtSvidError('JWT-SVID header "kid" is not a string');
  return algorithm;
}

function checkStructure(decoded: DecodedJwt, token: string, hint: string): JwtSvid {
  checkHeader(decoded.header);
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
    throw new JwtSvidError(`JWT-SVID for ${id} has no "aud" claim with one or more strings`);
  }
  if (exp === undefined) throw new JwtSvidError(`JWT-SVID for ${id} has no "exp" claim`);
  return {
    id,
    token,
    audience: audience as string[],
    expiresAt: toDate(exp, 'exp', `for ${id}`),
    issuedAt: iat === undefined ? undefined : toDate(iat, 'iat', `for ${id}`),
    claims: decoded.claims,
    hint,
  };
}

/**
 * Reads a JWT-SVID received from the Workload API, whose channel is already trusted: structure,
 * header and claims are checked, the signature and times are not.
 */
export function parseJwtSvidInsecure(token: string, hint = ''): JwtSvid {
  return checkStructure(decode(token), token, hint);
}

/** RFC 7518 3.3 and 3.5: RSA keys for RS* and PS* are 2048 bits or larger. */
const MIN_RSA_BITS = 2048;

/** Why `key` cannot verify `alg`, or undefined when it can. */
function keyMisfit(key: KeyObject, alg: string, algorithm: Algorithm): string | undefined {
  if (algorithm.keyType === 'ec') {
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === algorithm.curve ? undefined : `is not a key for ${alg}`;
  }
  if (key.asymmetricKeyType !== 'rsa' && !(algorithm.pss === true && key.asymmetricKeyType === 'rsa-pss')) return `is not a key for ${alg}`;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  return bits < MIN_RSA_BITS ? `is a ${bits}-bit RSA key; ${alg} needs ${MIN_RSA_BITS} bits or more` : undefined;
}

/**
 * Full JWT-SVID.md validation against the JWT bundle of the token's trust domain: the spec's header,
 * claim and key rules here, the signature by jose.
 */
export async function validateJwtSvid(token: string, bundles: JwtBundleSet, audience: string, now: Date = new Date()): Promise<JwtSvid> {
  const decoded = decode(token);
  const svid = checkStructure(decoded, token, '');
  const fail = (why: string): never => {
    throw new JwtSvidError(`JWT-SVID for ${svid.id}: ${why}`);
  };
  const alg = decoded.header.alg as string;
  const algorithm = ALGORITHMS[alg]!;
  const kid = decoded.header.kid;
  if (typeof kid !== 'string') return fail('no "kid" header, so no key of the bundle can be chosen');
  const trustDomain = svid.id.trustDomain.name;
  const bundle = bundles.get(trustDomain);
  if (bundle === undefined) return fail(`no JWT bundle for trust domain ${trustDomain}`);
  const key = bundle.keys.get(kid);
  if (key === undefined) return fail(`key ${JSON.stringify(kid)} is not in the ${trustDomain} bundle`);
  const misfit = keyMisfit(key, alg, algorithm);
  if (misfit !== undefined) fail(`key ${JSON.stringify(kid)} ${misfit}`);

  // The signature is jose's job, held to the one algorithm the header named and the key checked above.
  let valid = false;
  try {
    await compactVerify(token, key, { algorithms: [alg] });
    valid = true;
  } catch {
    valid = false;
  }
  if (!valid) fail(`the signature does not verify with key ${JSON.stringify(kid)}`);
  checkJwtSvidClaims(svid, audience, now);
  return svid;
}

/**
 * The audience and validity-time rules of validation, alone: for a token whose signature need not be
 * checked (one just received from the Workload API) but which must still be usable now.
 */
export function checkJwtSvidClaims(svid: JwtSvid, audience: string, now: Date = new Date()): void {
  const fail = (why: string): never => {
    throw new JwtSvidError(`JWT-SVID for ${svid.id}: ${why}`);
  };
  if (!svid.audience.includes(audience)) fail(`audience ${JSON.stringify(audience)} is not in its "aud" claim`);
  if (now >= svid.expiresAt) fail(`it expired at ${svid.expiresAt.toISOString()}`);
  const nbf = svid.claims.nbf;
  if (nbf !== undefined) {
    const notBefore = toDate(nbf, 'nbf', `for ${svid.id}`);
    if (now < notBefore) fail(`it is not valid before ${notBefore.toISOString()}`);
  }
}
