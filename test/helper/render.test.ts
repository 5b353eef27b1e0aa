import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { TrustDomain, decodePem, parseJwtBundle, parseX509Bundle, parseX509Svid, type X509Bundle } from '../../src/spiffe/svid/index.ts';
import type { X509Context } from '../../src/spiffe/workload/index.ts';
import { renderJwtBundleFile, renderX509Files, type X509RenderPlan } from '../../src/helper/pipeline/render.ts';
import { TestCa } from '../support/test-ca.ts';
import { NO_FILES, renderPlan } from '../render/support.ts';

const ca = await TestCa.create('example.org', { intermediate: true });
const federated = await TestCa.create('other.org');
const td = TrustDomain.parse('example.org');
const other = TrustDomain.parse('other.org');

async function context(): Promise<X509Context> {
  const internal = await ca.issueSvid('spiffe://example.org/internal');
  const external = await ca.issueSvid('spiffe://example.org/external');
  const expiredRoot = await TestCa.create('example.org', { ttlSeconds: -3600 });
  const bundles = new Map<string, X509Bundle>([
    ['example.org', parseX509Bundle(td, Buffer.concat([ca.bundleDer(), expiredRoot.bundleDer()]))],
    ['other.org', parseX509Bundle(other, federated.bundleDer())],
  ]);
  return {
    svids: [parseX509Svid(internal.chainDer, internal.keyDer, 'internal'), parseX509Svid(external.chainDer, external.keyDer, 'external')],
    bundles,
    federatedTrustDomains: new Set(['other.org']),
    crls: [],
  };
}

const pemOnly = { ...NO_FILES, pem: { svidFileName: 'svid.pem', keyFileName: 'key.pem', bundleFileName: 'bundle.pem' } };
const plan = renderPlan([{ select: { hint: '' }, ...pemOnly }]);

const withHint = (hint: string): X509RenderPlan => ({ ...plan, targets: [{ select: { hint }, ...pemOnly }] });
const certs = (content: string | Uint8Array): X509Certificate[] => decodePem(String(content)).map((block) => new X509Certificate(Buffer.from(block.der)));
const uri = (cert: X509Certificate): string => /URI:([^,]+)/.exec(cert.subjectAltName ?? '')?.[1] ?? cert.subject;

test('the Go helper layout: leaf + intermediates, PKCS#8 key, the own trust domain bundle', async () => {
  const [svid, key, bundle] = renderX509Files(await context(), plan, new Date()).files;
  assert.deepEqual(certs(svid!.content).map(uri), ['spiffe://example.org/internal', 'spiffe://example.org']);
  assert.match(String(key!.content), /^-----BEGIN PRIVATE KEY-----/);
  assert.equal(key!.mode, 0o600);
  assert.equal(certs(bundle!.content).length, 2, 'both roots of example.org, nothing federated');
});

test('hint picks the SVID; a missing hint is an error naming the hints sent', async () => {
  const [svid] = renderX509Files(await context(), withHint('external'), new Date()).files;
  assert.equal(uri(certs(svid!.content)[0]!), 'spiffe://example.org/external');
  await assert.rejects(async () => renderX509Files(await context(), withHint('db'), new Date()), /no X.509-SVID has hint "db" \(the agent sent hints: "internal", "external"\)/);
});

test('add_intermediates_to_bundle, include_federated_domains, omit_expired and per-domain federated files', async () => {
  const ctx = await context();
  const [svid, , bundle, ...rest] = renderX509Files(
    ctx,
    { ...plan, addIntermediatesToBundle: true, includeFederatedDomains: true, omitExpired: true, federatedBundleFileName: 'federated_{trust_domain}.pem' },
    new Date(),
  ).files;
  assert.equal(certs(svid!.content).length, 1, 'only the leaf');
  const bundleCerts = certs(bundle!.content);
  assert.equal(bundleCerts.length, 3, 'the live root, the intermediate and the federated root; the expired root is omitted');
  assert.ok(bundleCerts.some((c) => uri(c) === 'spiffe://other.org'));
  assert.deepEqual(rest.map((file) => file.name), ['federated_other.org.pem']);
  assert.deepEqual(certs(rest[0]!.content).map(uri), ['spiffe://other.org']);
});

test('a federated trust domain whose file name would not fit is skipped with the reason; the rest is rendered', async () => {
  const ctx = await context();
  const long = `${'a'.repeat(246)}.org`;
  const longCa = await TestCa.create(long);
  const bundles = new Map(ctx.bundles).set(long, parseX509Bundle(TrustDomain.parse(long), longCa.bundleDer()));
  const { files, skipped } = renderX509Files(
    { ...ctx, bundles, federatedTrustDomains: new Set(['other.org', long]) },
    { ...plan, federatedBundleFileName: 'federated_{trust_domain}.pem' },
    new Date(),
  );
  assert.deepEqual(files.map((file) => file.name), ['svid.pem', 'key.pem', 'bundle.pem', 'federated_other.org.pem']);
  assert.equal(skipped.length, 1);
  assert.match(skipped[0]!, /^the bundle file of federated trust domain a{60}… is not written: the file name "federated_a+…" is 264 bytes long; at most 255 fit$/);
});

test('the JWT bundle file is the Go helper\'s JSON of base64 JWKS per trust domain', () => {
  const bundles = new Map([['example.org', parseJwtBundle(td, ca.jwks())]]);
  const file = renderJwtBundleFile(bundles, 'jwt.json', 0o600);
  const document = JSON.parse(String(file.content)) as Record<string, string>;
  assert.deepEqual(JSON.parse(Buffer.from(document['example.org']!, 'base64').toString()), JSON.parse(ca.jwks().toString()));
});
