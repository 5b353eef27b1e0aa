import type { X509Certificate } from 'node:crypto';
import { certificatesToPem } from '../../spiffe/svid/index.ts';
import type { OutputFile } from '../output/index.ts';
import { combinedPem } from './combined-pem.ts';

// The SPIFFE Filesystem Delivery draft (spiffe/spiffe PR #376, text of commit 8ba8a87, 2026-04-20):
// a credential folder holds exactly one credential bundle (the PKCS#8 key first, then the chain,
// leaf first) and one trust bundle file per trust domain, each only that domain's authorities so an
// application never mixes them into one root store.

const CREDENTIAL_BUNDLE = 'credential-bundle.pem';
const trustBundleFileName = (trustDomain: string): string => `${trustDomain}.spiffe-trust-bundle.pem`;

export interface CredentialFolder {
  /** PKCS#8 DER. */
  readonly privateKeyDer: Uint8Array;
  /** Leaf first. */
  readonly chain: readonly X509Certificate[];
  /** Every trust domain's authorities, the SVID's own and the federated ones, by name. */
  readonly trustBundles: ReadonlyMap<string, readonly X509Certificate[]>;
  /** For the credential bundle, which holds the key. */
  readonly keyFileMode: number;
  readonly certFileMode: number;
}

export function filesystemDeliveryFiles(folder: CredentialFolder): OutputFile[] {
  const files: OutputFile[] = [{ name: CREDENTIAL_BUNDLE, content: combinedPem(folder.privateKeyDer, folder.chain), mode: folder.keyFileMode }];
  for (const trustDomain of [...folder.trustBundles.keys()].sort()) {
    const authorities = folder.trustBundles.get(trustDomain)!;
    // A trust bundle file holds one or more certificates; a domain with none gets no file, which
    // readers take as "not federated" and refuse, as they should.
    if (authorities.length === 0) continue;
    files.push({ name: trustBundleFileName(trustDomain), content: certificatesToPem(authorities), mode: folder.certFileMode });
  }
  return files;
}
