import { createCipheriv, createHash, createHmac, pbkdf2Sync, type KeyObject, type X509Certificate } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { ContentInfo, id_data } from '@peculiar/asn1-cms';
import { DigestInfo } from '@peculiar/asn1-rsa';
import {
  AuthenticatedSafe, CertBag, MacData, PFX, PKCS12Attribute, PKCS8ShroudedKeyBag, SafeBag, SafeContents,
  id_certBag, id_pkcs8ShroudedKeyBag, id_x509Certificate,
} from '@peculiar/asn1-pfx';
import { BmpString, Null, ObjectIdentifier, OctetString as DerOctetString, Integer, Sequence } from 'asn1js';

// PKCS#12 (RFC 7292) as Java 17 and OpenSSL 3 both read it by default: the key encrypted with PBES2
// (PBKDF2 with HMAC-SHA-256, AES-256-CBC, RFC 8018), certificates in the clear (they are public), and
// an HMAC-SHA-256 MAC over the whole. Java 17 cannot check a PBMAC1 MAC (RFC 9579), so the MAC key
// comes from RFC 7292's own key derivation (appendix B), which both read.

const OID = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSha256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  sha256: '2.16.840.1.101.3.4.2.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  /** Java's "trusted key usage": a certificate bag carrying it is a trusted-certificate entry in Java's KeyStore. */
  javaTrustedKeyUsage: '2.16.840.1.113894.746875.1.1',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const;

/** Java 17's default for both the key and the MAC (keystore.pkcs12.*IterationCount). */
const ITERATIONS = 10_000;

export interface KeystoreEntry {
  /** The entry's name (friendlyName): Java's alias. */
  readonly alias: string;
  readonly privateKey: KeyObject;
  /** Leaf first. */
  readonly chain: readonly X509Certificate[];
}

export interface TrustedCertificate {
  readonly alias: string;
  readonly certificate: X509Certificate;
}

const der = (value: { toBER(): ArrayBuffer }): ArrayBuffer => value.toBER();
const bytes = (buffer: ArrayBuffer | Uint8Array): Buffer => Buffer.from(buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer));
/** A copy: a Buffer's own ArrayBuffer may be a shared pool. */
const toArrayBuffer = (buffer: Uint8Array): ArrayBuffer => new Uint8Array(buffer).buffer;

/**
 * Salts and the IV are derived from the password and the content instead of drawn at random, so
 * the same key and certificates give the same bytes: an unchanged update leaves the file set
 * unchanged and the program is not told. They stay unpredictable without the password.
 */
function derive(password: string, purpose: string, content: Uint8Array, length: number): Buffer {
  return createHmac('sha256', password).update(purpose).update(content).digest().subarray(0, length);
}

function attribute(id: string, value: ArrayBuffer): PKCS12Attribute {
  // Assigned afterwards: PKCS12Attribute's constructor (asn1-pfx 2.x) drops its parameters.
  return Object.assign(new PKCS12Attribute(), { attrId: id, attrValues: [value] });
}

const friendlyName = (name: string): PKCS12Attribute => attribute(OID.friendlyName, der(new BmpString({ value: name })));
const localKeyId = (id: Uint8Array): PKCS12Attribute => attribute(OID.localKeyId, der(new DerOctetString({ valueHex: toArrayBuffer(id) })));

function certBag(certificate: X509Certificate, attributes: PKCS12Attribute[]): SafeBag {
  const bag = new CertBag({ certId: id_x509Certificate, certValue: AsnConvert.serialize(new OctetString(toArrayBuffer(certificate.raw))) });
  return new SafeBag({ bagId: id_certBag, bagValue: AsnConvert.serialize(bag), ...(attributes.length > 0 ? { bagAttributes: attributes } : {}) });
}

/** EncryptedPrivateKeyInfo: PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC (RFC 8018 6.2, A.4). */
function shroudedKeyBag(key: KeyObject, password: string, attributes: PKCS12Attribute[]): SafeBag {
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const salt = derive(password, 'key salt', pkcs8, 16);
  const iv = derive(password, 'key iv', pkcs8, 16);
  const aesKey = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, ITERATIONS, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', aesKey, iv);
  const encrypted = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  const pbes2Params = new Sequence({
    value: [
      new Sequence({
        value: [
          new ObjectIdentifier({ value: OID.pbkdf2 }),
          new Sequence({
            value: [
              new DerOctetString({ valueHex: toArrayBuffer(salt) }),
              new Integer({ value: ITERATIONS }),
              new Sequence({ value: [new ObjectIdentifier({ value: OID.hmacWithSha256 }), new Null()] }),
            ],
          }),
        ],
      }),
      new Sequence({ value: [new ObjectIdentifier({ value: OID.aes256Cbc }), new DerOctetString({ valueHex: toArrayBuffer(iv) })] }),
    ],
  });
  const bag = new PKCS8ShroudedKeyBag({
    encryptionAlgorithm: new AlgorithmIdentifier({ algorithm: OID.pbes2, parameters: der(pbes2Params) }),
    encryptedData: new OctetString(toArrayBuffer(encrypted)),
  });
  return new SafeBag({ bagId: id_pkcs8ShroudedKeyBag, bagValue: AsnConvert.serialize(bag), bagAttributes: attributes });
}

/**
 * RFC 7292 appendix B.2 with SHA-256 (u = 32, v = 64 bytes): the MAC key (ID 3) from the password
 * as a NUL-terminated big-endian UTF-16 string.
 */
function pkcs12Kdf(password: string, salt: Uint8Array, iterations: number, id: number, length: number): Buffer {
  const u = 32;
  const v = 64;
  const pass = Buffer.from(`${password}\0`, 'utf16le').swap16();
  const fill = (source: Uint8Array): Buffer => {
    const out = Buffer.alloc(source.length === 0 ? 0 : v * Math.ceil(source.length / v));
    for (let i = 0; i < out.length; i++) out[i] = source[i % source.length]!;
    return out;
  };
  const d = Buffer.alloc(v, id);
  const input = Buffer.concat([fill(salt), fill(pass)]);
  const output: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let a = createHash('sha256').update(d).update(input).digest();
    for (let r = 1; r < iterations; r++) a = createHash('sha256').update(a).digest();
    output.push(a);
    const b = fill(a);
    // I_j = (I_j + B + 1) mod 2^(8v), for every v-byte block of I.
    for (let j = 0; j < input.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = input[j + k]! + b[k]! + carry;
        input[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(output).subarray(0, length);
}

function pfx(bags: SafeBag[], password: string): Uint8Array {
  const safeContents = AsnConvert.serialize(new SafeContents(bags));
  const authenticatedSafe = AsnConvert.serialize(
    new AuthenticatedSafe([new ContentInfo({ contentType: id_data, content: AsnConvert.serialize(new OctetString(safeContents)) })]),
  );
  const macSalt = derive(password, 'mac salt', bytes(authenticatedSafe), 16);
  const macKey = pkcs12Kdf(password, macSalt, ITERATIONS, 3, 32);
  const mac = createHmac('sha256', macKey).update(bytes(authenticatedSafe)).digest();
  const result = new PFX({
    version: 3,
    authSafe: new ContentInfo({ contentType: id_data, content: AsnConvert.serialize(new OctetString(authenticatedSafe)) }),
    macData: new MacData({
      mac: new DigestInfo({ digestAlgorithm: new AlgorithmIdentifier({ algorithm: OID.sha256, parameters: null }), digest: new OctetString(toArrayBuffer(mac)) }),
      macSalt: new OctetString(toArrayBuffer(macSalt)),
      iterations: ITERATIONS,
    }),
  });
  return new Uint8Array(AsnConvert.serialize(result));
}

/** A keystore with one private-key entry: the key and its chain, named `alias`. */
export function keystorePkcs12(entry: KeystoreEntry, password: string): Uint8Array {
  const [leaf, ...rest] = entry.chain;
  if (leaf === undefined) throw new Error(`keystore entry ${entry.alias} has no certificate`);
  // Ties the key to its leaf; the leaf's SHA-1 is what OpenSSL uses.
  const keyId = createHash('sha1').update(leaf.raw).digest();
  return pfx(
    [
      shroudedKeyBag(entry.privateKey, password, [friendlyName(entry.alias), localKeyId(keyId)]),
      certBag(leaf, [friendlyName(entry.alias), localKeyId(keyId)]),
      ...rest.map((certificate) => certBag(certificate, [])),
    ],
    password,
  );
}

/** A truststore: each certificate a trusted-certificate entry (what keytool -importcert makes). */
export function truststorePkcs12(trusted: readonly TrustedCertificate[], password: string): Uint8Array {
  const anyUsage = der(new ObjectIdentifier({ value: OID.anyExtendedKeyUsage }));
  return pfx(
    trusted.map(({ alias, certificate }) => certBag(certificate, [friendlyName(alias), attribute(OID.javaTrustedKeyUsage, anyUsage)])),
    password,
  );
}
