import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  KeyUsage,
  KeyUsageFlags,
  SubjectAlternativeName,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectAltName,
} from '@peculiar/asn1-x509';

/**
 * The certificate facts X509-SVID.md rules on that node:crypto's X509Certificate does not expose:
 * key usage bits and their criticality, the cA flag, and the URI SANs exactly as encoded.
 */
export interface SvidExtensions {
  readonly isCa: boolean;
  /** undefined when the extension is absent. */
  readonly keyUsage: { readonly critical: boolean; readonly flags: number } | undefined;
  readonly uriSans: readonly string[];
}

export const KEY_USAGE = {
  digitalSignature: KeyUsageFlags.digitalSignature,
  keyCertSign: KeyUsageFlags.keyCertSign,
  cRLSign: KeyUsageFlags.cRLSign,
} as const;

export function readSvidExtensions(der: Uint8Array): SvidExtensions {
  const certificate = AsnConvert.parse(der, Certificate);
  let isCa = false;
  let keyUsage: SvidExtensions['keyUsage'];
  const uriSans: string[] = [];
  for (const extension of certificate.tbsCertificate.extensions ?? []) {
    const value = extension.extnValue.buffer;
    if (extension.extnID === id_ce_basicConstraints) {
      isCa = AsnConvert.parse(value, BasicConstraints).cA;
    } else if (extension.extnID === id_ce_keyUsage) {
      keyUsage = { critical: extension.critical, flags: AsnConvert.parse(value, KeyUsage).toNumber() };
    } else if (extension.extnID === id_ce_subjectAltName) {
      for (const name of AsnConvert.parse(value, SubjectAlternativeName)) {
        if (name.uniformResourceIdentifier !== undefined) uriSans.push(name.uniformResourceIdentifier);
      }
    }
  }
  return { isCa, keyUsage, uriSans };
}
