import 'reflect-metadata';
import { generateKeyPairSync, randomBytes, sign, type KeyObject, type webcrypto } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const { digitalSignature, keyCertSign, cRLSign } = x509.KeyUsageFlags;
/** Key usage bits for LeafOptions.keyUsage. */
export const KeyUsage = x509.KeyUsageFlags;

/** Deliberate departures from a valid SVID, for tests of the validation rules. */
export interface LeafOptions {
  readonly ttlSeconds?: number;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** URI SANs; default: exactly the SPIFFE ID. */
  readonly uris?: readonly string[];
  readonly isCa?: boolean;
  /** undefined: digitalSignature (critical); null: no key usage extension. */
  readonly keyUsage?: number | null;
  readonly keyUsageCritical?: boolean;
  /** Sign with this key pair instead of the CA's (a forged chain). */
  readonly signer?: Authority;
  /** Put this (wrong) private key in the SVID. */
  readonly wrongKey?: boolean;
}

export interface IssuedSvid {
  readonly spiffeId: string;
  /** Leaf then intermediates, concatenated DER, as the Workload API sends it. */
  readonly chainDer: Buffer;
  /** PKCS#8 DER. */
  readonly keyDer: Buffer;
  readonly certificates: readonly Buffer[];
  readonly notAfter: Date;
}

export interface Authority {
  readonly certificate: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

function serial(): string {
  return `01${randomBytes(15).toString('hex')}`;
}

async function caExtensions(keys: CryptoKeyPair, uri: string, issuer?: Authority): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(keyCertSign | cRLSign, true),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create((issuer?.keys ?? keys).publicKey),
  ];
}

/**
 * An in-memory SPIFFE certificate authority for one trust domain: a self-signed root, an optional
 * intermediate, real EC P-256 X.509-SVIDs, and real ES256 JWT-SVIDs with the JWKS to check them.
 */
export class TestCa {
  readonly trustDomain: string;
  readonly root: Authority;
  readonly intermediate: Authority | undefined;
  readonly #jwtKey: { readonly kid: string; readonly privateKey: KeyObject; readonly publicKey: KeyObject };

  private constructor(trustDomain: string, root: Authority, intermediate: Authority | undefined) {
    this.trustDomain = trustDomain;
    this.root = root;
    this.intermediate = intermediate;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#jwtKey = { kid: randomBytes(8).toString('hex'), privateKey, publicKey };
  }

  static async create(trustDomain = 'example.org', options: { intermediate?: boolean; ttlSeconds?: number } = {}): Promise<TestCa> {
    const notBefore = new Date(Date.now() - 60_000);
    const notAfter = new Date(Date.now() + (options.ttlSeconds ?? 24 * 3600) * 1000);
    const rootKeys = await newKeys();
    const root: Authority = {
      keys: rootKeys,
      certificate: await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial(),
        name: `CN=${trustDomain} root, O=SPIFFE`,
        notBefore,
        notAfter,
        keys: rootKeys,
        signingAlgorithm: SIGNING,
        extensions: await caExtensions(rootKeys, `spiffe://${trustDomain}`),
      }),
    };
    let intermediate: Authority | undefined;
    if (options.intermediate === true) {
      const keys = await newKeys();
      intermediate = {
        keys,
        certificate: await x509.X509CertificateGenerator.create({
          serialNumber: serial(),
          subject: `CN=${trustDomain} intermediate, O=SPIFFE`,
          issuer: root.certificate.subject,
          notBefore,
          notAfter,
          publicKey: keys.publicKey,
          signingKey: rootKeys.privateKey,
          signingAlgorithm: SIGNING,
          extensions: await caExtensions(keys, `spiffe://${trustDomain}`, root),
        }),
      };
    }
    return new TestCa(trustDomain, root, intermediate);
  }

  /** The trust domain's X.509 bundle as concatenated DER. */
  bundleDer(): Buffer {
    return Buffer.from(this.root.certificate.rawData);
  }

  bundlePem(): string {
    return this.root.certificate.toString('pem');
  }

  async issueSvid(spiffeId: string, options: LeafOptions = {}): Promise<IssuedSvid> {
    const issuer = options.signer ?? this.intermediate ?? this.root;
    const keys = await newKeys();
    const notBefore = options.notBefore ?? new Date(Date.now() - 10_000);
    const notAfter = options.notAfter ?? new Date(Date.now() + (options.ttlSeconds ?? 3600) * 1000);
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(options.isCa ?? false, undefined, true),
      new x509.SubjectAlternativeNameExtension(
        (options.uris ?? [spiffeId]).map((value) => ({ type: 'url' as const, value })),
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
    ];
    if (options.keyUsage !== null) {
      extensions.push(new x509.KeyUsagesExtension(options.keyUsage ?? digitalSignature, options.keyUsageCritical ?? true));
    }
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: 'O=SPIFFE',
      issuer: issuer.certificate.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: issuer.keys.privateKey,
      signingAlgorithm: SIGNING,
      extensions,
    });
    const chain = [leaf, ...(issuer === this.intermediate ? [this.intermediate] : [])].map((c) =>
      Buffer.from('rawData' in c ? c.rawData : c.certificate.rawData),
    );
    const keyPair = options.wrongKey === true ? await newKeys() : keys;
    const keyDer = Buffer.from(await crypto.subtle.exportKey('pkcs8', keyPair.privateKey));
    return { spiffeId, chainDer: Buffer.concat(chain), keyDer, certificates: chain, notAfter };
  }

  /** The JWKS document of the JWT authority, as SPIRE serves it: no `use` member. */
  jwks(): Buffer {
    const jwk = this.#jwtKey.publicKey.export({ format: 'jwk' });
    return Buffer.from(JSON.stringify({ keys: [{ ...jwk, kid: this.#jwtKey.kid }] }));
  }

  get jwtKeyId(): string {
    return this.#jwtKey.kid;
  }

  /** A real ES256 JWT-SVID; `claims` overrides or adds claims, `header` the JOSE header. */
  issueJwt(
    spiffeId: string,
    audience: readonly string[],
    options: { ttlSeconds?: number; claims?: Record<string, unknown>; header?: Record<string, unknown>; key?: KeyObject } = {},
  ): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'ES256', typ: 'JWT', kid: this.#jwtKey.kid, ...options.header };
    const claims = { sub: spiffeId, aud: [...audience], iat: now, exp: now + (options.ttlSeconds ?? 300), ...options.claims };
    const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature = sign('sha256', Buffer.from(input), { key: options.key ?? this.#jwtKey.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }
}
