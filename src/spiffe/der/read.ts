/**
 * Reading DER (X.690): splitting the concatenated values of chains and bundles on the wire, and
 * walking the few certificate fields the X509-SVID.md rules read. Strict: definite minimal lengths,
 * values that end exactly where their container does, every error naming the byte offset.
 */

export class DerError extends Error {
  override name = 'DerError';
}

export const TAG = { BOOLEAN: 0x01, INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, OID: 0x06, SEQUENCE: 0x30 } as const;

const hex = (tag: number): string => `0x${tag.toString(16).padStart(2, '0')}`;

/** One DER value: its tag, and where it and its content lie in the buffer it was read from. */
export interface DerValue {
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/** The header of the value at `offset`, which must end by `limit`. */
function readValue(der: Uint8Array, offset: number, limit: number): DerValue {
  if (offset + 2 > limit) throw new DerError(`truncated DER header at byte ${offset}`);
  const tag = der[offset]!;
  // X.509 has no tag numbers above 30, so the multi-byte tag form is never DER of a certificate.
  if ((tag & 0x1f) === 0x1f) throw new DerError(`byte ${offset}: multi-byte tag ${hex(tag)} is not used in X.509`);
  const first = der[offset + 1]!;
  let contentStart = offset + 2;
  let length = first;
  if (first >= 0x80) {
    const octets = first & 0x7f;
    // 0x80 is BER's indefinite length; more than 4 octets would exceed any certificate.
    if (octets === 0 || octets > 4) throw new DerError(`byte ${offset}: invalid DER length encoding`);
    if (offset + 2 + octets > limit) throw new DerError(`truncated DER length at byte ${offset}`);
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[offset + 2 + i]!;
    if (length < 0x80 || der[offset + 2] === 0) throw new DerError(`byte ${offset}: length is not in minimal DER form`);
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError(`truncated DER value at byte ${offset}: needs ${end - offset} bytes, ${limit - offset} left`);
  return { tag, start: offset, contentStart, end };
}

/** Splits back-to-back DER SEQUENCEs (e.g. certificates); throws on truncation or trailing bytes. */
export function splitDerSequence(der: Uint8Array): Uint8Array[] {
  const items: Uint8Array[] = [];
  let offset = 0;
  while (offset < der.length) {
    // The tag is checked first: trailing bytes are more often garbage than a truncated value.
    if (der[offset] !== TAG.SEQUENCE) {
      throw new DerError(`byte ${offset}: expected a DER SEQUENCE (tag 0x30), found tag ${hex(der[offset]!)}`);
    }
    const { end } = readValue(der, offset, der.length);
    items.push(der.subarray(offset, end));
    offset = end;
  }
  return items;
}

/** The values inside one constructed value (or inside an OCTET STRING that wraps DER), in order. */
export class DerReader {
  readonly der: Uint8Array;
  readonly #what: string;
  readonly #end: number;
  #offset: number;

  private constructor(der: Uint8Array, what: string, start: number, end: number) {
    this.der = der;
    this.#what = what;
    this.#offset = start;
    this.#end = end;
  }

  /** The values inside `value`. */
  static of(der: Uint8Array, value: DerValue, what: string): DerReader {
    return new DerReader(der, what, value.contentStart, value.end);
  }

  /**
   * The one value in all of `der`, or in the content of `within` (e.g. an extension's OCTET
   * STRING): it must be a `tag` and fill that space exactly.
   */
  static only(der: Uint8Array, tag: number, what: string, within?: DerValue): DerValue {
    const outer = new DerReader(der, what, within?.contentStart ?? 0, within?.end ?? der.length);
    const value = outer.next(tag, '');
    outer.finish();
    return value;
  }

  get done(): boolean {
    return this.#offset >= this.#end;
  }

  /** The next value if it has `tag` (an OPTIONAL or DEFAULT field), else undefined. */
  optional(tag: number): DerValue | undefined {
    return !this.done && this.der[this.#offset] === tag ? this.next(tag, '') : undefined;
  }

  /** The next value, which must be a `tag`: the field named `field`. */
  next(tag: number, field: string): DerValue {
    const value = this.nextAny(field);
    if (value.tag !== tag) throw new DerError(`${this.#name(field)} at byte ${value.start}: expected tag ${hex(tag)}, found ${hex(value.tag)}`);
    return value;
  }

  /** The next value, whatever its tag (a CHOICE). */
  nextAny(field: string): DerValue {
    if (this.done) throw new DerError(`${this.#name(field)}: missing at byte ${this.#offset}`);
    let value: DerValue;
    try {
      value = readValue(this.der, this.#offset, this.#end);
    } catch (error) {
      throw new DerError(`${this.#name(field)}: ${(error as Error).message}`);
    }
    this.#offset = value.end;
    return value;
  }

  /** The values inside the next value, a constructed `tag`. */
  enter(tag: number, field: string): DerReader {
    return DerReader.of(this.der, this.next(tag, field), this.#name(field));
  }

  /** Throws unless every value was read. */
  finish(): void {
    if (!this.done) throw new DerError(`${this.#what}: ${this.#end - this.#offset} unexpected bytes at byte ${this.#offset}`);
  }

  #name(field: string): string {
    return field === '' ? this.#what : `${this.#what} ${field}`;
  }
}

/** X.690 8.19: dotted decimal. */
export function readOid(der: Uint8Array, value: DerValue): string {
  const arcs: number[] = [];
  let arc = 0;
  let fresh = true;
  for (let i = value.contentStart; i < value.end; i++) {
    const byte = der[i]!;
    if (fresh && byte === 0x80) throw new DerError(`OID at byte ${value.start}: a subidentifier is not in minimal form`);
    arc = arc * 128 + (byte & 0x7f);
    if (arc > Number.MAX_SAFE_INTEGER) throw new DerError(`OID at byte ${value.start}: a subidentifier is too large`);
    fresh = (byte & 0x80) === 0;
    if (fresh) {
      arcs.push(arc);
      arc = 0;
    }
  }
  if (arcs.length === 0 || !fresh) throw new DerError(`OID at byte ${value.start}: empty or truncated`);
  const first = arcs[0]!;
  const top = first < 80 ? Math.floor(first / 40) : 2;
  return [top, first - top * 40, ...arcs.slice(1)].join('.');
}

/** DER BOOLEAN: one octet, 0x00 or 0xff. */
export function readBoolean(der: Uint8Array, value: DerValue): boolean {
  const byte = der[value.contentStart];
  if (value.end - value.contentStart !== 1 || (byte !== 0x00 && byte !== 0xff)) {
    throw new DerError(`BOOLEAN at byte ${value.start}: not one octet 0x00 or 0xff`);
  }
  return byte === 0xff;
}

/** A non-negative INTEGER small enough for a count (e.g. a path length). */
export function readCount(der: Uint8Array, value: DerValue): number {
  const length = value.end - value.contentStart;
  const first = der[value.contentStart]!;
  if (length === 0 || length > 4) throw new DerError(`INTEGER at byte ${value.start}: ${length} octets, expected 1 to 4`);
  if ((first & 0x80) !== 0) throw new DerError(`INTEGER at byte ${value.start}: negative`);
  if (length > 1 && first === 0 && (der[value.contentStart + 1]! & 0x80) === 0) throw new DerError(`INTEGER at byte ${value.start}: not in minimal DER form`);
  let count = 0;
  for (let i = value.contentStart; i < value.end; i++) count = count * 256 + der[i]!;
  return count;
}

/** A BIT STRING of named bits (at most 24) as flags: bit n of the string is 1 << n. */
export function readBitFlags(der: Uint8Array, value: DerValue): number {
  const length = value.end - value.contentStart;
  const unused = der[value.contentStart]!;
  if (length === 0 || length > 4 || unused > 7 || (length === 1 && unused !== 0)) {
    throw new DerError(`BIT STRING at byte ${value.start}: invalid length or unused-bit count`);
  }
  let flags = 0;
  for (let octet = 1; octet < length; octet++) {
    const byte = der[value.contentStart + octet]!;
    for (let bit = 0; bit < 8; bit++) if ((byte & (0x80 >> bit)) !== 0) flags |= 1 << ((octet - 1) * 8 + bit);
  }
  return flags;
}

/** An IA5String (ASCII), as DNS names and URIs are encoded. */
export function readIa5(der: Uint8Array, value: DerValue): string {
  for (let i = value.contentStart; i < value.end; i++) {
    if (der[i]! >= 0x80) throw new DerError(`IA5String at byte ${value.start}: byte ${i} is not ASCII`);
  }
  return Buffer.from(der.buffer, der.byteOffset + value.contentStart, value.end - value.contentStart).toString('latin1');
}
