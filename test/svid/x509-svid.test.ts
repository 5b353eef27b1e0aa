import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509SvidError, parseX509Svid } from '../../src/spiffe/svid/index.ts';
import { Authority, KeyUsage, Purpose, keyUsageExtension, strayKeyDer, type CertOptions } from './support.ts';

const ID = 'spiffe://example.org/workload';
const root = await Authority.root('example.org');
const intermediate = await root.intermediate({ uris: ['spiffe://example.org'] });
const { digitalSignature, keyEncipherment, keyAgreement, keyCertSign, cRLSign } = KeyUsage;

function refuses(chain: Buffer, key: Buffer, reason: RegExp, name: string): void {
  assert.throws(() => parseX509Svid(chain, key), (error: unknown) => {
    assert.ok(error instanceof X509SvidError, `${name}: ${String(error)}`);
    assert.match(error.message, reason, name);
    return true;
  });
}

test('a leaf signed by the root parses into its ID, chain, key, hint and validity', async () => {
  const leaf = await root.leaf(ID);
  const svid = parseX509Svid(leaf.der, leaf.keyDer, 'internal');
  assert.equal(svid.id.toString(), ID);
  assert.equal(svid.hint, 'internal');
  assert.equal(svid.certificates.length, 1);
  assert.deepEqual(svid.certificates[0]!.raw, leaf.der);
  assert.deepEqual(svid.notAfter, svid.certificates[0]!.validToDate);
  assert.deepEqual(svid.notBefore, svid.certificates[0]!.validFromDate);
  assert.equal(svid.privateKey.type, 'private');
  assert.deepEqual(Buffer.from(svid.privateKeyDer), leaf.keyDer, 'the key as sent, for writing without an export');
  assert.equal(parseX509Svid(leaf.der, leaf.keyDer).hint, '');
});

test('leaf-first chains with intermediates parse; extra SAN types and optional usages are allowed', async () => {
  const viaIntermediate = await intermediate.leaf(ID);
  const svid = parseX509Svid(Buffer.concat([viaIntermediate.der, intermediate.der]), viaIntermediate.keyDer);
  assert.equal(svid.certificates.length, 2);
  const allowed: [string, CertOptions][] = [
    ['RSA key with keyEncipherment', { rsa: true, keyUsage: digitalSignature | keyEncipherment }],
    ['keyAgreement', { keyUsage: digitalSignature | keyAgreement }],
    ['DNS SANs beside the URI SAN', { dnsNames: ['web.example.org', 'localhost'] }],
    ['no extended key usage (only SHOULD)', { purposes: null }],
    ['no basic constraints (cA defaults to false)', { isCa: null }],
    ['empty subject with a critical SAN extension', { subject: '', sanCritical: true }],
  ];
  for (const [name, options] of allowed) {
    const leaf = await root.leaf(ID, options);
    assert.doesNotThrow(() => parseX509Svid(leaf.der, leaf.keyDer), name);
  }
});

test('every leaf rule of X509-SVID.md refuses what it forbids, naming the SPIFFE ID', async () => {
  const cases: [string, CertOptions, RegExp][] = [
    ['two URI SANs', { uris: [ID, 'spiffe://example.org/other'] }, /exactly one URI SAN, it has 2 \("spiffe:\/\/example.org\/workload", "spiffe/],
    ['no URI SAN', { uris: [], dnsNames: ['example.org'] }, /exactly one URI SAN, it has 0$/],
    ['URI SAN not a SPIFFE ID', { uris: ['https://example.org/a'] }, /URI SAN is not a SPIFFE ID: "https:\/\/example.org\/a"/],
    ['URI SAN breaking SPIFFE-ID.md', { uris: ['spiffe://Example.org/a'] }, /not a SPIFFE ID: .*lowercase/],
    ['leaf ID without a path', { uris: ['spiffe://example.org'] }, /spiffe:\/\/example.org: a leaf SPIFFE ID must have a path/],
    ['leaf is a CA', { isCa: true }, /workload: the leaf certificate must not be a CA/],
    ['no key usage', { keyUsage: null }, /no key usage extension/],
    ['key usage not critical', { keyUsageCritical: false }, /key usage extension must be critical/],
    ['no digitalSignature', { keyUsage: keyEncipherment }, /must include digitalSignature/],
    ['keyCertSign on a leaf', { keyUsage: digitalSignature | keyCertSign }, /must not include keyCertSign/],
    ['cRLSign on a leaf', { keyUsage: digitalSignature | cRLSign }, /must not include cRLSign/],
    ['EKU without clientAuth', { purposes: [Purpose.serverAuth] }, /must include both serverAuth and clientAuth/],
    ['EKU without serverAuth', { purposes: [Purpose.clientAuth] }, /must include both serverAuth and clientAuth/],
    ['empty subject, SAN not critical', { subject: '' }, /empty subject, so its SAN extension must be critical/],
    // The first instance says CA key, the second leaf key: reading either one alone would decide wrongly.
    ['key usage twice', { keyUsage: digitalSignature | keyCertSign, extraExtensions: [keyUsageExtension(digitalSignature)] }, /leaf certificate's extensions cannot be read: extension 2.5.29.15 appears more than once/],
  ];
  for (const [name, options, reason] of cases) {
    const leaf = await root.leaf(ID, options);
    refuses(leaf.der, leaf.keyDer, reason, name);
  }
});

test('signing certificates must be CAs with keyCertSign, and path-less when they carry a SPIFFE ID', async () => {
  const cases: [string, CertOptions, RegExp][] = [
    ['intermediate not a CA', { isCa: false }, /certificate 1 of the chain signs the chain but is not a CA/],
    ['intermediate without basic constraints', { isCa: null }, /certificate 1 of the chain signs the chain but is not a CA/],
    ['intermediate without keyCertSign', { keyUsage: cRLSign }, /key usage lacks keyCertSign/],
    ['intermediate without key usage', { keyUsage: null }, /key usage lacks keyCertSign/],
    ['intermediate SPIFFE ID with a path', { uris: ['spiffe://example.org/ca'] }, /its SPIFFE ID spiffe:\/\/example.org\/ca must not have a path/],
    ['intermediate SPIFFE ID invalid', { uris: ['spiffe://example.org/a/'] }, /URI SAN that is not a valid SPIFFE ID/],
    ['intermediate SVID key usage not critical', { uris: ['spiffe://example.org'], keyUsageCritical: false }, /signing SVID, so its key usage extension must be critical/],
  ];
  for (const [name, options, reason] of cases) {
    const ca = await root.intermediate(options);
    const leaf = await ca.leaf(ID);
    refuses(Buffer.concat([leaf.der, ca.der]), leaf.keyDer, reason, name);
  }
  const plainCa = await root.intermediate({ uris: [], keyUsageCritical: false });
  const leaf = await plainCa.leaf(ID);
  assert.doesNotThrow(() => parseX509Svid(Buffer.concat([leaf.der, plainCa.der]), leaf.keyDer), 'a non-SVID CA is held to keyCertSign and cA only');
});

test('the chain must start with the leaf', async () => {
  const leaf = await intermediate.leaf(ID);
  refuses(Buffer.concat([intermediate.der, leaf.der]), leaf.keyDer, /spiffe:\/\/example.org: a leaf SPIFFE ID must have a path/, 'intermediate first');
});

test('the private key must be an unencrypted PKCS#8 key matching the leaf', async () => {
  const leaf = await root.leaf(ID);
  refuses(leaf.der, await strayKeyDer(), /workload: the private key does not match the leaf certificate's public key/, 'stray key');
  refuses(leaf.der, Buffer.from('junk'), /not an unencrypted DER PKCS#8 key/, 'junk key');
  refuses(leaf.der, Buffer.alloc(0), /not an unencrypted DER PKCS#8 key/, 'empty key');
  const rsaLeaf = await root.leaf(ID, { rsa: true });
  refuses(leaf.der, rsaLeaf.keyDer, /does not match/, 'key of another type');
});

test('garbage, empty and truncated chains are refused', async () => {
  const leaf = await root.leaf(ID);
  refuses(Buffer.alloc(0), leaf.keyDer, /chain is empty/, 'empty');
  refuses(Buffer.from('not der at all'), leaf.keyDer, /not valid DER certificates: byte 0: expected a DER SEQUENCE/, 'text');
  refuses(leaf.der.subarray(0, leaf.der.length - 1), leaf.keyDer, /not valid DER certificates: truncated/, 'truncated');
  refuses(Buffer.concat([leaf.der, Buffer.from([0, 0])]), leaf.keyDer, /not valid DER certificates/, 'trailing bytes');
  refuses(Buffer.concat([leaf.der, leaf.keyDer]), leaf.keyDer, /not valid DER certificates/, 'a key where a certificate belongs');
});
