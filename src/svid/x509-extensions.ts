import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  KeyUsage,
  KeyUsageFlags,
  NameConstraints,
  SubjectAlternativeName,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_nameConstraints,
  id_ce_subjectAltName,
  type GeneralName,
} from '@peculiar/asn1-x509';

/**
 * The certificate facts X509-SVID.md rules on that node:crypto's X509Certificate does not expose:
 * key usage bits and their criticality, basic constraints, the SANs exactly as encoded, name
 * constraints, and which critical extensions nobody here understands (RFC 5280 6.1.4 (o)).
 */
export interface SvidExtensions {
  readonly isCa: boolean;
  readonly pathLength: number | undefined;
  /** undefined when the extension is absent. */
  readonly keyUsage: { readonly critical: boolean; readonly flags: number } | undefined;
  /** Key purpose OIDs; undefined when the extension is absent. */
  readonly extKeyUsage: readonly string[] | undefined;
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
  readonly sanCritical: boolean;
  readonly subjectEmpty: boolean;
  readonly nameConstraints: { readonly permitted: readonly GeneralName[]; readonly excluded: readonly GeneralName[] } | undefined;
  /** OIDs of critical extensions this module does not process. */
  readonly unknownCritical: readonly string[];
}

export const KEY_USAGE = {
  digitalSignature: KeyUsageFlags.digitalSignature,
  keyCertSign: KeyUsageFlags.keyCertSign,
  cRLSign: KeyUsageFlags.cRLSign,
} as const;

export const KEY_PURPOSE = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

/** Throws on a certificate that is not valid X.509 DER or repeats an extension. */
export function readSvidExtensions(der: Uint8Array): SvidExtensions {
  const certificate = AsnConvert.parse(der, Certificate);
  let isCa = false;
  let pathLength: number | undefined;
  let keyUsage: SvidExtensions['keyUsage'];
  let extKeyUsage: string[] | undefined;
  const uriSans: string[] = [];
  const dnsSans: string[] = [];
  let sanCritical = false;
  let nameConstraints: SvidExtensions['nameConstraints'];
  const unknownCritical: string[] = [];
  const seen = new Set<string>();
  for (const extension of certificate.tbsCertificate.extensions ?? []) {
    // RFC 5280 4.2: with two instances, which one a validator reads would decide the outcome.
    if (seen.has(extension.extnID)) throw new Error(`extension ${extension.extnID} appears more than once`);
    seen.add(extension.extnID);
    const value = extension.extnValue.buffer;
    switch (extension.extnID) {
      case id_ce_basicConstraints: {
        const constraints = AsnConvert.parse(value, BasicConstraints);
        isCa = constraints.cA;
        pathLength = constraints.pathLenConstraint;
        break;
      }
      case id_ce_keyUsage:
        keyUsage = { critical: extension.critical, flags: AsnConvert.parse(value, KeyUsage).toNumber() };
        break;
      case id_ce_extKeyUsage:
        extKeyUsage = [...AsnConvert.parse(value, ExtendedKeyUsage)];
        break;
      case id_ce_subjectAltName:
        sanCritical = extension.critical;
        for (const name of AsnConvert.parse(value, SubjectAlternativeName)) {
          if (name.uniformResourceIdentifier !== undefined) uriSans.push(name.uniformResourceIdentifier);
          if (name.dNSName !== undefined) dnsSans.push(name.dNSName);
        }
        break;
      case id_ce_nameConstraints: {
        const constraints = AsnConvert.parse(value, NameConstraints);
        nameConstraints = {
          permitted: (constraints.permittedSubtrees ?? []).map((subtree) => subtree.base),
          excluded: (constraints.excludedSubtrees ?? []).map((subtree) => subtree.base),
        };
        break;
      }
      default:
        if (extension.critical) unknownCritical.push(extension.extnID);
    }
  }
  const subjectEmpty = certificate.tbsCertificate.subject.length === 0;
  return { isCa, pathLength, keyUsage, extKeyUsage, uriSans, dnsSans, sanCritical, subjectEmpty, nameConstraints, unknownCritical };
}
