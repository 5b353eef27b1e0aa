import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  JwtBundleError,
  JwtSvidError,
  TrustDomain,
  parseJwtBundle,
  parseJwtSvidInsecure,
  validateJwtSvid,
  type JwtBundleSet,
} from '../../src/svid/index.ts';
import { TestCa } from '../support/test-ca.ts';

const ID = 'spiffe://example.org/workload';
const ca = await TestCa.create('example.org');
const td = TrustDomain.parse('example.org');
const bundles: JwtBundleSet = new Map([['example.org', parseJwtBundle(td, ca.jwks())]]);

test('a valid token validates and exposes its claims', () => {
  const token = ca.issueJwt(ID, ['db', 'cache'], { claims: { extra: 1 } });
  const svid = validateJwtSvid(token, bundles, 'cache');
  assert.equal(svid.id.toString(), ID);
  assert.deepEqual(svid.audience, ['db', 'cache']);
  assert.equal(svid.claims.extra, 1);
  assert.ok(svid.expiresAt.getTime() > Date.now());
  assert.ok(svid.issuedAt !== undefined);
});

test('a single-string aud claim is accepted', () => {
  const token = ca.issueJwt(ID, [], { claims: { aud: 'db' } });
  assert.deepEqual(validateJwtSvid(token, bundles, 'db').audience, ['db']);
});

test('every validation rule refuses a bad token', () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, string, RegExp][] = [
    ['bad signature', ca.issueJwt(ID, ['db'], { key: other }), /signature does not verify/],
    ['unknown kid', ca.issueJwt(ID, ['db'], { header: { kid: 'nope' } }), /key "nope" is not in/],
    ['no kid', ca.issueJwt(ID, ['db'], { header: { kid: undefined } }), /no "kid"/],
    ['alg none', ca.issueJwt(ID, ['db'], { header: { alg: 'none' } }), /algorithm "none" is not allowed/],
    ['alg HS256', ca.issueJwt(ID, ['db'], { header: { alg: 'HS256' } }), /algorithm "HS256" is not allowed/],
    ['audience mismatch', ca.issueJwt(ID, ['other']), /audience "db" is not in/],
    ['audience missing', ca.issueJwt(ID, [], { claims: { aud: undefined } }), /no "aud" claim/],
    ['expired', ca.issueJwt(ID, ['db'], { claims: { exp: now - 10 } }), /expired at/],
    ['not yet valid', ca.issueJwt(ID, ['db'], { claims: { nbf: now + 600 } }), /not valid before/],
    ['no exp', ca.issueJwt(ID, ['db'], { claims: { exp: undefined } }), /no "exp" claim/],
    ['sub not a SPIFFE ID', ca.issueJwt('https://example.org/x', ['db']), /"sub" is not a SPIFFE ID/],
    ['unknown trust domain', ca.issueJwt('spiffe://other.org/x', ['db']), /no JWT bundle for trust domain other.org/],
    ['not a JWS', 'abc.def', /three dot-separated parts/],
    ['garbage header', 'e30.!!!.x', /payload is not base64url JSON|not a JSON object/],
  ];
  for (const [name, token, reason] of cases) {
    assert.throws(() => validateJwtSvid(token, bundles, 'db'), (error: unknown) => {
      assert.ok(error instanceof JwtSvidError, name);
      assert.match(error.message, reason, name);
      assert.ok(!error.message.includes(token) || token.length < 10, `${name}: the message must not carry the token`);
      return true;
    });
  }
});

test('parseJwtSvidInsecure checks structure but not the signature', () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const svid = parseJwtSvidInsecure(ca.issueJwt(ID, ['db'], { key: other }), 'h');
  assert.equal(svid.hint, 'h');
  assert.throws(() => parseJwtSvidInsecure(ca.issueJwt(ID, ['db'], { header: { alg: 'none' } })), /not allowed/);
  assert.throws(() => parseJwtSvidInsecure(ca.issueJwt('not-an-id', ['db'])), /not a SPIFFE ID/);
});

test('JWKS bundles: SPIRE style without use, RSA keys, and bad documents', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
  const doc = { keys: [{ ...rsa, kid: 'r' }, { ...ec, kid: 'e' }, { ...ec, kid: 'x', use: 'x509-svid' }] };
  const bundle = parseJwtBundle(td, Buffer.from(JSON.stringify(doc)));
  assert.deepEqual([...bundle.keys.keys()], ['r', 'e']);
  assert.equal(bundle.keys.get('r')!.asymmetricKeyType, 'rsa');
  const bad: [unknown, RegExp][] = [
    ['not json', /not a JSON document/],
    [{ nokeys: [] }, /no "keys" array/],
    [{ keys: [{ ...ec }] }, /keys\[0\] has no "kid"/],
    [{ keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', kid: 'k' }] }, /keys\[0\] \(kid "k"\) is not a usable public key/],
  ];
  for (const [document, reason] of bad) {
    const bytes = Buffer.from(typeof document === 'string' ? document : JSON.stringify(document));
    assert.throws(() => parseJwtBundle(td, bytes), (error: unknown) => error instanceof JwtBundleError && reason.test(error.message));
  }
});
