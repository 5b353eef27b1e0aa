import { test } from 'node:test';
import { generateKeyPairSync, verify } from 'node:crypto';
import assert from 'node:assert/strict';
import { JwtSvidError, TrustDomain, parseJwtBundle, parseJwtSvidInsecure, validateJwtSvid, type JwtBundleSet } from '../../src/spiffe/svid/index.ts';
import { jwks, jwtSigner, signJwt, type JwtSigner } from './support.ts';

const ID = 'spiffe://example.org/workload';
const td = TrustDomain.parse('example.org');
const ALGS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const signers = new Map(ALGS.map((alg) => [alg, jwtSigner(alg, `kid-${alg}`)]));
const es256 = signers.get('ES256')!;
const bundles: JwtBundleSet = new Map([['example.org', parseJwtBundle(td, jwks([...signers.values()]))]]);
const now = () => Math.floor(Date.now() / 1000);

async function refused(token: string, reason: RegExp, name: string, check: () => unknown = () => validateJwtSvid(token, bundles, 'db')): Promise<void> {
  await assert.rejects(async () => check(), (error: unknown) => {
    assert.ok(error instanceof JwtSvidError, `${name}: ${String(error)}`);
    assert.match(error.message, reason, name);
    const signature = token.split('.')[2] ?? '';
    assert.ok(!error.message.includes(token) && (signature === '' || !error.message.includes(signature)), `${name}: the message must not carry the token`);
    return true;
  });
}

test('good tokens of every allowed algorithm validate and expose their claims', async () => {
  for (const [alg, signer] of signers) {
    const token = signJwt(signer, ID, ['db', 'cache'], { claims: { extra: alg, nbf: now() - 5 } });
    const svid = await validateJwtSvid(token, bundles, 'cache');
    assert.equal(svid.id.toString(), ID, alg);
    assert.deepEqual(svid.audience, ['db', 'cache'], alg);
    assert.equal(svid.claims.extra, alg);
    assert.equal(svid.token, token);
    assert.equal(svid.hint, '');
    assert.ok(svid.expiresAt.getTime() > Date.now() && svid.issuedAt!.getTime() <= Date.now(), alg);
  }
  assert.deepEqual((await validateJwtSvid(signJwt(es256, ID, 'db'), bundles, 'db')).audience, ['db'], 'a single-string aud');
  assert.equal((await validateJwtSvid(signJwt(es256, ID, 'db', { claims: { iat: undefined }, header: { typ: 'JOSE' } }), bundles, 'db')).issuedAt, undefined);
  await validateJwtSvid(signJwt(es256, ID, 'db', { header: { typ: undefined } }), bundles, 'db'); // typ is optional
});

test('signatures: forged, altered, or by a key that does not fit the algorithm, are refused', async () => {
  const stranger = jwtSigner('ES256', es256.kid);
  await refused(signJwt(es256, ID, 'db', { signWith: stranger.privateKey }), /spiffe:\/\/example.org\/workload: the signature does not verify with key "kid-ES256"/, 'forged');
  const good = signJwt(es256, ID, 'db');
  const [header, , signature] = good.split('.');
  const altered = `${header}.${Buffer.from(JSON.stringify({ sub: ID, aud: 'db', exp: now() + 9999 })).toString('base64url')}.${signature}`;
  await refused(altered, /signature does not verify/, 'altered claims');
  await refused(`${good.slice(0, -4)}AAAA`, /signature does not verify/, 'altered signature');
  await refused(`${good.split('.').slice(0, 2).join('.')}.`, /signature does not verify/, 'empty signature');
  const rsa = signers.get('RS256')!;
  await refused(signJwt({ ...rsa, alg: 'ES256' }, ID, 'db'), /key "kid-RS256" is not a key for ES256/, 'RSA key named by an ES256 token');
  await refused(signJwt({ ...signers.get('ES384')!, alg: 'ES256' }, ID, 'db'), /key "kid-ES384" is not a key for ES256/, 'P-384 key for ES256');
  await refused(signJwt({ ...es256, alg: 'RS256' }, ID, 'db'), /key "kid-ES256" is not a key for RS256/, 'EC key for RS256');
  await refused(signJwt(rsa, ID, 'db', { header: { alg: 'PS256' } }), /signature does not verify/, 'PKCS#1 v1.5 signature sent as PS256');

  // JWS carries ECDSA signatures as r||s (IEEE P1363), never in the DER form node:crypto defaults to.
  const [h, p, raw] = good.split('.') as [string, string, string];
  const derSignature = p1363ToDer(Buffer.from(raw, 'base64url'));
  assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), es256.publicKey, derSignature), 'the DER form is the same signature');
  await refused(`${h}.${p}.${derSignature.toString('base64url')}`, /signature does not verify/, 'ES256 signature in DER form');

  const weak: JwtSigner = { alg: 'RS256', kid: 'weak', ...generateKeyPairSync('rsa', { modulusLength: 1024 }) };
  const weakBundles = new Map([['example.org', parseJwtBundle(td, jwks([weak]))]]);
  const weakToken = signJwt(weak, ID, 'db');
  await refused(weakToken, /key "weak" is a 1024-bit RSA key; RS256 needs 2048 bits or more/, 'RSA key below 2048 bits', () => validateJwtSvid(weakToken, weakBundles, 'db'));
});

/** The DER ECDSA-Sig-Value of a P1363 r||s signature. */
function p1363ToDer(signature: Buffer): Buffer {
  const integer = (bytes: Buffer): Buffer => {
    let value = bytes;
    while (value.length > 1 && value[0] === 0 && value[1]! < 0x80) value = value.subarray(1);
    if (value[0]! >= 0x80) value = Buffer.concat([Buffer.from([0]), value]);
    return Buffer.concat([Buffer.from([0x02, value.length]), value]);
  };
  const half = signature.length / 2;
  const body = Buffer.concat([integer(signature.subarray(0, half)), integer(signature.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

test('header rules: alg allow-list, kid lookup, typ, and no other headers', async () => {
  const cases: [string, string, RegExp][] = [
    ['alg none', signJwt(es256, ID, 'db', { header: { alg: 'none' } }), /algorithm "none" is not allowed/],
    ['alg HS256', signJwt(es256, ID, 'db', { header: { alg: 'HS256' } }), /algorithm "HS256" is not allowed/],
    ['alg EdDSA', signJwt(es256, ID, 'db', { header: { alg: 'EdDSA' } }), /algorithm "EdDSA" is not allowed/],
    ['alg missing', signJwt(es256, ID, 'db', { header: { alg: undefined } }), /algorithm undefined is not allowed/],
    ['alg from the prototype', signJwt(es256, ID, 'db', { header: { alg: 'toString' } }), /algorithm "toString" is not allowed/],
    ['unknown kid', signJwt(es256, ID, 'db', { header: { kid: 'nope' } }), /key "nope" is not in the example.org bundle/],
    ['no kid', signJwt(es256, ID, 'db', { header: { kid: undefined } }), /no "kid" header/],
    ['kid not a string', signJwt(es256, ID, 'db', { header: { kid: 7 } }), /"kid" is not a string/],
    ['typ other', signJwt(es256, ID, 'db', { header: { typ: 'at+jwt' } }), /"typ" is "at\+jwt"; it must be "JWT" or "JOSE"/],
    ['extra header', signJwt(es256, ID, 'db', { header: { jku: 'https://evil.example/jwks' } }), /header has "jku"; only alg, kid and typ are allowed/],
  ];
  for (const [name, token, reason] of cases) await refused(token, reason, name);
});

test('claim rules: sub a SPIFFE ID of a known trust domain, aud holds the audience, exp and nbf hold', async () => {
  const cases: [string, string, RegExp][] = [
    ['audience mismatch', signJwt(es256, ID, ['other', 'more']), /audience "db" is not in its "aud" claim/],
    ['audience missing', signJwt(es256, ID, [], { claims: { aud: undefined } }), /workload has no "aud" claim/],
    ['audience empty', signJwt(es256, ID, []), /no "aud" claim/],
    ['audience not strings', signJwt(es256, ID, [], { claims: { aud: [1] } }), /no "aud" claim/],
    ['expired', signJwt(es256, ID, 'db', { claims: { exp: now() - 10 } }), /workload: it expired at/],
    ['exp missing', signJwt(es256, ID, 'db', { claims: { exp: undefined } }), /no "exp" claim/],
    ['exp not a number', signJwt(es256, ID, 'db', { claims: { exp: 'tomorrow' } }), /claim "exp" is not a NumericDate/],
    ['not yet valid', signJwt(es256, ID, 'db', { claims: { nbf: now() + 600 } }), /not valid before/],
    ['nbf beyond any date', signJwt(es256, ID, 'db', { claims: { nbf: 1e300 } }), /claim "nbf" is not a NumericDate/],
    ['exp beyond any date', signJwt(es256, ID, 'db', { claims: { exp: 1e300 } }), /claim "exp" is not a NumericDate/],
    ['iat beyond any date', signJwt(es256, ID, 'db', { claims: { iat: -1e300 } }), /claim "iat" is not a NumericDate/],
    ['sub missing', signJwt(es256, ID, 'db', { claims: { sub: undefined } }), /no "sub" claim/],
    ['sub not a SPIFFE ID', signJwt(es256, 'https://example.org/x', 'db'), /"sub" is not a SPIFFE ID: "https:\/\/example.org\/x"/],
    ['sub a bad SPIFFE ID', signJwt(es256, 'spiffe://example.org/a/../b', 'db'), /"sub" is not a SPIFFE ID.*"\.\." segment/],
    ['unknown trust domain', signJwt(es256, 'spiffe://other.org/x', 'db'), /spiffe:\/\/other.org\/x: no JWT bundle for trust domain other.org/],
  ];
  for (const [name, token, reason] of cases) await refused(token, reason, name);
  const token = signJwt(es256, ID, 'db', { claims: { exp: now() + 60 } });
  await validateJwtSvid(token, bundles, 'db', new Date(Date.now() + 30_000));
  await refused(token, /expired at/, 'expired at the given `now`', () => validateJwtSvid(token, bundles, 'db', new Date(Date.now() + 61_000)));
});

test('malformed tokens are refused without echoing them', async () => {
  const good = signJwt(es256, ID, 'db');
  const [header, payload, signature] = good.split('.') as [string, string, string];
  const cases: [string, string, RegExp][] = [
    ['two parts', `${header}.${payload}`, /three dot-separated parts/],
    ['four parts', `${good}.x`, /three dot-separated parts/],
    ['JSON serialization', JSON.stringify({ payload, signatures: [{ protected: header, signature }] }), /three dot-separated parts|compact/],
    ['header not base64url', `${header}+.${payload}.${signature}`, /header is not base64url-encoded JSON/],
    ['payload not JSON', `${header}.${Buffer.from('nope').toString('base64url')}.${signature}`, /payload is not base64url-encoded JSON/],
    ['payload an array', `${header}.${Buffer.from('[1]').toString('base64url')}.${signature}`, /payload is not a JSON object/],
    ['signature not base64url', `${header}.${payload}.${signature}=`, /signature is not base64url/],
    ['signature of impossible length (4n+1)', `${header}.${payload}.${'A'.repeat(85)}`, /signature is not base64url/],
  ];
  for (const [name, token, reason] of cases) await refused(token, reason, name);
});

test('parseJwtSvidInsecure checks header and claims but not signature or time', async () => {
  const forger: JwtSigner = jwtSigner('ES256', 'unknown');
  const svid = parseJwtSvidInsecure(signJwt(forger, ID, ['db'], { claims: { exp: now() - 3600 } }), 'h');
  assert.equal(svid.hint, 'h');
  assert.equal(svid.id.toString(), ID);
  assert.equal(parseJwtSvidInsecure(signJwt(es256, ID, 'db')).hint, '');
  const cases: [string, string, RegExp][] = [
    ['alg none', signJwt(es256, ID, 'db', { header: { alg: 'none' } }), /not allowed/],
    ['sub not a SPIFFE ID', signJwt(es256, 'not-an-id', 'db'), /not a SPIFFE ID/],
    ['no aud', signJwt(es256, ID, [], { claims: { aud: undefined } }), /no "aud" claim/],
    ['no exp', signJwt(es256, ID, 'db', { claims: { exp: undefined } }), /no "exp" claim/],
  ];
  for (const [name, token, reason] of cases) await refused(token, reason, name, () => parseJwtSvidInsecure(token));

  // A lenient decoder drops the stray 4n+1st character and reads the claims as if it were not there.
  let filler = '';
  while (JSON.stringify({ sub: ID, aud: 'db', exp: 2e9, filler }).length % 3 !== 0) filler += 'x';
  const [header, , signature] = signJwt(es256, ID, 'db').split('.');
  const payload = Buffer.from(JSON.stringify({ sub: ID, aud: 'db', exp: 2e9, filler })).toString('base64url');
  assert.equal(parseJwtSvidInsecure(`${header}.${payload}.${signature}`).id.toString(), ID);
  const stretched = `${header}.${payload}A.${signature}`;
  await refused(stretched, /payload is not base64url-encoded JSON/, 'payload of impossible length (4n+1)', () => parseJwtSvidInsecure(stretched));
});
