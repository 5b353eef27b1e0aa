import type { KeyObject, X509Certificate } from 'node:crypto';

export class PemError extends Error {
  override name = 'PemError';
}

/** PEM text for one DER value: base64 in 64-character lines, as RFC 7468 writes it. */
export function encodePem(label: string, der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return [`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`, ''].join('\n');
}

const BEGIN = /^-----BEGIN ([\x21-\x2c\x2e-\x7e](?:[- ]?[\x21-\x2c\x2e-\x7e])*)?-----$/;
const END = /^-----END (.*)-----$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Every PEM block of `text`, in order. Text between blocks is ignored, as RFC 7468 allows; inside a
 * block anything but base64 (e.g. RFC 1421 encryption headers), or an unterminated or mismatched
 * block, is an error naming the line.
 */
export function decodePem(text: string): { label: string; der: Uint8Array }[] {
  const blocks: { label: string; der: Uint8Array }[] = [];
  let open: { label: string; line: number; base64: string[] } | undefined;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    const number = index + 1;
    if (open === undefined) {
      const begin = BEGIN.exec(line);
      if (begin !== null) open = { label: begin[1] ?? '', line: number, base64: [] };
      continue;
    }
    const end = END.exec(line);
    if (end !== null) {
      if (end[1] !== open.label) {
        throw new PemError(`PEM line ${number}: "END ${end[1]}" closes the "BEGIN ${open.label}" of line ${open.line}`);
      }
      const base64 = open.base64.join('');
      if (!BASE64.test(base64) || base64.length % 4 !== 0) {
        throw new PemError(`PEM block "${open.label}" of line ${open.line}: the content is not valid base64`);
      }
      blocks.push({ label: open.label, der: new Uint8Array(Buffer.from(base64, 'base64')) });
      open = undefined;
    } else if (line.startsWith('-----') || line.includes(':')) {
      throw new PemError(`PEM line ${number}: unexpected ${JSON.stringify(line.slice(0, 40))} inside the "${open.label}" block`);
    } else {
      open.base64.push(line);
    }
  }
  if (open !== undefined) throw new PemError(`PEM block "${open.label}" of line ${open.line} has no END line`);
  return blocks;
}

export function certificatesToPem(certificates: readonly X509Certificate[]): string {
  return certificates.map((certificate) => encodePem('CERTIFICATE', certificate.raw)).join('');
}

/** PKCS#8 "PRIVATE KEY", the form the Go helper writes and most servers read. */
export const pkcs8ToPem = (der: Uint8Array): string => encodePem('PRIVATE KEY', der);

export function privateKeyToPem(key: KeyObject): string {
  return pkcs8ToPem(key.export({ type: 'pkcs8', format: 'der' }));
}
