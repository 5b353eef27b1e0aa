import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { splitDerSequence } from './der.ts';
import { SpiffeId } from './spiffe-id.ts';
import type { X509Bundle } from './x509-bundle.ts';
import { KEY_USAGE, readSvidExtensions } from './x509-extensions.ts';

export class X509SvidError extends Error {
  override name = 'X509SvidError';
}

export interface X509Svid {
  readonly id: SpiffeId;
  /** Leaf first, then intermediates up to (not including) the trust domain's authority. */
  readonly certificates: readonly X509Certificate[];
  readonly privateKey: KeyObject;
  readonly hint: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function describe(index: number): string {
  return index === 0 ? 'leaf certificate' : `certificate ${index} of the chain`;
}

/**
 * Parses an X.509-SVID as the Workload API sends it (DER chain, DER PKCS#8 key) and checks every
 * X509-SVID.md rule that needs no bundle. Chain trust is `verifyX509Svid`'s job.
 */
export function parseX509Svid(chainDer: Uint8Array, keyDer: Uint8Array, hint = ''): X509Svid {
  let certificates: X509Certificate[];
  try {
    certificates = splitDerSequence(chainDer).map((der) => new X509Certificate(der));
  } catch (error) {
    throw new X509SvidError(`X.509-SVID chain is not valid DER certificates: ${(error as Error).message}`);
  }
  const leaf = certificates[0];
  if (leaf === undefined) throw new X509SvidError('X.509-SVID chain is empty');

  const leafExtensions = readSvidExtensions(leaf.raw);
  if (leafExtensions.uriSans.length !== 1) {
    throw new X509SvidError(`X.509-SVID leaf must have exactly one URI SAN, it has ${leafExtensions.uriSans.length}`);
  }
  let id: SpiffeId;
  try {
    id = SpiffeId.parse(leafExtensions.uriSans[0]!);
  } catch (error) {
    throw new X509SvidError(`X.509-SVID leaf URI SAN is not a SPIFFE ID: ${(error as Error).message}`);
  }
  const fail = (rule: string): never => {
    throw new X509SvidError(`X.509-SVID ${id}: ${rule}`);
  };
  if (id.path === '') fail('a leaf SPIFFE ID must have a path');
  if (leafExtensions.isCa) fail('the leaf certificate must not be a CA');
  const leafUsage = leafExtensions.keyUsage;
  if (leafUsage === undefined) fail('the leaf certificate has no key usage extension');
  else {
    if (!leafUsage.critical) fail('the leaf key usage extension must be critical');
    if ((leafUsage.flags & KEY_USAGE.digitalSignature) === 0) fail('the leaf key usage must include digitalSignature');
    if ((leafUsage.flags & KEY_USAGE.keyCertSign) !== 0) fail('the leaf key usage must not include keyCertSign');
    if ((leafUsage.flags & KEY_USAGE.cRLSign) !== 0) fail('the leaf key usage must not include cRLSign');
  }
  for (const [index, certificate] of certificates.entries()) {
    if (index === 0) continue;
    const extensions = readSvidExtensions(certificate.raw);
    if (!extensions.isCa) fail(`${describe(index)} signs the chain but is not a CA`);
    if (extensions.keyUsage === undefined || (extensions.keyUsage.flags & KEY_USAGE.keyCertSign) === 0) {
      fail(`${describe(index)} signs the chain but its key usage lacks keyCertSign`);
    }
  }

  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(keyDer), format: 'der', type: 'pkcs8' });
  } catch {
    return fail('the private key is not an unencrypted DER PKCS#8 key');
  }
  const derived = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const certified = leaf.publicKey.export({ type: 'spki', format: 'der' });
  if (!derived.equals(certified)) fail("the private key does not match the leaf certificate's public key");

  return { id, certificates, privateKey, hint, notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo) };
}

function checkValidity(certificate: X509Certificate, label: string, svid: X509Svid, now: Date): void {
  if (now.getTime() < new Date(certificate.validFrom).getTime()) {
    throw new X509SvidError(`X.509-SVID ${svid.id}: ${label} is not valid before ${new Date(certificate.validFrom).toISOString()}`);
  }
  if (now.getTime() > new Date(certificate.validTo).getTime()) {
    throw new X509SvidError(`X.509-SVID ${svid.id}: ${label} expired at ${new Date(certificate.validTo).toISOString()}`);
  }
}

/**
 * RFC 5280 path validation to the bundle of the SVID's own trust domain: each certificate is signed
 * by the next, the last by one of the bundle's authorities, and every one is valid at `now`.
 */
export function verifyX509Svid(svid: X509Svid, bundle: X509Bundle, now: Date = new Date()): void {
  if (!bundle.trustDomain.equals(svid.id.trustDomain)) {
    throw new X509SvidError(`X.509-SVID ${svid.id}: the bundle is for trust domain ${bundle.trustDomain.name}, not ${svid.id.trustDomain.name}`);
  }
  for (const [index, certificate] of svid.certificates.entries()) {
    checkValidity(certificate, describe(index), svid, now);
    const issuer = svid.certificates[index + 1];
    if (issuer !== undefined && !(certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey))) {
      throw new X509SvidError(`X.509-SVID ${svid.id}: ${describe(index)} is not signed by ${describe(index + 1)}`);
    }
  }
  const top = svid.certificates[svid.certificates.length - 1]!;
  const root = bundle.authorities.find((authority) => top.checkIssued(authority) && top.verify(authority.publicKey));
  if (root === undefined) {
    throw new X509SvidError(`X.509-SVID ${svid.id}: the chain does not verify to any authority of the ${bundle.trustDomain.name} bundle`);
  }
  checkValidity(root, 'the bundle authority that signed the chain', svid, now);
}
