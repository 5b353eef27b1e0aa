import type { X509Certificate } from 'node:crypto';
import { certificatesToPem, pkcs8ToPem } from '../../spiffe/svid/index.ts';

/**
 * The PKCS#8 private key, then the leaf and its intermediates, in one PEM text: what HAProxy and
 * ghostunnel load, and the Filesystem Delivery credential bundle. One file is the only form a
 * consumer that polls files can read atomically: key and certificate cannot come from two updates.
 */
export function combinedPem(privateKeyDer: Uint8Array, chain: readonly X509Certificate[]): string {
  return pkcs8ToPem(privateKeyDer) + certificatesToPem(chain);
}
