/**
 * A small in-memory PKI for the svid tests: authorities that issue intermediates and leaves, each of
 * which can break one X509-SVID.md rule on purpose, and JWT signers for every JWT-SVID algorithm.
 */
import 'reflect-metadata';
import { generateKeyPairSync, randomBytes, sign, constants, type KeyObject, type webcrypto } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

type CryptoKeyPair = webcrypto.CryptoKeyPair;
export const KeyUsage = x509.KeyUsageFlags;
export const Purpose = x509.ExtendedKeyUsage;

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const RSA_2048 = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as const;
const HOUR = 3600_000;

/** Departures from a valid certificate; each test sets the one it is about. */
export interface CertOptions {
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** URI SANs; default: the SPIFFE ID given (none for an authority without one). */
  readonly uris?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly sanCritical?: boolean;
  /** undefined: the usual value; null: leave the extension out. */
  readonly isCa?: boolean | null;
  readonly pathLength?: number;
  readonly keyUsage?: number | null;
  readonly keyUsageCritical?: boolean;
  readonly purposes?: readonly string[] | null;
  /** "" for an empty subject. */
  readonly subject?: string;
  readonly rsa?: boolean;
  /** Name constraints as [permitted, excluded] URI or DNS subtrees. */
  readonly nameConstraints?: { readonly permittedUris?: readonly string[]; readonly excludedUris?: readonly string[]; readonly permittedDns?: readonly string[]; readonly permittedEmail?: readonly string[] };
  /** Adds a critical extension nobody understands. */
  readonly unknownCriticalExtension?: boolean;
  /** Appended after the usual extensions, e.g. a second instance of one of them. */
  readonly extraExtensions?: readonly x509.Extension[];
}

export interface IssuedLeaf {
  readonly der: Buffer;
  /** PKCS#8 DER of the leaf's key. */
  readonly keyDer: Buffer;
}

async function newKeys(rsa = false): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(rsa ? RSA_2048 : EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

function nameConstraints(options: NonNullable<CertOptions['nameConstraints']>): x509.Extension {
  const subtrees = (names: readonly GeneralName[]) =>
    names.length === 0 ? undefined : new GeneralSubtrees(names.map((base) => new GeneralSubtree({ base })));
  const value = new NameConstraints({
    permittedSubtrees: subtrees([
      ...(options.permittedUris ?? []).map((uri) => new GeneralName({ uniformResourceIdentifier: uri })),
      ...(options.permittedDns ?? []).map((dns) => new GeneralName({ dNSName: dns })),
      ...(options.permittedEmail ?? []).map((email) => new GeneralName({ rfc822Name: email })),
    ]),
    excludedSubtrees: subtrees((options.excludedUris ?? []).map((uri) => new GeneralName({ uniformResourceIdentifier: uri }))),
  });
  return new x509.Extension('2.5.29.30', true, AsnConvert.serialize(value));
}

async function extensions(keys: CryptoKeyPair, signer: CryptoKeyPair, defaults: { ca: boolean; uris: readonly string[] }, o: CertOptions): Promise<x509.Extension[]> {
  const list: x509.Extension[] = [];
  const isCa = o.isCa === undefined ? defaults.ca : o.isCa;
  if (isCa !== null) list.push(new x509.BasicConstraintsExtension(isCa, o.pathLength, true));
  const usage = o.keyUsage === undefined ? (defaults.ca ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature) : o.keyUsage;
  if (usage !== null) list.push(new x509.KeyUsagesExtension(usage, o.keyUsageCritical ?? true));
  const purposes = o.purposes === undefined ? (defaults.ca ? null : [Purpose.serverAuth, Purpose.clientAuth]) : o.purposes;
  if (purposes !== null) list.push(new x509.ExtendedKeyUsageExtension([...purposes], false));
  const names = [
    ...(o.uris ?? defaults.uris).map((value) => ({ type: 'url' as const, value })),
    ...(o.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
  ];
  if (names.length > 0) list.push(new x509.SubjectAlternativeNameExtension(names, o.sanCritical ?? false));
  if (o.nameConstraints !== undefined) list.push(nameConstraints(o.nameConstraints));
  if (o.unknownCriticalExtension === true) list.push(new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([0x05, 0x00])));
  list.push(...(o.extraExtensions ?? []));
  list.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  list.push(await x509.AuthorityKeyIdentifierExtension.create(signer.publicKey));
  return list;
}

function serial(): string {
  return `01${randomBytes(15).toString('hex')}`;
}

/** A CA certificate and its keys: a trust domain's root, or an intermediate below one. */
export class Authority {
  readonly certificate: x509.X509Certificate;
  readonly keys: CryptoKeyPair;

  private constructor(certificate: x509.X509Certificate, keys: CryptoKeyPair) {
    this.certificate = certificate;
    this.keys = keys;
  }

  /** A self-signed root with the SPIFFE ID of `trustDomain`. */
  static async root(trustDomain: string, options: CertOptions = {}): Promise<Authority> {
    const keys = await newKeys(options.rsa);
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: options.subject ?? `CN=${trustDomain} root ${randomBytes(4).toString('hex')}`,
      notBefore: options.notBefore ?? new Date(Date.now() - HOUR),
      notAfter: options.notAfter ?? new Date(Date.now() + 24 * HOUR),
      keys,
      signingAlgorithm: options.rsa === true ? RSA_2048 : ECDSA_SHA256,
      extensions: await extensions(keys, keys, { ca: true, uris: [`spiffe://${trustDomain}`] }, options),
    });
    return new Authority(certificate, keys);
  }

  /** DER, as a bundle carries it. */
  get der(): Buffer {
    return Buffer.from(this.certificate.rawData);
  }

  async #issue(keys: CryptoKeyPair, subject: string, defaults: { ca: boolean; uris: readonly string[] }, options: CertOptions): Promise<x509.X509Certificate> {
    return x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: options.subject ?? subject,
      issuer: this.certificate.subject,
      notBefore: options.notBefore ?? new Date(Date.now() - HOUR),
      notAfter: options.notAfter ?? new Date(Date.now() + 12 * HOUR),
      publicKey: keys.publicKey,
      signingKey: this.keys.privateKey,
      signingAlgorithm: this.keys.privateKey.algorithm.name === 'ECDSA' ? ECDSA_SHA256 : RSA_2048,
      extensions: await extensions(keys, this.keys, defaults, options),
    });
  }

  /** An intermediate CA signed by this authority; `uris` default: none. */
  async intermediate(options: CertOptions = {}): Promise<Authority> {
    const keys = await newKeys(options.rsa);
    const certificate = await this.#issue(keys, `CN=intermediate ${randomBytes(4).toString('hex')}`, { ca: true, uris: [] }, options);
    return new Authority(certificate, keys);
  }

  async leaf(spiffeId: string, options: CertOptions = {}): Promise<IssuedLeaf> {
    const keys = await newKeys(options.rsa);
    const certificate = await this.#issue(keys, 'O=SPIFFE', { ca: false, uris: [spiffeId] }, options);
    return { der: Buffer.from(certificate.rawData), keyDer: Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)) };
  }
}

/** A (further) key usage extension, for certificates that carry it twice. */
export function keyUsageExtension(flags: number): x509.Extension {
  return new x509.KeyUsagesExtension(flags, true);
}

/** A fresh PKCS#8 key that belongs to no certificate. */
export async function strayKeyDer(): Promise<Buffer> {
  return Buffer.from(await crypto.subtle.exportKey('pkcs8', (await newKeys()).privateKey));
}

/** A JWT-SVID signing key for one JOSE algorithm, as a trust domain's JWT authority holds it. */
export interface JwtSigner {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

const JWT_KEYS: Record<string, () => { privateKey: KeyObject; publicKey: KeyObject }> = {
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ES384: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  ES512: () => generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
};

/** `alg` decides the key type: ES* get their curve, RS* and PS* an RSA key. */
export function jwtSigner(alg: string, kid = randomBytes(6).toString('hex')): JwtSigner {
  const make = JWT_KEYS[alg] ?? JWT_KEYS.RS256!;
  return { alg, kid, ...make() };
}

/** The JWKS of `signers` as SPIRE's Workload API serves it: no `use` member. */
export function jwks(signers: readonly JwtSigner[], extra: Record<string, unknown> = {}): Buffer {
  const keys = signers.map((signer) => ({ ...signer.publicKey.export({ format: 'jwk' }), kid: signer.kid, ...extra }));
  return Buffer.from(JSON.stringify({ keys }));
}

const HASHES: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * A signed JWT-SVID. `claims` and `header` override the defaults (a key set to undefined is left
 * out); `signWith` signs with another key than the signer's, as a forger would.
 */
export function signJwt(
  signer: JwtSigner,
  sub: string,
  aud: string | readonly string[],
  options: { claims?: Record<string, unknown>; header?: Record<string, unknown>; signWith?: KeyObject } = {},
): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: signer.alg, kid: signer.kid, typ: 'JWT', ...options.header };
  const claims = { sub, aud, iat: now, exp: now + 300, ...options.claims };
  const input = `${b64(header)}.${b64(claims)}`;
  const family = signer.alg.slice(0, 2);
  const signature = sign(HASHES[signer.alg.slice(2)] ?? 'sha256', Buffer.from(input), {
    key: options.signWith ?? signer.privateKey,
    ...(family === 'ES' ? { dsaEncoding: 'ieee-p1363' as const } : {}),
    ...(family === 'PS' ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : {}),
  });
  return `${input}.${signature.toString('base64url')}`;
}
