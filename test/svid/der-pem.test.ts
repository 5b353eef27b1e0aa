import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { DerError, PemError, certificatesToPem, decodePem, encodePem, parseX509Bundle, privateKeyToPem, splitDerSequence, TrustDomain, X509BundleError } from '../../src/spiffe/svid/index.ts';
import { Authority } from './support.ts';

const root = await Authority.root('example.org');
const intermediate = await root.intermediate();
const leaf = await intermediate.leaf('spiffe://example.org/w');
const chain = Buffer.concat([leaf.der, intermediate.der, root.der]);

test('concatenated DER splits into its items, byte for byte', () => {
  const parts = splitDerSequence(chain);
  assert.deepEqual(parts.map((part) => Buffer.from(part)), [leaf.der, intermediate.der, root.der]);
  assert.deepEqual(splitDerSequence(new Uint8Array(0)), []);
  assert.deepEqual(splitDerSequence(Uint8Array.from([0x30, 0x00, 0x30, 0x01, 0x05])).map((part) => [...part]), [[0x30, 0x00], [0x30, 0x01, 0x05]]);
});

test('truncation, trailing garbage and non-DER lengths are refused with the byte offset', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated value', chain.subarray(0, chain.length - 1), new RegExp(`truncated DER value at byte ${leaf.der.length + intermediate.der.length}`)],
    ['truncated header', Buffer.concat([leaf.der, Buffer.from([0x30])]), new RegExp(`truncated DER header at byte ${leaf.der.length}`)],
    ['truncated length', Uint8Array.from([0x30, 0x82, 0x01]), /truncated DER length at byte 0/],
    ['trailing zero bytes', Buffer.concat([leaf.der, Buffer.from([0, 0])]), new RegExp(`byte ${leaf.der.length}: expected a DER SEQUENCE \\(tag 0x30\\), found tag 0x00`)],
    ['text', Buffer.from('hello'), /byte 0: expected a DER SEQUENCE/],
    ['indefinite length (BER)', Uint8Array.from([0x30, 0x80, 0x00, 0x00]), /invalid DER length encoding/],
    ['non-minimal length', Uint8Array.from([0x30, 0x81, 0x01, 0x00]), /not in minimal DER form/],
    ['length with a leading zero octet', Uint8Array.from([0x30, 0x82, 0x00, 0x81, ...new Array(0x81).fill(0)]), /not in minimal DER form/],
    ['huge length', Uint8Array.from([0x30, 0x85, 1, 0, 0, 0, 0]), /invalid DER length encoding/],
  ];
  for (const [name, der, reason] of cases) {
    assert.throws(() => splitDerSequence(der), (error: unknown) => error instanceof DerError && reason.test(error.message), name);
  }
});

test('PEM: certificates and PKCS#8 keys round-trip, in 64-character lines', () => {
  const certificates = splitDerSequence(chain).map((der) => new X509Certificate(der));
  const pem = certificatesToPem(certificates);
  const blocks = decodePem(pem);
  assert.deepEqual(blocks.map((block) => block.label), ['CERTIFICATE', 'CERTIFICATE', 'CERTIFICATE']);
  assert.deepEqual(blocks.map((block) => Buffer.from(block.der)), [leaf.der, intermediate.der, root.der]);
  assert.ok(pem.endsWith('-----END CERTIFICATE-----\n'));
  const body = encodePem('CERTIFICATE', leaf.der).split('\n').slice(1, -2);
  assert.ok(body.length > 1 && body.slice(0, -1).every((line) => line.length === 64) && body.at(-1)!.length <= 64, 'full lines are 64 characters');
  assert.equal(new X509Certificate(pem).fingerprint256, certificates[0]!.fingerprint256);

  const keyPem = privateKeyToPem(createPrivateKey({ key: leaf.keyDer, format: 'der', type: 'pkcs8' }));
  assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.deepEqual(decodePem(keyPem).map((block) => [block.label, Buffer.from(block.der)]), [['PRIVATE KEY', leaf.keyDer]]);
  assert.equal(encodePem('X', Buffer.from('hi')), '-----BEGIN X-----\naGk=\n-----END X-----\n');
  assert.equal(encodePem('EMPTY', new Uint8Array(0)), '-----BEGIN EMPTY-----\n-----END EMPTY-----\n');
});

test('PEM decoding ignores text between blocks, accepts CRLF, and refuses broken blocks', () => {
  const pem = encodePem('CERTIFICATE', root.der);
  const decorated = `subject=CN=root\r\n${pem.replaceAll('\n', '\r\n')}trailing words\n${encodePem('X509 CRL', Buffer.from([1, 2, 3]))}`;
  assert.deepEqual(decodePem(decorated).map((block) => block.label), ['CERTIFICATE', 'X509 CRL']);
  assert.deepEqual(decodePem('no pem here'), []);
  const [begin, ...rest] = pem.trimEnd().split('\n');
  const cases: [string, string, RegExp][] = [
    ['mismatched END', pem.replace('END CERTIFICATE', 'END PRIVATE KEY'), /"END PRIVATE KEY" closes the "BEGIN CERTIFICATE" of line 1/],
    ['no END', rest.length > 0 ? pem.replace(/-----END CERTIFICATE-----\n$/, '') : pem, /"CERTIFICATE" of line 1 has no END line/],
    ['bad base64', pem.replace(/\n[A-Za-z0-9+/]{4}/, '\n!!!!'), /"CERTIFICATE" of line 1: the content is not valid base64/],
    ['encryption headers', [begin, 'Proc-Type: 4,ENCRYPTED', ...rest].join('\n'), /line 2: unexpected "Proc-Type: 4,ENCRYPTED" inside the "CERTIFICATE" block/],
    ['nested BEGIN', [begin, begin, ...rest].join('\n'), /line 2: unexpected/],
  ];
  for (const [name, text, reason] of cases) {
    assert.throws(() => decodePem(text), (error: unknown) => error instanceof PemError && reason.test(error.message), name);
  }
});

test('a bundle sent again unchanged is not parsed again; changed bytes are', () => {
  const td = TrustDomain.parse('reuse.example.org');
  const sent = Buffer.concat([root.der, intermediate.der]);
  const first = parseX509Bundle(td, sent);
  assert.equal(parseX509Bundle(td, Buffer.from(sent)), first, 'equal bytes in another buffer: the same parse');
  sent.fill(0, sent.length - 4); // inside the intermediate's signature: still a certificate
  const changed = parseX509Bundle(td, sent);
  assert.notEqual(changed, first, 'the kept copy is not the caller\'s buffer, which changed');
  assert.deepEqual(changed.authorities[1]!.raw, sent.subarray(root.der.length));
  const other = parseX509Bundle(td, root.der);
  assert.notEqual(other, first);
  assert.deepEqual(other.authorities.map((ca) => ca.raw), [root.der]);
  assert.notEqual(parseX509Bundle(TrustDomain.parse('other.example.org'), root.der), other, 'kept per trust domain');
});

test('X.509 bundles parse from concatenated DER; empty is no authorities; garbage is refused', () => {
  const td = TrustDomain.parse('example.org');
  const bundle = parseX509Bundle(td, Buffer.concat([root.der, intermediate.der]));
  assert.ok(bundle.trustDomain.equals(td));
  assert.deepEqual(bundle.authorities.map((ca) => ca.raw), [root.der, intermediate.der]);
  assert.deepEqual(parseX509Bundle(td, new Uint8Array(0)).authorities, []);
  assert.throws(() => parseX509Bundle(td, Buffer.from([1, 2, 3])), (error: unknown) => error instanceof X509BundleError && /example.org is not concatenated DER: byte 0/.test(error.message));
  assert.throws(() => parseX509Bundle(td, Buffer.concat([root.der, leaf.keyDer])), (error: unknown) => error instanceof X509BundleError && /example.org: item 1 is not a certificate/.test(error.message));
});
