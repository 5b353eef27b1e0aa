/** Splitting concatenated DER values, the encoding of certificate chains and bundles on the wire. */

export class DerError extends Error {
  override name = 'DerError';
}

/** Certificates, and every other value the Workload API concatenates, are DER SEQUENCEs. */
const SEQUENCE = 0x30;

/** The total length (header + content) of the DER SEQUENCE starting at `offset`. */
function derLength(der: Uint8Array, offset: number): number {
  if (offset + 2 > der.length) throw new DerError(`truncated DER header at byte ${offset}`);
  const tag = der[offset]!;
  if (tag !== SEQUENCE) {
    throw new DerError(`byte ${offset}: expected a DER SEQUENCE (tag 0x30), found tag 0x${tag.toString(16).padStart(2, '0')}`);
  }
  const first = der[offset + 1]!;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  // 0x80 is BER's indefinite length; more than 4 octets would exceed any certificate.
  if (octets === 0 || octets > 4) throw new DerError(`byte ${offset}: invalid DER length encoding`);
  if (offset + 2 + octets > der.length) throw new DerError(`truncated DER length at byte ${offset}`);
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + der[offset + 2 + i]!;
  if (length < 0x80 || der[offset + 2] === 0) throw new DerError(`byte ${offset}: length is not in minimal DER form`);
  return 2 + octets + length;
}

/** Splits back-to-back DER SEQUENCEs (e.g. certificates); throws on truncation or trailing bytes. */
export function splitDerSequence(der: Uint8Array): Uint8Array[] {
  const items: Uint8Array[] = [];
  let offset = 0;
  while (offset < der.length) {
    const length = derLength(der, offset);
    if (offset + length > der.length) {
      throw new DerError(`truncated DER value at byte ${offset}: needs ${length} bytes, ${der.length - offset} left`);
    }
    items.push(der.subarray(offset, offset + length));
    offset += length;
  }
  return items;
}
