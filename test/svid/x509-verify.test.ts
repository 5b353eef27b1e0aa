import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustDomain, X509SvidError, parseX509Bundle, parseX509Svid, verifyX509Svid, type X509Bundle, type X509Svid } from '../../src/spiffe/svid/index.ts';
import { Authority, type CertOptions } from './support.ts';

const ID = 'spiffe://example.org/workload';
const td = TrustDomain.parse('example.org');
const HOUR = 3600_000;
const root = await Authority.root('example.org');
const bundle = parseX509Bundle(td, root.der);

async function svidFrom(chain: readonly Authority[], options: CertOptions = {}, id = ID): Promise<X509Svid> {
  const leaf = await chain[0]!.leaf(id, options);
  return parseX509Svid(Buffer.concat([leaf.der, ...chain.slice(0, -1).map((ca) => ca.der)]), leaf.keyDer);
}

function refuses(svid: X509Svid, against: X509Bundle, reason: RegExp, name: string, now?: Date): void {
  assert.throws(() => verifyX509Svid(svid, against, now), (error: unknown) => {
    assert.ok(error instanceof X509SvidError, `${name}: ${String(error)}`);
    assert.match(error.message, reason, name);
    assert.ok(error.message.includes(svid.id.toString()), `${name}: names the SPIFFE ID`);
    return true;
  });
}

test('chains verify to the bundle with no, one and two intermediates', async () => {
  const one = await root.intermediate();
  const two = await one.intermediate();
  verifyX509Svid(await svidFrom([root]), bundle);
  verifyX509Svid(await svidFrom([one, root]), bundle);
  verifyX509Svid(await svidFrom([two, one, root]), bundle);
  const rsaRoot = await Authority.root('example.org', { rsa: true });
  verifyX509Svid(await svidFrom([rsaRoot], { rsa: true }), parseX509Bundle(td, rsaRoot.der));
});

test('a chain that ends with the bundle authority itself verifies, and counts it once for path length', async () => {
  const strictRoot = await Authority.root('example.org', { pathLength: 0 });
  const strictBundle = parseX509Bundle(td, strictRoot.der);
  const leaf = await strictRoot.leaf(ID);
  verifyX509Svid(parseX509Svid(Buffer.concat([leaf.der, strictRoot.der]), leaf.keyDer), strictBundle);
  const one = await root.intermediate();
  const viaOne = await one.leaf(ID);
  verifyX509Svid(parseX509Svid(Buffer.concat([viaOne.der, one.der, root.der]), viaOne.keyDer), bundle);
  const other = await Authority.root('example.org');
  refuses(parseX509Svid(Buffer.concat([leaf.der, strictRoot.der]), leaf.keyDer), parseX509Bundle(td, other.der), /does not verify to any authority/, 'a root the bundle does not hold');
});

test('the authority may be any of several in the bundle', async () => {
  const previous = await Authority.root('example.org');
  verifyX509Svid(await svidFrom([root]), parseX509Bundle(td, Buffer.concat([previous.der, root.der])));
});

test('the bundle must be the SVID trust domain\'s and hold the signing authority', async () => {
  const svid = await svidFrom([root]);
  const other = await Authority.root('other.org');
  refuses(svid, parseX509Bundle(TrustDomain.parse('other.org'), root.der), /the bundle is for trust domain other.org, not example.org/, 'other trust domain');
  refuses(svid, parseX509Bundle(td, other.der), /does not verify to any authority of the example.org bundle/, 'forged: another CA');
  refuses(svid, parseX509Bundle(td, Buffer.alloc(0)), /does not verify to any authority/, 'empty bundle');
  const impostor = await Authority.root('example.org', { subject: root.certificate.subject });
  refuses(svid, parseX509Bundle(td, impostor.der), /does not verify to any authority/, 'same name, other key');
});

test('intermediates must be present, in order, and each sign the one before', async () => {
  const one = await root.intermediate();
  const two = await one.intermediate();
  const leaf = await two.leaf(ID);
  const parse = (...ders: Buffer[]) => parseX509Svid(Buffer.concat([leaf.der, ...ders]), leaf.keyDer);
  refuses(parse(), bundle, /does not verify to any authority/, 'intermediates missing');
  refuses(parse(two.der), bundle, /does not verify to any authority/, 'one intermediate missing');
  refuses(parse(one.der, two.der), bundle, /leaf certificate is not signed by certificate 1/, 'intermediates swapped');
  const unrelated = await root.intermediate();
  refuses(parse(unrelated.der, one.der), bundle, /leaf certificate is not signed by certificate 1/, 'unrelated intermediate');
});

test('every certificate of the path must be valid at the time of verification', async () => {
  const now = Date.now();
  const svid = await svidFrom([root]);
  verifyX509Svid(svid, bundle, new Date(now + 11 * HOUR));
  refuses(svid, bundle, /leaf certificate expired at/, 'leaf expired at `now`', new Date(now + 13 * HOUR));
  refuses(svid, bundle, /leaf certificate is not valid before/, 'leaf not yet valid at `now`', new Date(now - 2 * HOUR));
  refuses(await svidFrom([root], { notBefore: new Date(now - 2 * HOUR), notAfter: new Date(now - HOUR) }), bundle, /leaf certificate expired/, 'expired leaf');
  refuses(await svidFrom([root], { notBefore: new Date(now + HOUR) }), bundle, /leaf certificate is not valid before/, 'future leaf');
  const expiredIntermediate = await root.intermediate({ notBefore: new Date(now - 2 * HOUR), notAfter: new Date(now - HOUR) });
  refuses(await svidFrom([expiredIntermediate, root]), bundle, /certificate 1 of the chain expired/, 'expired intermediate');
  const expiredRoot = await Authority.root('example.org', { notBefore: new Date(now - 3 * HOUR), notAfter: new Date(now - HOUR) });
  refuses(await svidFrom([expiredRoot]), parseX509Bundle(td, expiredRoot.der), /the bundle authority that signed the chain expired/, 'expired root');
});

test('path length constraints of intermediates and of the authority hold', async () => {
  const strictRoot = await Authority.root('example.org', { pathLength: 0 });
  const strictBundle = parseX509Bundle(td, strictRoot.der);
  verifyX509Svid(await svidFrom([strictRoot]), strictBundle);
  refuses(await svidFrom([await strictRoot.intermediate(), strictRoot]), strictBundle, /authority that signed the chain allows 0 intermediate certificate\(s\) below it, the path has 1/, 'root pathLen 0');
  const oneLevel = await Authority.root('example.org', { pathLength: 1 });
  verifyX509Svid(await svidFrom([await oneLevel.intermediate(), oneLevel]), parseX509Bundle(td, oneLevel.der));
  const limited = await root.intermediate({ pathLength: 0 });
  verifyX509Svid(await svidFrom([limited, root]), bundle);
  refuses(await svidFrom([await limited.intermediate(), limited, root]), bundle, /certificate 2 of the chain allows 0/, 'intermediate pathLen 0');
});

test('URI and DNS name constraints are enforced; other name types refuse the path', async () => {
  const prodId = 'spiffe://prod.example.org/web';
  const prod = TrustDomain.parse('prod.example.org');
  const cases: [string, CertOptions, string, boolean | RegExp][] = [
    ['permitted trust domain', { nameConstraints: { permittedUris: ['example.org'] } }, ID, true],
    ['permitted subdomains', { nameConstraints: { permittedUris: ['.example.org'] } }, prodId, true],
    ['outside permitted', { nameConstraints: { permittedUris: ['other.org'] } }, ID, /URI name "example.org" is outside its permitted subtrees/],
    ['subdomain constraint excludes the domain itself', { nameConstraints: { permittedUris: ['.example.org'] } }, ID, /outside its permitted/],
    ['excluded', { nameConstraints: { excludedUris: ['example.org'] } }, ID, /in its excluded subtree "example.org"/],
    ['DNS permitted', { nameConstraints: { permittedDns: ['example.org'] } }, ID, true],
    ['email constraints', { nameConstraints: { permittedEmail: ['example.org'] } }, ID, /name constraints on rfc822Name names, which are not supported/],
  ];
  for (const [name, options, id, expected] of cases) {
    const ca = await root.intermediate(options);
    const svid = await svidFrom([ca, root], { dnsNames: ['web.example.org'] }, id);
    const against = svid.id.memberOf(prod) ? parseX509Bundle(prod, root.der) : bundle;
    if (expected === true) assert.doesNotThrow(() => verifyX509Svid(svid, against), name);
    else refuses(svid, against, expected as RegExp, name);
  }
  const dnsCa = await root.intermediate({ nameConstraints: { permittedDns: ['internal'] } });
  refuses(await svidFrom([dnsCa, root], { dnsNames: ['web.example.org'] }), bundle, /DNS name "web.example.org" is outside/, 'DNS outside permitted');
});

test('unknown critical extensions and a non-CA authority refuse the path', async () => {
  refuses(await svidFrom([root], { unknownCriticalExtension: true }), bundle, /leaf certificate has critical extensions that cannot be processed: 1.3.6.1.4.1.99999.1/, 'leaf');
  const odd = await root.intermediate({ unknownCriticalExtension: true });
  refuses(await svidFrom([odd, root]), bundle, /certificate 1 of the chain has critical extensions/, 'intermediate');
  const notCa = await Authority.root('example.org', { isCa: false });
  refuses(await svidFrom([notCa]), parseX509Bundle(td, notCa.der), /is not a CA|does not verify/, 'root without cA');
});
