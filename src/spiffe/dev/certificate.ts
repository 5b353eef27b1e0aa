/**
 * X.509 v3 certificates for the development CA, written with node:crypto and the project's DER
 * encoder: an ECDSA P-256 root and X509-SVID leaves, with exactly the extensions the X509-SVID
 * standard asks for. No ASN.1 library is loaded (start-up and memory are features).
 */
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { bitString, boolean, explicit, implicit, integer, octetString, oid, sequence, set, time, unsignedInteger, utf8String } from '../der/write.ts';

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const ORGANIZATION = '2.5.4.10';
const COMMON_NAME = '2.5.4.3';

/** keyUsage bits (RFC 5280 4.2.1.3), as one BIT STRING octet and its padding. */
const DIGITAL_SIGNATURE = bitString(Buffer.from([0x80]), 7);
const KEY_CERT_SIGN_CRL_SIGN = bitString(Buffer.from([0x06]), 1);

/** A distinguished name: organization and common name attributes, in order. */
export type Name = readonly (readonly [type: 'O' | 'CN', value: string])[];

export interface CertificateFields {
  /** The subject's public key. */
  readonly publicKey: KeyObject;
  /** The issuer's key; the subject's own for a self-signed root. */
  readonly signingKey: KeyObject;
  readonly issuerPublicKey: KeyObject;
  readonly issuer: Name;
  readonly subject: Name;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The one URI SAN: the SPIFFE ID (of the trust domain for a CA). */
  readonly uri: string;
  readonly isCa: boolean;
}

function name(attributes: Name): Buffer {
  return sequence(...attributes.map(([type, value]) => set(sequence(oid(type === 'O' ? ORGANIZATION : COMMON_NAME), utf8String(value)))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

/** RFC 5280 4.2.1.2, method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // For a P-256 key the BIT STRING is the SPKI's last 65 octets (uncompressed point).
  return createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
}

/** A positive 128-bit serial number (RFC 5280 allows up to 20 octets). */
function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return unsignedInteger(bytes);
}

/** The certificate's DER: TBSCertificate signed by `signingKey` with ECDSA-SHA256. */
export function issueCertificate(fields: CertificateFields): Buffer {
  const extensions = [
    extension('2.5.29.19', true, fields.isCa ? sequence(boolean(true)) : sequence()),
    extension('2.5.29.15', true, fields.isCa ? KEY_CERT_SIGN_CRL_SIGN : DIGITAL_SIGNATURE),
    // A leaf's subject is empty-ish (O=SPIFFE) so its SAN carries the identity; RFC 5280 then wants it critical.
    extension('2.5.29.17', !fields.isCa, sequence(implicit(6, Buffer.from(fields.uri, 'ascii')))),
    extension('2.5.29.14', false, octetString(keyIdentifier(fields.publicKey))),
    extension('2.5.29.35', false, sequence(implicit(0, keyIdentifier(fields.issuerPublicKey)))),
  ];
  const tbs = sequence(
    explicit(0, integer(2)), // v3
    serialNumber(),
    ECDSA_WITH_SHA256,
    name(fields.issuer),
    sequence(time(fields.notBefore), time(fields.notAfter)),
    name(fields.subject),
    fields.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...extensions)),
  );
  return sequence(tbs, ECDSA_WITH_SHA256, bitString(sign('sha256', tbs, fields.signingKey)));
}
