import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TrustDomain, decodePem, parseX509Bundle, parseX509Svid, type X509Bundle } from '../../src/spiffe/svid/index.ts';
import type { X509Context } from '../../src/spiffe/workload/index.ts';
import { renderX509Files, type X509RenderPlan, type X509Target } from '../../src/helper/pipeline/render.ts';
import { keystorePkcs12, truststorePkcs12 } from '../../src/helper/formats/index.ts';
import { TestCa } from '../support/test-ca.ts';
import { tempDir } from '../support/tmp.ts';
import { NO_FILES, renderPlan } from './support.ts';

// The new outputs, read back by the programs that consume them: openssl pkcs12 and Java's keytool.

const run = promisify(execFile);
const ca = await TestCa.create('example.org', { intermediate: true });
const federated = await TestCa.create('other.org');
const PASSWORD = 'correct horse';

async function context(): Promise<X509Context> {
  const web = await ca.issueSvid('spiffe://example.org/web');
  const db = await ca.issueSvid('spiffe://example.org/db');
  const bundles = new Map<string, X509Bundle>([
    ['example.org', parseX509Bundle(TrustDomain.parse('example.org'), ca.bundleDer())],
    ['other.org', parseX509Bundle(TrustDomain.parse('other.org'), federated.bundleDer())],
  ]);
  return {
    svids: [parseX509Svid(web.chainDer, web.keyDer, 'web'), parseX509Svid(db.chainDer, db.keyDer, 'db')],
    bundles,
    federatedTrustDomains: new Set(['other.org']),
    crls: [],
  };
}

const none = NO_FILES;
const plan = (targets: X509Target[], extra: Partial<X509RenderPlan> = {}): X509RenderPlan => renderPlan(targets, { pkcs12Password: PASSWORD, ...extra });

const blocks = (content: string | Uint8Array) => decodePem(String(content));
const uri = (der: Uint8Array): string | undefined => /URI:([^,]+)/.exec(new X509Certificate(Buffer.from(der)).subjectAltName ?? '')?.[1];
const spki = (key: KeyObject) => (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
const pkcs8 = (der: Uint8Array) => createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });

test('combined PEM: the PKCS#8 key first, then leaf and intermediate, with the key file mode', async () => {
  const { files } = renderX509Files(await context(), plan([{ select: { hint: '' }, ...none, combinedPemFileName: 'haproxy.pem' }]), new Date());
  assert.deepEqual(files.map((f) => [f.name, f.mode]), [['haproxy.pem', 0o600]]);
  const [key, leaf, intermediate, ...rest] = blocks(files[0]!.content);
  assert.deepEqual([key!.label, leaf!.label, intermediate!.label, rest.length], ['PRIVATE KEY', 'CERTIFICATE', 'CERTIFICATE', 0]);
  assert.equal(uri(leaf!.der), 'spiffe://example.org/web');
  assert.ok(spki(pkcs8(key!.der)).equals(spki(new X509Certificate(Buffer.from(leaf!.der)).publicKey)), 'the key is the leaf\'s');
});

test('[[x509_svids]]: each target gets its own SVID by hint or SPIFFE ID, all in one set; a missing one fails the whole update', async () => {
  const targets: X509Target[] = [
    { select: { hint: 'web' }, ...none, combinedPemFileName: 'web.pem' },
    { select: { spiffeId: 'spiffe://example.org/db' }, ...none, pem: { svidFileName: 'db.crt', keyFileName: 'db.key', bundleFileName: 'db_ca.crt' } },
  ];
  const { files, svids } = renderX509Files(await context(), plan(targets), new Date());
  assert.deepEqual(files.map((f) => f.name), ['web.pem', 'db.crt', 'db.key', 'db_ca.crt']);
  assert.deepEqual(svids.map((s) => s.id.toString()), ['spiffe://example.org/web', 'spiffe://example.org/db']);
  assert.equal(uri(blocks(files[0]!.content)[1]!.der), 'spiffe://example.org/web');
  assert.equal(uri(blocks(files[1]!.content)[0]!.der), 'spiffe://example.org/db');
  const ctx = await context();
  assert.throws(
    () => renderX509Files({ ...ctx, svids: ctx.svids.slice(0, 1) }, plan(targets), new Date()),
    /no X\.509-SVID for spiffe:\/\/example\.org\/db \(the agent sent: spiffe:\/\/example\.org\/web\)/,
  );
});

test('Filesystem Delivery layout: exactly credential-bundle.pem and one trust bundle per trust domain', async () => {
  const { files } = renderX509Files(await context(), plan([{ select: { hint: 'db' }, ...none }], { layout: 'filesystem_delivery' }), new Date());
  assert.deepEqual(files.map((f) => [f.name, f.mode]), [
    ['credential-bundle.pem', 0o600],
    ['example.org.spiffe-trust-bundle.pem', 0o644],
    ['other.org.spiffe-trust-bundle.pem', 0o644],
  ]);
  const credential = blocks(files[0]!.content);
  assert.deepEqual(credential.map((b) => b.label), ['PRIVATE KEY', 'CERTIFICATE', 'CERTIFICATE'], 'PKCS#8 key first, then the chain, leaf first');
  assert.equal(uri(credential[1]!.der), 'spiffe://example.org/db');
  assert.doesNotMatch(String(files[0]!.content), /^(?!-----)[^\n]*:/m, 'no PEM headers');
  assert.deepEqual(blocks(files[1]!.content).map((b) => uri(b.der)), ['spiffe://example.org'], 'only its own domain\'s authorities');
  assert.deepEqual(blocks(files[2]!.content).map((b) => uri(b.der)), ['spiffe://other.org']);
});

test('PKCS#12: the same material and password give the same bytes, so an unchanged update changes no file', async () => {
  const ctx = await context();
  const targets: X509Target[] = [{ select: { hint: '' }, ...none, pkcs12KeystoreFileName: 'k.p12', pkcs12TruststoreFileName: 't.p12' }];
  const once = renderX509Files(ctx, plan(targets), new Date()).files;
  const again = renderX509Files(ctx, plan(targets), new Date()).files;
  assert.deepEqual(once.map((f) => Buffer.from(f.content)), again.map((f) => Buffer.from(f.content)));
  const other = renderX509Files(ctx, plan(targets, { pkcs12Password: 'another' }), new Date()).files;
  assert.notDeepEqual(once.map((f) => Buffer.from(f.content)), other.map((f) => Buffer.from(f.content)));
  assert.deepEqual(once.map((f) => [f.name, f.mode]), [['k.p12', 0o600], ['t.p12', 0o644]]);
});

async function pkcs12Files(t: Parameters<typeof tempDir>[0]) {
  const ctx = await context();
  const svid = ctx.svids[0]!;
  const dir = await tempDir(t);
  const keystore = join(dir, 'keystore.p12');
  const truststore = join(dir, 'truststore.p12');
  await writeFile(keystore, keystorePkcs12({ alias: svid.id.toString(), privateKeyDer: svid.privateKeyDer, chain: svid.certificates }, PASSWORD));
  const authorities = [...ctx.bundles.get('example.org')!.authorities, ...ctx.bundles.get('other.org')!.authorities];
  await writeFile(truststore, truststorePkcs12(authorities.map((certificate, i) => ({ alias: `ca-${i + 1}`, certificate })), PASSWORD));
  return { keystore, truststore, svid };
}

test('openssl pkcs12 reads the keystore: AES-256 PBES2 key with PBKDF2-HMAC-SHA-256, SHA-256 MAC, the key of the leaf, alias = SPIFFE ID', async (t) => {
  const { keystore, svid } = await pkcs12Files(t);
  const { stdout, stderr } = await run('openssl', ['pkcs12', '-in', keystore, '-passin', `pass:${PASSWORD}`, '-info', '-nodes']);
  assert.match(stderr, /MAC: sha256, Iteration 10000/);
  assert.match(stderr, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256/);
  assert.match(stdout, /friendlyName: spiffe:\/\/example\.org\/web/);
  const [key, leaf, intermediate] = decodePem(stdout);
  assert.deepEqual([key?.label, leaf?.label, intermediate?.label], ['PRIVATE KEY', 'CERTIFICATE', 'CERTIFICATE']);
  assert.ok(Buffer.from(leaf!.der).equals(svid.certificates[0]!.raw));
  assert.ok(spki(pkcs8(key!.der)).equals(spki(svid.privateKey)));
  await assert.rejects(run('openssl', ['pkcs12', '-in', keystore, '-passin', 'pass:wrong', '-noout']), /invalid password|mac verify/i, 'a wrong password fails the MAC');
});

test('openssl pkcs12 reads the truststore: every bundle certificate, no key', async (t) => {
  const { truststore } = await pkcs12Files(t);
  const { stdout, stderr } = await run('openssl', ['pkcs12', '-in', truststore, '-passin', `pass:${PASSWORD}`, '-info', '-nokeys']);
  assert.match(stderr, /MAC: sha256, Iteration 10000/);
  assert.deepEqual(decodePem(stdout).map((b) => uri(b.der)), ['spiffe://example.org', 'spiffe://other.org']);
  assert.doesNotMatch(stdout, /PRIVATE KEY/);
});

const keytool = await run('keytool', ['-help']).then(() => undefined, () => 'keytool (a JDK) is not installed');

test('Java\'s KeyStore (keytool) reads a PrivateKeyEntry named by the SPIFFE ID and trustedCertEntry certificates', { skip: keytool }, async (t) => {
  const { keystore, truststore } = await pkcs12Files(t);
  const keys = await run('keytool', ['-list', '-storetype', 'PKCS12', '-keystore', keystore, '-storepass', PASSWORD]);
  assert.match(keys.stdout, /Your keystore contains 1 entry/);
  assert.match(keys.stdout, /^spiffe:\/\/example\.org\/web, .*, PrivateKeyEntry,/m);
  const trusted = await run('keytool', ['-list', '-storetype', 'PKCS12', '-keystore', truststore, '-storepass', PASSWORD]);
  assert.match(trusted.stdout, /Your keystore contains 2 entries/);
  assert.equal(trusted.stdout.match(/trustedCertEntry/g)?.length, 2);
});

test('a PKCS#12 target without a password fails the render instead of leaving the file out', async () => {
  const targets: X509Target[] = [{ select: { hint: '' }, ...none, pkcs12KeystoreFileName: 'k.p12' }];
  const ctx = await context();
  assert.throws(() => renderX509Files(ctx, plan(targets, { pkcs12Password: undefined }), new Date()), /a PKCS#12 file is configured without a password/);
});
