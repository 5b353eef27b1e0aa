import { DerError, DerReader, TAG, readBitFlags, readBoolean, readCount, readIa5, readOid, type DerValue } from '../der/read.ts';

/** RFC 5280 4.2.1.6 GeneralName, by its CHOICE name; the text only for the name types checked here. */
export interface GeneralName {
  readonly type: GeneralNameType;
  /** The IA5String of a dNSName or uniformResourceIdentifier. */
  readonly text: string | undefined;
}

/** Context tags [0]..[8] of GeneralName, in order; otherName, x400Address, directoryName and ediPartyName are constructed. */
const GENERAL_NAME_TYPES = ['otherName', 'rfc822Name', 'dNSName', 'x400Address', 'directoryName', 'ediPartyName', 'uniformResourceIdentifier', 'iPAddress', 'registeredID'] as const;
export type GeneralNameType = (typeof GENERAL_NAME_TYPES)[number];
const CONSTRUCTED_NAMES: ReadonlySet<number> = new Set([0, 3, 4, 5]);

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

/** KeyUsage bits (RFC 5280 4.2.1.3) as readBitFlags numbers them. */
export const KEY_USAGE = { digitalSignature: 1 << 0, keyCertSign: 1 << 5, cRLSign: 1 << 6 } as const;

export const KEY_PURPOSE = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

const EXTENSION = {
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
} as const;

function generalName(der: Uint8Array, value: DerValue): GeneralName {
  const number = value.tag & 0x1f;
  const type = GENERAL_NAME_TYPES[number];
  const constructed = (value.tag & 0x20) !== 0;
  if ((value.tag & 0xc0) !== 0x80 || type === undefined || constructed !== CONSTRUCTED_NAMES.has(number)) {
    throw new DerError(`GeneralName at byte ${value.start}: tag 0x${value.tag.toString(16)} is not a GeneralName`);
  }
  return { type, text: type === 'dNSName' || type === 'uniformResourceIdentifier' ? readIa5(der, value) : undefined };
}

function generalNames(names: DerReader): GeneralName[] {
  const result: GeneralName[] = [];
  while (!names.done) result.push(generalName(names.der, names.nextAny('GeneralName')));
  return result;
}

/** GeneralSubtrees: each subtree's base; minimum and maximum are unused in RFC 5280 profiles. */
function subtrees(der: Uint8Array, field: DerValue | undefined, what: string): GeneralName[] {
  const bases: GeneralName[] = [];
  const reader = field === undefined ? undefined : DerReader.of(der, field, what);
  while (reader !== undefined && !reader.done) {
    const subtree = reader.enter(TAG.SEQUENCE, 'GeneralSubtree');
    bases.push(generalName(der, subtree.nextAny('base')));
    subtree.optional(0x80);
    subtree.optional(0x81);
    subtree.finish();
  }
  return bases;
}

/** Throws a DerError naming the field on a certificate that is not valid X.509 DER or repeats an extension. */
export function readSvidExtensions(der: Uint8Array): SvidExtensions {
  const certificate = DerReader.of(der, DerReader.only(der, TAG.SEQUENCE, 'certificate'), 'certificate');
  const tbs = certificate.enter(TAG.SEQUENCE, 'tbsCertificate');
  certificate.next(TAG.SEQUENCE, 'signatureAlgorithm');
  certificate.next(TAG.BIT_STRING, 'signatureValue');
  certificate.finish();
  tbs.optional(0xa0); // version
  tbs.next(TAG.INTEGER, 'serialNumber');
  tbs.next(TAG.SEQUENCE, 'signature');
  tbs.next(TAG.SEQUENCE, 'issuer');
  tbs.next(TAG.SEQUENCE, 'validity');
  const subject = tbs.next(TAG.SEQUENCE, 'subject');
  tbs.next(TAG.SEQUENCE, 'subjectPublicKeyInfo');
  tbs.optional(0x81); // issuerUniqueID
  tbs.optional(0x82); // subjectUniqueID
  const extensionsField = tbs.optional(0xa3);
  tbs.finish();

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
  const extensions = extensionsField === undefined ? undefined : DerReader.of(der, DerReader.only(der, TAG.SEQUENCE, 'extensions', extensionsField), 'extensions');
  while (extensions !== undefined && !extensions.done) {
    const extension = extensions.enter(TAG.SEQUENCE, 'Extension');
    const id = readOid(der, extension.next(TAG.OID, 'extnID'));
    const criticalField = extension.optional(TAG.BOOLEAN);
    const critical = criticalField !== undefined && readBoolean(der, criticalField);
    const value = extension.next(TAG.OCTET_STRING, 'extnValue');
    extension.finish();
    // RFC 5280 4.2: with two instances, which one a validator reads would decide the outcome.
    if (seen.has(id)) throw new DerError(`extension ${id} appears more than once`);
    seen.add(id);
    const inner = (name: string) => DerReader.of(der, DerReader.only(der, TAG.SEQUENCE, name, value), name);
    try {
      switch (id) {
        case EXTENSION.basicConstraints: {
          const constraints = inner('basicConstraints');
          const ca = constraints.optional(TAG.BOOLEAN);
          isCa = ca !== undefined && readBoolean(der, ca);
          const length = constraints.optional(TAG.INTEGER);
          pathLength = length === undefined ? undefined : readCount(der, length);
          constraints.finish();
          break;
        }
        case EXTENSION.keyUsage: {
          const bits = DerReader.only(der, TAG.BIT_STRING, 'keyUsage', value);
          keyUsage = { critical, flags: readBitFlags(der, bits) };
          break;
        }
        case EXTENSION.extKeyUsage: {
          const purposes = inner('extKeyUsage');
          extKeyUsage = [];
          while (!purposes.done) extKeyUsage.push(readOid(der, purposes.next(TAG.OID, 'KeyPurposeId')));
          break;
        }
        case EXTENSION.subjectAltName:
          sanCritical = critical;
          for (const name of generalNames(inner('subjectAltName'))) {
            if (name.type === 'uniformResourceIdentifier') uriSans.push(name.text!);
            if (name.type === 'dNSName') dnsSans.push(name.text!);
          }
          break;
        case EXTENSION.nameConstraints: {
          const constraints = inner('nameConstraints');
          const permitted = subtrees(der, constraints.optional(0xa0), 'permittedSubtrees');
          const excluded = subtrees(der, constraints.optional(0xa1), 'excludedSubtrees');
          constraints.finish();
          nameConstraints = { permitted, excluded };
          break;
        }
        default:
          if (critical) unknownCritical.push(id);
      }
    } catch (error) {
      throw new DerError(`extension ${id}: ${(error as Error).message}`);
    }
  }
  const subjectEmpty = subject.end === subject.contentStart;
  return { isCa, pathLength, keyUsage, extKeyUsage, uriSans, dnsSans, sanCritical, subjectEmpty, nameConstraints, unknownCritical };
}
