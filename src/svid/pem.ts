import type { KeyObject, X509Certificate } from 'node:crypto';

/** PEM text for one DER value: base64 in 64-character lines, as RFC 7468 writes it. */
export function encodePem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export function decodePem(text: string): { label: string; der: Uint8Array }[] {
  return [...text.matchAll(PEM_BLOCK)].map((match) => ({
    label: match[1]!,
    der: new Uint8Array(Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64')),
  }));
}

export function certificatesToPem(certificates: readonly X509Certificate[]): string {
  return certificates.map((certificate) => encodePem('CERTIFICATE', certificate.raw)).join('');
}

/** PKCS#8 "PRIVATE KEY", the form the Go helper writes and most servers read. */
export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}
