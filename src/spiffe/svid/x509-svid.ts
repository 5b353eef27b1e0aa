import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { splitDerSequence } from '../der/read.ts';
import { SpiffeId } from './spiffe-id.ts';
import type { X509Bundle, X509BundleSource } from './x509-bundle.ts';
import { KEY_PURPOSE, KEY_USAGE, readSvidExtensions, type SvidExtensions } from './x509-extensions.ts';
import { nameConstraintViolation } from './x509-name-constraints.ts';

export class X509SvidError extends Error {
  override name = 'X509SvidError';
}

export interface X509Svid extends X509SvidChain {
  readonly privateKey: KeyObject;
  /** The same key as the Workload API sent it (PKCS#8 DER): files are written from it, never re-exported. */
  readonly privateKeyDer: Uint8Array;
  readonly hint: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function describe(index: number): string {
  return index === 0 ? 'leaf certificate' : `certificate ${index} of the chain`;
}

/**
 * TLS peers present the same few certificates on every connection: the extensions of the last
 * EXTENSIONS_CACHED are kept, by SHA-256 fingerprint (about 4 µs, which node:crypto computes
 * natively, against some 25 µs for walking the DER), most recently used last.
 */
const EXTENSIONS_CACHED = 512;
const extensionsCache = new Map<string, SvidExtensions>();

function readCached(certificate: X509Certificate): SvidExtensions {
  const key = certificate.fingerprint256;
  let extensions = extensionsCache.get(key);
  if (extensions !== undefined) extensionsCache.delete(key);
  else extensions = readSvidExtensions(certificate.raw);
  extensionsCache.set(key, extensions);
  if (extensionsCache.size > EXTENSIONS_CACHED) extensionsCache.delete(extensionsCache.keys().next().value!);
  return extensions;
}

function extensionsOf(certificate: X509Certificate, label: string, context: string): SvidExtensions {
  try {
    return readCached(certificate);
  } catch (error) {
    throw new X509SvidError(`X.509-SVID ${context}: the ${label}'s extensions cannot be read: ${(error as Error).message}`);
  }
}

function checkLeaf(leaf: SvidExtensions, fail: (rule: string) => never): void {
  if (leaf.isCa) fail('the leaf certificate must not be a CA (basic constraints cA is true)');
  const usage = leaf.keyUsage;
  if (usage === undefined) return fail('the leaf certificate has no key usage extension');
  if (!usage.critical) fail('the leaf key usage extension must be critical');
  if ((usage.flags & KEY_USAGE.digitalSignature) === 0) fail('the leaf key usage must include digitalSignature');
  if ((usage.flags & KEY_USAGE.keyCertSign) !== 0) fail('the leaf key usage must not include keyCertSign');
  if ((usage.flags & KEY_USAGE.cRLSign) !== 0) fail('the leaf key usage must not include cRLSign');
  const purposes = leaf.extKeyUsage;
  if (purposes !== undefined && !(purposes.includes(KEY_PURPOSE.serverAuth) && purposes.includes(KEY_PURPOSE.clientAuth))) {
    fail('the leaf extended key usage, when present, must include both serverAuth and clientAuth');
  }
  if (leaf.subjectEmpty && !leaf.sanCritical) fail('the leaf has an empty subject, so its SAN extension must be critical');
}

function checkSigningCertificate(extensions: SvidExtensions, label: string, fail: (rule: string) => never): void {
  if (!extensions.isCa) fail(`${label} signs the chain but is not a CA (basic constraints cA is not true)`);
  const usage = extensions.keyUsage;
  if (usage === undefined || (usage.flags & KEY_USAGE.keyCertSign) === 0) {
    fail(`${label} signs the chain but its key usage lacks keyCertSign`);
  }
  // A signing certificate need not be an SVID; when it is, its SPIFFE ID has no path and its key usage is critical.
  for (const uri of extensions.uriSans.filter((value) => value.toLowerCase().startsWith('spiffe:'))) {
    let id: SpiffeId;
    try {
      id = SpiffeId.parse(uri);
    } catch (error) {
      return fail(`${label} has a URI SAN that is not a valid SPIFFE ID: ${(error as Error).message}`);
    }
    if (id.path !== '') fail(`${label} is a signing certificate, so its SPIFFE ID ${id} must not have a path`);
    if (!usage!.critical) fail(`${label} is a signing SVID, so its key usage extension must be critical`);
  }
}

/** An X.509-SVID's certificate chain without its private key: what a TLS peer presents. */
export interface X509SvidChain {
  readonly id: SpiffeId;
  /** Leaf first, then intermediates. */
  readonly certificates: readonly X509Certificate[];
}

/**
 * Reads a certificate chain (concatenated DER, or certificates) and checks every X509-SVID.md rule
 * on it that needs neither a key nor a bundle: exactly one URI SAN that is a SPIFFE ID with a path,
 * leaf and signing-certificate extensions.
 */
export function parseX509SvidChain(chain: Uint8Array | readonly X509Certificate[]): X509SvidChain {
  let certificates: readonly X509Certificate[];
  try {
    certificates = chain instanceof Uint8Array ? splitDerSequence(chain).map((der) => new X509Certificate(der)) : chain;
  } catch (error) {
    throw new X509SvidError(`X.509-SVID chain is not valid DER certificates: ${(error as Error).message}`);
  }
  const leaf = certificates[0];
  if (leaf === undefined) throw new X509SvidError('X.509-SVID chain is empty');

  const leafExtensions = extensionsOf(leaf, 'leaf certificate', 'chain');
  const uris = leafExtensions.uriSans;
  if (uris.length !== 1) {
    const listed = uris.length === 0 ? '' : ` (${uris.map((uri) => JSON.stringify(uri)).join(', ')})`;
    throw new X509SvidError(`X.509-SVID leaf must have exactly one URI SAN, it has ${uris.length}${listed}`);
  }
  let id: SpiffeId;
  try {
    id = SpiffeId.parse(uris[0]!);
  } catch (error) {
    throw new X509SvidError(`X.509-SVID leaf URI SAN is not a SPIFFE ID: ${(error as Error).message}`);
  }
  const fail = (rule: string): never => {
    throw new X509SvidError(`X.509-SVID ${id}: ${rule}`);
  };
  if (id.path === '') fail('a leaf SPIFFE ID must have a path (it names the trust domain only)');
  checkLeaf(leafExtensions, fail);
  for (const [index, certificate] of certificates.entries()) {
    if (index > 0) checkSigningCertificate(extensionsOf(certificate, describe(index), `${id}`), describe(index), fail);
  }
  return { id, certificates };
}

/**
 * Parses an X.509-SVID as the Workload API sends it (DER chain, DER PKCS#8 key) and checks every
 * X509-SVID.md rule that needs no bundle. Chain trust is `verifyX509Svid`'s job.
 */
export function parseX509Svid(chainDer: Uint8Array, keyDer: Uint8Array, hint = ''): X509Svid {
  const { id, certificates } = parseX509SvidChain(chainDer);
  const leaf = certificates[0]!;
  const fail = (rule: string): never => {
    throw new X509SvidError(`X.509-SVID ${id}: ${rule}`);
  };
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(keyDer), format: 'der', type: 'pkcs8' });
  } catch {
    return fail('the private key is not an unencrypted DER PKCS#8 key');
  }
  if (!createPublicKey(privateKey).equals(leaf.publicKey)) fail("the private key does not match the leaf certificate's public key");

  // A copy: the caller's buffer may be reused.
  return { id, certificates, privateKey, privateKeyDer: new Uint8Array(keyDer), hint, notBefore: leaf.validFromDate, notAfter: leaf.validToDate };
}

function checkValidity(certificate: X509Certificate, label: string, now: Date, fail: (rule: string) => never): void {
  if (now < certificate.validFromDate) fail(`${label} is not valid before ${certificate.validFromDate.toISOString()}`);
  if (now > certificate.validToDate) fail(`${label} expired at ${certificate.validToDate.toISOString()}`);
}

/**
 * RFC 5280 path validation to the bundle of the SVID's own trust domain: each certificate is signed
 * by the next, the last by one of the bundle's authorities; every one is valid at `now`; path length
 * and name constraints hold; no certificate has a critical extension left unprocessed.
 *
 * `svid` is a parsed SVID or chain, or a peer's certificates (DER or X509Certificate, leaf first),
 * which are first held to the X509-SVID.md rules. `trust` is the bundle itself or a source of bundles,
 * from which only the bundle of the SVID's own trust domain is taken: a federated authority never
 * vouches for another trust domain's IDs. Returns the verified SPIFFE ID; throws X509SvidError.
 */
export function verifyX509Svid(
  svid: X509SvidChain | Uint8Array | readonly X509Certificate[],
  trust: X509Bundle | X509BundleSource,
  now: Date = new Date(),
): SpiffeId {
  return verifyX509SvidPath(svid, trust, now).id;
}

/** verifyX509Svid, also returning the verified path: the chain as used, then the bundle authority that signed it. */
export function verifyX509SvidPath(
  presented: X509SvidChain | Uint8Array | readonly X509Certificate[],
  trust: X509Bundle | X509BundleSource,
  now: Date = new Date(),
): { readonly id: SpiffeId; readonly path: readonly X509Certificate[] } {
  const svid = presented instanceof Uint8Array || Array.isArray(presented) ? parseX509SvidChain(presented as Uint8Array | readonly X509Certificate[]) : (presented as X509SvidChain);
  const fail = (rule: string): never => {
    throw new X509SvidError(`X.509-SVID ${svid.id}: ${rule}`);
  };
  const bundle = 'bundleFor' in trust ? trust.bundleFor(svid.id.trustDomain) : trust;
  if (bundle === undefined) return fail(`no X.509 bundle for its trust domain ${svid.id.trustDomain.name}`);
  if (!bundle.trustDomain.equals(svid.id.trustDomain)) {
    fail(`the bundle is for trust domain ${bundle.trustDomain.name}, not ${svid.id.trustDomain.name}`);
  }
  // A chain may end with the bundle's authority itself; the bundle's copy then anchors the path.
  const last = svid.certificates[svid.certificates.length - 1]!;
  const endsWithAuthority = svid.certificates.length > 1 && bundle.authorities.some((authority) => authority.raw.equals(last.raw));
  const chain = endsWithAuthority ? svid.certificates.slice(0, -1) : svid.certificates;
  for (const [index, certificate] of chain.entries()) {
    checkValidity(certificate, describe(index), now, fail);
    const issuer = chain[index + 1];
    if (issuer !== undefined && !(certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey))) {
      fail(`${describe(index)} is not signed by ${describe(index + 1)}`);
    }
  }
  const top = chain[chain.length - 1]!;
  const root = bundle.authorities.find((authority) => top.checkIssued(authority) && top.verify(authority.publicKey));
  if (root === undefined) fail(`the chain does not verify to any authority of the ${bundle.trustDomain.name} bundle`);
  const rootLabel = 'the bundle authority that signed the chain';
  checkValidity(root!, rootLabel, now, fail);

  const path = [...chain, root!].map((certificate, index) => ({
    label: index === chain.length ? rootLabel : describe(index),
    extensions: extensionsOf(certificate, index === chain.length ? 'bundle authority' : describe(index), `${svid.id}`),
  }));
  for (const [index, { label, extensions }] of path.entries()) {
    if (index === chain.length) {
      if (!extensions.isCa) fail(`${rootLabel} is not a CA (basic constraints cA is not true)`);
    } else if (extensions.unknownCritical.length > 0) {
      fail(`${label} has critical extensions that cannot be processed: ${extensions.unknownCritical.join(', ')}`);
    }
    // Certificates between this one and the leaf, which its pathLenConstraint limits.
    if (index > 0 && extensions.pathLength !== undefined && index - 1 > extensions.pathLength) {
      fail(`${label} allows ${extensions.pathLength} intermediate certificate(s) below it, the path has ${index - 1}`);
    }
    if (extensions.nameConstraints !== undefined) {
      for (const below of path.slice(0, index)) {
        const why = nameConstraintViolation(extensions.nameConstraints, below.extensions);
        if (why !== undefined) fail(`${label} constrains the names below it: ${below.label}: ${why}`);
      }
    }
  }
  return { id: svid.id, path: [...chain, root!] };
}
