/**
 * Encoding the few DER (X.690) value types PKCS#12 files and the development CA's certificates
 * (src/spiffe/dev) are built from. Lengths are definite and minimal; SET OF values keep the order given
 * (one or two elements here, as other writers emit them).
 */

function header(tag: number, length: number): Buffer {
  if (length < 0x80) return Buffer.from([tag, length]);
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest & 0xff);
  return Buffer.from([tag, 0x80 | octets.length, ...octets]);
}

/** One value: the tag, then the content's length and the content. */
export function tlv(tag: number, ...content: readonly Uint8Array[]): Buffer {
  const length = content.reduce((sum, part) => sum + part.length, 0);
  return Buffer.concat([header(tag, length), ...content]);
}

export const sequence = (...items: readonly Uint8Array[]): Buffer => tlv(0x30, ...items);
export const set = (...items: readonly Uint8Array[]): Buffer => tlv(0x31, ...items);
export const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes);
/** [n] EXPLICIT: a constructed context-specific wrapper. */
export const explicit = (n: number, ...items: readonly Uint8Array[]): Buffer => tlv(0xa0 | n, ...items);
export const NULL = Buffer.from([0x05, 0x00]);

/** A non-negative INTEGER. */
export function integer(value: number): Buffer {
  const octets: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest & 0xff);
  return unsignedInteger(Buffer.from(octets));
}

/** A non-negative INTEGER from its big-endian octets (a serial number), leading zeros dropped. */
export function unsignedInteger(bytes: Uint8Array): Buffer {
  const octets = [...bytes];
  while (octets.length > 0 && octets[0] === 0) octets.shift();
  // Two's complement: a leading bit of 1 would read as negative, so a zero octet goes first.
  if (octets.length === 0 || octets[0]! >= 0x80) octets.unshift(0);
  return tlv(0x02, Buffer.from(octets));
}

export const boolean = (value: boolean): Buffer => Buffer.from([0x01, 0x01, value ? 0xff : 0x00]);
/** BIT STRING of whole octets, or of named bits whose last `unusedBits` bits are padding. */
export const bitString = (bytes: Uint8Array, unusedBits = 0): Buffer => tlv(0x03, Buffer.from([unusedBits]), bytes);
export const utf8String = (text: string): Buffer => tlv(0x0c, Buffer.from(text, 'utf8'));
/** [n] IMPLICIT of a primitive value: the value's own tag replaced. */
export const implicit = (n: number, bytes: Uint8Array): Buffer => tlv(0x80 | n, bytes);

/** X.509's Time: UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5), whole seconds. */
export function time(date: Date): Buffer {
  const digits = date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:T]/g, '');
  const year = date.getUTCFullYear();
  return year < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii')) : tlv(0x18, Buffer.from(digits, 'ascii'));
}

/** OBJECT IDENTIFIER from dotted decimal (X.690 8.19). */
export function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const body: number[] = [];
  for (const arc of [first! * 40 + second!, ...rest]) {
    const septets = [arc & 0x7f];
    for (let high = Math.floor(arc / 128); high > 0; high = Math.floor(high / 128)) septets.unshift(0x80 | (high & 0x7f));
    body.push(...septets);
  }
  return tlv(0x06, Buffer.from(body));
}

/** BMPString: big-endian UTF-16, as PKCS#12 friendly names are written. */
export const bmpString = (text: string): Buffer => tlv(0x1e, Buffer.from(text, 'utf16le').swap16());
