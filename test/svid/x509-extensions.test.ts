import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DerError } from '../../src/spiffe/svid/index.ts';
import { readSvidExtensions } from '../../src/spiffe/svid/x509-extensions.ts';

// Certificates built byte by byte, so each can carry exactly one encoding fault that a certificate
// issuer would never produce; signatures are never read here, so they are empty.

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const octets: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256);
  return [0x80 | octets.length, ...octets];
}
const tlv = (tag: number, ...content: (number[] | Uint8Array)[]): number[] => {
  const bytes = content.flatMap((part) => [...part]);
  return [tag, ...length(bytes.length), ...bytes];
};
const seq = (...content: number[][]) => tlv(0x30, ...content);
function oid(dotted: string): number[] {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const body = [a! * 40 + b!];
  for (const arc of rest) {
    const septets = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) septets.unshift(0x80 | (v & 0x7f));
    body.push(...septets);
  }
  return tlv(0x06, body);
}
const ascii = (text: string) => [...Buffer.from(text, 'latin1')];
const TRUE = tlv(0x01, [0xff]);

/** An Extension with its extnValue as given (already DER, or deliberately not). */
const extension = (id: string, critical: boolean, value: number[]) => seq(oid(id), critical ? TRUE : [], tlv(0x04, value));

function certificate(extensions: number[][], options: { subject?: number[] } = {}): Uint8Array {
  const time = tlv(0x17, ascii('260101000000Z'));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, [2])),
    tlv(0x02, [1]),
    seq(oid('1.2.840.10045.4.3.2')),
    seq(),
    seq(time, time),
    options.subject ?? seq(tlv(0x31, seq(oid('2.5.4.10'), tlv(0x0c, ascii('SPIFFE'))))),
    seq(seq(oid('1.2.840.10045.2.1')), tlv(0x03, [0])),
    tlv(0xa3, seq(...extensions)),
  );
  return Uint8Array.from(seq(tbs, seq(oid('1.2.840.10045.4.3.2')), tlv(0x03, [0])));
}

const leafUsage = extension('2.5.29.15', true, tlv(0x03, [0x07, 0x80])); // digitalSignature
const san = (...names: number[][]) => extension('2.5.29.17', false, seq(...names));
const uri = (text: string) => tlv(0x86, ascii(text));

test('the walker reads every fact the SVID rules use', () => {
  const leaf = readSvidExtensions(
    certificate([
      extension('2.5.29.19', true, seq()),
      extension('2.5.29.15', true, tlv(0x03, [0x05, 0xa0])), // digitalSignature, keyEncipherment
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'))),
      san(uri('spiffe://example.org/w'), tlv(0x82, ascii('w.example.org')), tlv(0x87, [127, 0, 0, 1]), tlv(0xa4, seq())),
      extension('1.3.6.1.4.1.99999.1', true, tlv(0x05, [])),
      extension('1.3.6.1.4.1.99999.2', false, tlv(0x05, [])),
    ], { subject: seq() }),
  );
  assert.deepEqual(leaf, {
    isCa: false,
    pathLength: undefined,
    keyUsage: { critical: true, flags: 0b101 },
    extKeyUsage: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
    uriSans: ['spiffe://example.org/w'],
    dnsSans: ['w.example.org'],
    sanCritical: false,
    subjectEmpty: true,
    nameConstraints: undefined,
    unknownCritical: ['1.3.6.1.4.1.99999.1'],
  });

  const subtree = (name: number[]) => seq(name);
  const ca = readSvidExtensions(
    certificate([
      extension('2.5.29.19', true, seq(TRUE, tlv(0x02, [0x00, 0xc8]))),
      extension('2.5.29.15', true, tlv(0x03, [0x01, 0x06])), // keyCertSign, cRLSign
      extension('2.5.29.30', true, seq(tlv(0xa0, subtree(uri('example.org')), subtree(tlv(0x82, ascii('internal')))), tlv(0xa1, subtree(tlv(0x81, ascii('x@y')))))),
    ]),
  );
  assert.equal(ca.isCa, true);
  assert.equal(ca.pathLength, 200);
  assert.equal(ca.keyUsage?.flags, (1 << 5) | (1 << 6));
  assert.equal(ca.subjectEmpty, false);
  assert.deepEqual(ca.nameConstraints, {
    permitted: [{ type: 'uniformResourceIdentifier', text: 'example.org' }, { type: 'dNSName', text: 'internal' }],
    excluded: [{ type: 'rfc822Name', text: undefined }],
  });
  assert.deepEqual(readSvidExtensions(certificate([])).uriSans, [], 'no extensions at all');
});

test('malformed DER is refused with the field and byte offset', () => {
  const good = certificate([leafUsage, san(uri('spiffe://example.org/w'))]);
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /certificate: missing at byte 0/],
    ['truncated', good.subarray(0, good.length - 1), /certificate: truncated DER value at byte 0/],
    ['trailing bytes', Uint8Array.from([...good, 0x00]), new RegExp(`certificate: 1 unexpected bytes at byte ${good.length}`)],
    ['indefinite length', Uint8Array.from([0x30, 0x80, ...good.subarray(2), 0, 0]), /invalid DER length encoding/],
    ['non-minimal length', Uint8Array.from([0x30, 0x81, 0x05, 0x02, 0x01, 0x01, 0x30, 0x00]), /length is not in minimal DER form/],
    ['a length past its container', certificate([extension('2.5.29.17', false, [0x30, 0x7f, ...uri('spiffe://example.org/w')])]), /extension 2.5.29.17: subjectAltName: truncated DER value/],
    ['bytes after an extension value', certificate([extension('2.5.29.15', true, [...tlv(0x03, [0x07, 0x80]), 0x00])]), /extension 2.5.29.15: keyUsage: 1 unexpected bytes/],
    ['a SET where the SAN SEQUENCE belongs', certificate([extension('2.5.29.17', false, tlv(0x31, uri('spiffe://example.org/w')))]), /subjectAltName at byte \d+: expected tag 0x30, found 0x31/],
    ['a BOOLEAN that is not 0x00 or 0xff', certificate([seq(oid('2.5.29.15'), tlv(0x01, [0x01]), tlv(0x04, tlv(0x03, [0x07, 0x80])))]), /BOOLEAN at byte \d+: not one octet/],
    ['a negative path length', certificate([extension('2.5.29.19', true, seq(TRUE, tlv(0x02, [0xff])))]), /extension 2.5.29.19: INTEGER at byte \d+: negative/],
    ['an OID in non-minimal form', certificate([seq(tlv(0x06, [0x55, 0x80, 0x1d]), tlv(0x04, seq()))]), /OID at byte \d+: a subidentifier is not in minimal form/],
    ['a truncated OID', certificate([seq(tlv(0x06, [0x55, 0x9d]), tlv(0x04, seq()))]), /OID at byte \d+: empty or truncated/],
    ['key usage with 8 unused bits', certificate([extension('2.5.29.15', true, tlv(0x03, [0x08, 0x80]))]), /BIT STRING at byte \d+: invalid length or unused-bit count/],
    ['a URI SAN that is not ASCII', certificate([san(tlv(0x86, [...ascii('spiffe://example.org/'), 0xe9]))]), /IA5String at byte \d+: byte \d+ is not ASCII/],
    ['a tag that is no GeneralName', certificate([san(tlv(0x89, [1]))]), /GeneralName at byte \d+: tag 0x89 is not a GeneralName/],
    ['a primitive directoryName', certificate([san(tlv(0x84, []))]), /tag 0x84 is not a GeneralName/],
    ['an extension without its value', certificate([seq(oid('2.5.29.15'), TRUE)]), /extensions Extension extnValue: missing at byte/],
    ['an extension twice', certificate([leafUsage, leafUsage]), /extension 2.5.29.15 appears more than once/],
  ];
  for (const [name, der, reason] of cases) {
    assert.throws(() => readSvidExtensions(der), (error: unknown) => error instanceof DerError && reason.test(error.message), name);
  }
});
