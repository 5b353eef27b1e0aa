import { createCipheriv, createHash, createHmac, pbkdf2Sync, type X509Certificate } from 'node:crypto';
import { NULL, bmpString, explicit, integer, octetString, oid, sequence, set } from '../../spiffe/der/write.ts';

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
  data: '1.2.840.113549.1.7.1',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
} as const;

/** Java 17's default for both the key and the MAC (keystore.pkcs12.*IterationCount). */
const ITERATIONS = 10_000;

export interface KeystoreEntry {
  /** The entry's name (friendlyName): Java's alias. */
  readonly alias: string;
  /** PKCS#8 DER. */
  readonly privateKeyDer: Uint8Array;
  /** Leaf first. */
  readonly chain: readonly X509Certificate[];
}

export interface TrustedCertificate {
  readonly alias: string;
  readonly certificate: X509Certificate;
}

/**
 * Salts and the IV are derived from the password and the content instead of drawn at random, so
 * the same key and certificates give the same bytes: an unchanged update leaves the file set
 * unchanged and the program is not told. They stay unpredictable without the password.
 */
function derive(password: string, purpose: string, content: Uint8Array, length: number): Buffer {
  return createHmac('sha256', password).update(purpose).update(content).digest().subarray(0, length);
}

/** PKCS12Attribute: an OID and its one value. */
const attribute = (id: string, value: Uint8Array): Buffer => sequence(oid(id), set(value));
const friendlyName = (name: string): Buffer => attribute(OID.friendlyName, bmpString(name));
const localKeyId = (id: Uint8Array): Buffer => attribute(OID.localKeyId, octetString(id));

/** SafeBag: the bag type, its value, and its attributes (a SET OF, left out when empty). */
const safeBag = (type: string, value: Uint8Array, attributes: readonly Uint8Array[]): Buffer =>
  sequence(oid(type), explicit(0, value), ...(attributes.length > 0 ? [set(...attributes)] : []));

const certBag = (certificate: X509Certificate, attributes: readonly Uint8Array[]): Buffer =>
  safeBag(OID.certBag, sequence(oid(OID.x509Certificate), explicit(0, octetString(certificate.raw))), attributes);

/** EncryptedPrivateKeyInfo: PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC (RFC 8018 6.2, A.4). */
function shroudedKeyBag(pkcs8: Uint8Array, password: string, attributes: readonly Uint8Array[]): Buffer {
  const salt = derive(password, 'key salt', pkcs8, 16);
  const iv = derive(password, 'key iv', pkcs8, 16);
  const aesKey = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, ITERATIONS, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', aesKey, iv);
  const encrypted = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  const pbes2Params = sequence(
    sequence(oid(OID.pbkdf2), sequence(octetString(salt), integer(ITERATIONS), sequence(oid(OID.hmacWithSha256), NULL))),
    sequence(oid(OID.aes256Cbc), octetString(iv)),
  );
  return safeBag(OID.pkcs8ShroudedKeyBag, sequence(sequence(oid(OID.pbes2), pbes2Params), octetString(encrypted)), attributes);
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

/** ContentInfo of type data: the content DER in an OCTET STRING. */
const dataContent = (content: Uint8Array): Buffer => sequence(oid(OID.data), explicit(0, octetString(content)));

/** PFX: the bags as one unencrypted SafeContents, then the MAC over the AuthenticatedSafe. */
function pfx(bags: readonly Uint8Array[], password: string): Uint8Array {
  const authenticatedSafe = sequence(dataContent(sequence(...bags)));
  const macSalt = derive(password, 'mac salt', authenticatedSafe, 16);
  const macKey = pkcs12Kdf(password, macSalt, ITERATIONS, 3, 32);
  const mac = createHmac('sha256', macKey).update(authenticatedSafe).digest();
  const macData = sequence(sequence(sequence(oid(OID.sha256), NULL), octetString(mac)), octetString(macSalt), integer(ITERATIONS));
  return new Uint8Array(sequence(integer(3), dataContent(authenticatedSafe), macData));
}

/** A keystore with one private-key entry: the key and its chain, named `alias`. */
export function keystorePkcs12(entry: KeystoreEntry, password: string): Uint8Array {
  const [leaf, ...rest] = entry.chain;
  if (leaf === undefined) throw new Error(`keystore entry ${entry.alias} has no certificate`);
  // Ties the key to its leaf; the leaf's SHA-1 is what OpenSSL uses.
  const keyId = createHash('sha1').update(leaf.raw).digest();
  return pfx(
    [
      shroudedKeyBag(entry.privateKeyDer, password, [friendlyName(entry.alias), localKeyId(keyId)]),
      certBag(leaf, [friendlyName(entry.alias), localKeyId(keyId)]),
      ...rest.map((certificate) => certBag(certificate, [])),
    ],
    password,
  );
}

/** A truststore: each certificate a trusted-certificate entry (what keytool -importcert makes). */
export function truststorePkcs12(trusted: readonly TrustedCertificate[], password: string): Uint8Array {
  const anyUsage = oid(OID.anyExtendedKeyUsage);
  return pfx(
    trusted.map(({ alias, certificate }) => certBag(certificate, [friendlyName(alias), attribute(OID.javaTrustedKeyUsage, anyUsage)])),
    password,
  );
}
