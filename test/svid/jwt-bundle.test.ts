import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { JwtBundleError, TrustDomain, parseJwtBundle } from '../../src/spiffe/svid/index.ts';
import { jwks, jwtSigner } from './support.ts';

const td = TrustDomain.parse('example.org');
const ec = jwtSigner('ES256', 'ec-key');
const rsa = jwtSigner('RS256', 'rsa-key');
const jwk = (signer: typeof ec) => ({ ...signer.publicKey.export({ format: 'jwk' }), kid: signer.kid });

test('a SPIRE-style JWKS (no "use") yields its EC and RSA keys by kid, and keeps the bytes', () => {
  const bytes = jwks([ec, rsa]);
  const bundle = parseJwtBundle(td, bytes);
  assert.ok(bundle.trustDomain.equals(td));
  assert.deepEqual([...bundle.keys.keys()], ['ec-key', 'rsa-key']);
  assert.ok(bundle.keys.get('ec-key')!.equals(ec.publicKey));
  assert.ok(bundle.keys.get('rsa-key')!.equals(rsa.publicKey));
  assert.equal(bundle.jwks, bytes);
  assert.equal(parseJwtBundle(td, jwks([ec], { use: 'jwt-svid' })).keys.size, 1, 'use "jwt-svid" is a JWT authority too');
  assert.equal(parseJwtBundle(td, Buffer.from('{"keys":[],"spiffe_sequence":3}')).keys.size, 0, 'an empty JWKS is a bundle with no keys');
});

test('keys for other uses and key types no JWT-SVID algorithm uses are skipped', () => {
  const okp = { ...generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }), kid: 'ed' };
  const x509 = { ...jwk(ec), kid: undefined, use: 'x509-svid', x5c: ['AAAA'] };
  const secret = { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' };
  const bundle = parseJwtBundle(td, Buffer.from(JSON.stringify({ keys: [x509, okp, secret, jwk(rsa)] })));
  assert.deepEqual([...bundle.keys.keys()], ['rsa-key']);
});

test('bad documents and bad keys are refused with what is wrong and where, never the key', () => {
  const privateJwk = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'leaked' };
  const cases: [string, string, RegExp][] = [
    ['not JSON', 'not json', /example.org: not a JSON document/],
    ['not UTF-8 JSON', '\u0000', /not a JSON document/],
    ['no keys array', '{"nokeys":[]}', /no "keys" array/],
    ['keys not an array', '{"keys":{}}', /no "keys" array/],
    ['JSON array', '[]', /no "keys" array/],
    ['key not an object', '{"keys":[42]}', /keys\[0\] is not an object/],
    ['missing kid', JSON.stringify({ keys: [{ ...jwk(ec), kid: undefined }] }), /keys\[0\] has no "kid"/],
    ['empty kid', JSON.stringify({ keys: [{ ...jwk(ec), kid: '' }] }), /keys\[0\] has no "kid"/],
    ['missing kty', JSON.stringify({ keys: [{ kid: 'k' }] }), /keys\[0\] has no "kty"/],
    ['duplicate kid', JSON.stringify({ keys: [jwk(ec), { ...jwk(rsa), kid: 'ec-key' }] }), /keys\[1\] repeats the kid "ec-key"/],
    ['broken EC point', JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', kid: 'k' }] }), /keys\[0\] \(kid "k"\) is not a usable EC public key/],
    ['RSA without modulus', JSON.stringify({ keys: [{ kty: 'RSA', e: 'AQAB', kid: 'r' }] }), /keys\[0\] \(kid "r"\) is not a usable RSA public key/],
    ['private key material', JSON.stringify({ keys: [privateJwk] }), /keys\[0\] \(kid "leaked"\) holds private key material/],
  ];
  for (const [name, text, reason] of cases) {
    assert.throws(() => parseJwtBundle(td, Buffer.from(text)), (error: unknown) => {
      assert.ok(error instanceof JwtBundleError, name);
      assert.match(error.message, reason, name);
      assert.ok(!error.message.includes(String(privateJwk.d)) && !error.message.includes(String(privateJwk.x)), `${name}: no key material`);
      return true;
    });
  }
});
