/** Splitting concatenated DER values, the encoding of certificate chains and bundles on the wire. */

export class DerError extends Error {
  override name = 'DerError';
}

/** The total length (header + content) of the DER value starting at `offset`. */
function derLength(der: Uint8Array, offset: number): number {
  if (offset + 2 > der.length) throw new DerError(`truncated DER header at byte ${offset}`);
  if ((der[offset]! & 0x1f) === 0x1f) throw new DerError(`unsupported multi-byte DER tag at byte ${offset}`);
  const first = der[offset + 1]!;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4) throw new DerError(`invalid DER length encoding at byte ${offset}`);
  if (offset + 2 + octets > der.length) throw new DerError(`truncated DER length at byte ${offset}`);
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + der[offset + 2 + i]!;
  return 2 + octets + length;
}

/** Splits back-to-back DER values (e.g. certificates); throws on truncation or trailing bytes. */
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
