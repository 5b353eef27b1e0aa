import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { SpiffeId, TrustDomain } from '../svid/index.ts';
import { issueCertificate, type Name } from './certificate.ts';

/** The CA outlives any development session; the SVIDs it signs are short-lived. */
const ROOT_LIFETIME_MS = 365 * 24 * 3600 * 1000;
/** Backdated as SPIRE does, so a peer whose clock runs a little behind still accepts a new SVID. */
const BACKDATE_MS = 10_000;

/** One X.509-SVID as the Workload API sends it. */
export interface IssuedX509Svid {
  readonly spiffeId: string;
  /** Leaf DER (there are no intermediates). */
  readonly chainDer: Buffer;
  /** PKCS#8 DER. */
  readonly keyDer: Buffer;
  readonly notAfter: Date;
}

interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

const newKeyPair = (): KeyPair => generateKeyPairSync('ec', { namedCurve: 'P-256' });

/**
 * An in-memory certificate and JWT authority for one trust domain, made at start and gone at exit:
 * a self-signed ECDSA P-256 root, X.509-SVIDs signed by it, and ES256 JWT-SVIDs with the JWKS that
 * checks them. Nothing about a caller is attested: what it asks for, it gets.
 */
export class DevCa {
  readonly trustDomain: TrustDomain;
  readonly #root: KeyPair & { readonly der: Buffer; readonly name: Name };
  readonly #jwt: KeyPair & { readonly kid: string };

  constructor(trustDomain: TrustDomain) {
    this.trustDomain = trustDomain;
    const root = newKeyPair();
    const now = Date.now();
    const name: Name = [['O', 'SPIFFE'], ['CN', `${trustDomain.name} development CA`]];
    const der = issueCertificate({
      ...root,
      signingKey: root.privateKey,
      issuerPublicKey: root.publicKey,
      issuer: name,
      subject: name,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + ROOT_LIFETIME_MS),
      uri: trustDomain.idString(),
      isCa: true,
    });
    this.#root = { ...root, der, name };
    this.#jwt = { ...newKeyPair(), kid: randomBytes(16).toString('base64url') };
  }

  /** The X.509 bundle: the root's DER. */
  bundleDer(): Buffer {
    return this.#root.der;
  }

  /** The JWT bundle as the Workload API sends it: a JWKS document (no `use`, as SPIRE serves it). */
  jwks(): Buffer {
    return Buffer.from(JSON.stringify({ keys: [{ ...this.#jwt.publicKey.export({ format: 'jwk' }), kid: this.#jwt.kid }] }));
  }

  issueX509Svid(spiffeId: SpiffeId, ttlSeconds: number): IssuedX509Svid {
    const keys = newKeyPair();
    const now = Date.now();
    const notAfter = new Date(now + ttlSeconds * 1000);
    const chainDer = issueCertificate({
      publicKey: keys.publicKey,
      signingKey: this.#root.privateKey,
      issuerPublicKey: this.#root.publicKey,
      issuer: this.#root.name,
      subject: [['O', 'SPIFFE']],
      notBefore: new Date(now - BACKDATE_MS),
      notAfter,
      uri: spiffeId.toString(),
      isCa: false,
    });
    return { spiffeId: spiffeId.toString(), chainDer, keyDer: keys.privateKey.export({ type: 'pkcs8', format: 'der' }), notAfter };
  }

  /** An ES256 JWT-SVID for these audiences (JWT-SVID.md: sub, aud, exp; iat too). */
  issueJwtSvid(spiffeId: SpiffeId, audience: readonly string[], ttlSeconds: number): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'ES256', typ: 'JWT', kid: this.#jwt.kid };
    const claims = { sub: spiffeId.toString(), aud: [...audience], iat: now, exp: now + ttlSeconds };
    const input = [header, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.');
    const signature = sign('sha256', Buffer.from(input), { key: this.#jwt.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }
}
