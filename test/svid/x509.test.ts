import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import {
  DerError,
  TrustDomain,
  X509SvidError,
  certificatesToPem,
  decodePem,
  encodePem,
  parseX509Bundle,
  parseX509Svid,
  privateKeyToPem,
  splitDerSequence,
  verifyX509Svid,
} from '../../src/svid/index.ts';
import { KeyUsage, TestCa } from '../support/test-ca.ts';

const ID = 'spiffe://example.org/workload';
const td = TrustDomain.parse('example.org');
const ca = await TestCa.create('example.org');
const caWithIntermediate = await TestCa.create('example.org', { intermediate: true });
const otherCa = await TestCa.create('other.org');

test('a valid SVID parses and verifies to its bundle', async () => {
  const issued = await ca.issueSvid(ID);
  const svid = parseX509Svid(issued.chainDer, issued.keyDer, 'internal');
  assert.equal(svid.id.toString(), ID);
  assert.equal(svid.hint, 'internal');
  assert.equal(svid.certificates.length, 1);
  assert.ok(svid.notAfter.getTime() > Date.now());
  verifyX509Svid(svid, parseX509Bundle(td, ca.bundleDer()));
});

test('a chain with an intermediate verifies to the root bundle', async () => {
  const issued = await caWithIntermediate.issueSvid(ID);
  const svid = parseX509Svid(issued.chainDer, issued.keyDer);
  assert.equal(svid.certificates.length, 2);
  verifyX509Svid(svid, parseX509Bundle(td, caWithIntermediate.bundleDer()));
});

test('leaf rules of X509-SVID.md are enforced', async () => {
  const { digitalSignature, keyCertSign, cRLSign, keyEncipherment } = KeyUsage;
  const cases: [string, Parameters<TestCa['issueSvid']>[1], RegExp][] = [
    ['two URI SANs', { uris: [ID, 'spiffe://example.org/other'] }, /exactly one URI SAN, it has 2/],
    ['no URI SAN', { uris: [] }, /exactly one URI SAN, it has 0/],
    ['URI SAN not a SPIFFE ID', { uris: ['https://example.org/a'] }, /not a SPIFFE ID/],
    ['leaf with root path', { uris: ['spiffe://example.org'] }, /must have a path/],
    ['leaf is a CA', { isCa: true }, /must not be a CA/],
    ['no key usage', { keyUsage: null }, /no key usage extension/],
    ['key usage not critical', { keyUsageCritical: false }, /must be critical/],
    ['no digitalSignature', { keyUsage: keyEncipherment }, /must include digitalSignature/],
    ['keyCertSign on leaf', { keyUsage: digitalSignature | keyCertSign }, /must not include keyCertSign/],
    ['cRLSign on leaf', { keyUsage: digitalSignature | cRLSign }, /must not include cRLSign/],
    ['key does not match', { wrongKey: true }, /does not match/],
  ];
  for (const [name, options, reason] of cases) {
    const issued = await ca.issueSvid(ID, options);
    assert.throws(() => parseX509Svid(issued.chainDer, issued.keyDer), (error: unknown) => {
      assert.ok(error instanceof X509SvidError, name);
      assert.match(error.message, reason, name);
      return true;
    });
  }
});

test('keyEncipherment and keyAgreement are allowed on a leaf', async () => {
  const { digitalSignature, keyEncipherment, keyAgreement } = KeyUsage;
  const issued = await ca.issueSvid(ID, { keyUsage: digitalSignature | keyEncipherment | keyAgreement });
  parseX509Svid(issued.chainDer, issued.keyDer);
});

test('a signing certificate in the chain must be a CA with keyCertSign', async () => {
  const leaf = await ca.issueSvid(ID);
  const notCa = await ca.issueSvid('spiffe://example.org/fake-ca');
  const chain = Buffer.concat([leaf.chainDer, notCa.chainDer]);
  assert.throws(() => parseX509Svid(chain, leaf.keyDer), /certificate 1 of the chain signs the chain but is not a CA/);
});

test('garbage chain, empty chain and a bad key are refused', async () => {
  const issued = await ca.issueSvid(ID);
  assert.throws(() => parseX509Svid(Buffer.alloc(0), issued.keyDer), /chain is empty/);
  assert.throws(() => parseX509Svid(Buffer.from('not der at all'), issued.keyDer), /not valid DER/);
  assert.throws(() => parseX509Svid(issued.chainDer, Buffer.from('junk')), /not an unencrypted DER PKCS#8 key/);
});

test('verification fails for another trust domain, a forged chain and expiry', async () => {
  const issued = await ca.issueSvid(ID);
  const svid = parseX509Svid(issued.chainDer, issued.keyDer);
  assert.throws(
    () => verifyX509Svid(svid, parseX509Bundle(TrustDomain.parse('other.org'), otherCa.bundleDer())),
    /bundle is for trust domain other.org/,
  );
  const forged = await ca.issueSvid(ID, { signer: otherCa.root });
  assert.throws(
    () => verifyX509Svid(parseX509Svid(forged.chainDer, forged.keyDer), parseX509Bundle(td, ca.bundleDer())),
    /does not verify to any authority/,
  );
  assert.throws(() => verifyX509Svid(svid, parseX509Bundle(td, ca.bundleDer()), new Date(Date.now() + 2 * 3600_000)), /expired at/);
  assert.throws(() => verifyX509Svid(svid, parseX509Bundle(td, ca.bundleDer()), new Date(Date.now() - 3600_000)), /not valid before/);
  const expired = await ca.issueSvid(ID, { notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) });
  assert.throws(() => verifyX509Svid(parseX509Svid(expired.chainDer, expired.keyDer), parseX509Bundle(td, ca.bundleDer())), /expired/);
});

test('an intermediate that did not sign the leaf breaks the chain', async () => {
  const leaf = await ca.issueSvid(ID);
  const unrelated = Buffer.from(caWithIntermediate.intermediate!.certificate.rawData);
  const svid = parseX509Svid(Buffer.concat([leaf.chainDer, unrelated]), leaf.keyDer);
  assert.throws(() => verifyX509Svid(svid, parseX509Bundle(td, caWithIntermediate.bundleDer())), /leaf certificate is not signed by certificate 1/);
});

test('DER splitting handles several certificates and refuses truncation and trailing bytes', async () => {
  const a = await caWithIntermediate.issueSvid(ID);
  const parts = splitDerSequence(a.chainDer);
  assert.equal(parts.length, 2);
  assert.deepEqual(Buffer.from(parts[0]!), a.certificates[0]);
  assert.throws(() => splitDerSequence(a.chainDer.subarray(0, a.chainDer.length - 5)), DerError);
  assert.throws(() => splitDerSequence(Buffer.concat([a.chainDer, Buffer.from([0x30])])), DerError);
  assert.deepEqual(splitDerSequence(Buffer.alloc(0)), []);
});

test('PEM encodes and decodes certificates and keys', async () => {
  const issued = await caWithIntermediate.issueSvid(ID);
  const svid = parseX509Svid(issued.chainDer, issued.keyDer);
  const pem = certificatesToPem(svid.certificates);
  const blocks = decodePem(pem);
  assert.deepEqual(blocks.map((b) => b.label), ['CERTIFICATE', 'CERTIFICATE']);
  assert.ok(new X509Certificate(Buffer.from(blocks[0]!.der)).verify(new X509Certificate(Buffer.from(blocks[1]!.der)).publicKey));
  assert.ok(pem.split('\n').every((line) => line.length <= 64));
  const keyPem = privateKeyToPem(svid.privateKey);
  assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.deepEqual(Buffer.from(decodePem(keyPem)[0]!.der), issued.keyDer);
  assert.equal(encodePem('X', Buffer.from('hi')), '-----BEGIN X-----\naGk=\n-----END X-----\n');
});

test('bundles parse from concatenated DER and refuse garbage', () => {
  const bundle = parseX509Bundle(td, Buffer.concat([ca.bundleDer(), otherCa.bundleDer()]));
  assert.equal(bundle.authorities.length, 2);
  assert.throws(() => parseX509Bundle(td, Buffer.alloc(0)), /empty/);
  assert.throws(() => parseX509Bundle(td, Buffer.from([1, 2, 3])), /not valid DER/);
});
