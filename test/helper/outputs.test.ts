import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, readdir, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodePem } from '../../src/spiffe/svid/index.ts';
import { startHelper } from '../support/helper-process.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { server, toml } from './support.ts';

// The new outputs through the running helper: every file of every SVID in one ..data generation,
// modes applied; the Filesystem Delivery folder; bad values refused before cert_dir is touched.

const leafOf = (pem: string): string | undefined => {
  const block = decodePem(pem).find((b) => b.label === 'CERTIFICATE');
  return block === undefined ? undefined : /URI:([^,]+)/.exec(new X509Certificate(Buffer.from(block.der)).subjectAltName ?? '')?.[1];
};
const serialIn = async (file: string): Promise<string | undefined> => {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const block = text === undefined ? undefined : decodePem(text).find((b) => b.label === 'CERTIFICATE');
  return block === undefined ? undefined : new X509Certificate(Buffer.from(block.der)).serialNumber;
};

test('every output of every SVID is one generation: combined PEM, PKCS#12 and [[x509_svids]] files, each with its mode', async (t) => {
  const s = await server(t, { svids: [{ spiffeId: 'spiffe://example.org/web', hint: 'web' }, { spiffeId: 'spiffe://example.org/db', hint: 'db' }] });
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  await writeFile(join(dir, 'p12.pass'), 'secret\n');
  await startHelper(
    t,
    dir,
    [
      `agent_address = ${toml(s.address)}`,
      `cert_dir = ${toml(certs)}`,
      'hint = "web"',
      'combined_pem_file_name = "web.pem"',
      'pkcs12_keystore_file_name = "web.p12"',
      'pkcs12_truststore_file_name = "trust.p12"',
      `pkcs12_password_file = ${toml(join(dir, 'p12.pass'))}`,
      'key_file_mode = "0640"',
      '[[x509_svids]]',
      'spiffe_id = "spiffe://example.org/db"',
      'svid_file_name = "db.crt"',
      'svid_key_file_name = "db.key"',
      'svid_bundle_file_name = "db_ca.crt"',
      'combined_pem_file_name = "db.pem"',
    ].join('\n'),
  );
  await waitFor(() => serialIn(join(certs, 'db.pem')), { what: 'the first write' });
  const names = ['web.pem', 'web.p12', 'trust.p12', 'db.crt', 'db.key', 'db_ca.crt', 'db.pem'];
  const generation = await readlink(join(certs, '..data'));
  assert.deepEqual((await readdir(join(certs, generation))).sort(), [...names].sort(), 'one generation holds every file');
  for (const name of names) assert.equal(await readlink(join(certs, name)), `..data/${name}`);
  const modes = Object.fromEntries(await Promise.all(names.map(async (name) => [name, (await stat(join(certs, name))).mode & 0o777] as const)));
  assert.deepEqual(modes, { 'web.pem': 0o640, 'web.p12': 0o640, 'trust.p12': 0o644, 'db.crt': 0o644, 'db.key': 0o640, 'db_ca.crt': 0o644, 'db.pem': 0o640 });
  assert.equal(leafOf(await readFile(join(certs, 'web.pem'), 'utf8')), 'spiffe://example.org/web');
  assert.equal(leafOf(await readFile(join(certs, 'db.pem'), 'utf8')), 'spiffe://example.org/db');
  assert.equal(await serialIn(join(certs, 'db.pem')), await serialIn(join(certs, 'db.crt')), 'the combined PEM and the PEM trio hold the same SVID');

  const before = { web: await serialIn(join(certs, 'web.pem')), db: await serialIn(join(certs, 'db.pem')) };
  await s.rotate();
  await waitFor(async () => (await serialIn(join(certs, 'web.pem'))) !== before.web && (await serialIn(join(certs, 'db.pem'))) !== before.db, { what: 'both SVIDs rotated' });
  const rotated = await readlink(join(certs, '..data'));
  assert.deepEqual((await readdir(join(certs, rotated))).sort(), [...names].sort());
});

test('an update without an [[x509_svids]] entry\'s SVID is skipped whole: the last good set stays', async (t) => {
  const s = await server(t, { svids: [{ spiffeId: 'spiffe://example.org/web' }, { spiffeId: 'spiffe://example.org/db' }] });
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const helper = await startHelper(
    t,
    dir,
    [
      `agent_address = ${toml(s.address)}`,
      `cert_dir = ${toml(certs)}`,
      'renew_debounce = "0s"',
      'combined_pem_file_name = "web.pem"',
      '[[x509_svids]]',
      'spiffe_id = "spiffe://example.org/db"',
      'combined_pem_file_name = "db.pem"',
    ].join('\n'),
  );
  await waitFor(() => serialIn(join(certs, 'db.pem')), { what: 'the first write' });
  const generation = await readlink(join(certs, '..data'));
  await s.setSvids([{ spiffeId: 'spiffe://example.org/web' }]);
  await helper.waitForLog((line) => /X\.509-SVID update skipped; the last good files stay: no X\.509-SVID for spiffe:\/\/example\.org\/db/.test(line.msg));
  assert.equal(await readlink(join(certs, '..data')), generation, 'nothing was written');
});

test('layout = "filesystem_delivery": exactly credential-bundle.pem and one trust bundle per trust domain; a de-federated domain\'s file goes', async (t) => {
  const s = await server(t, { intermediate: true });
  await s.addFederatedBundle('partner.org');
  const dir = await tempDir(t);
  const certs = join(dir, 'credentials');
  await startHelper(t, dir, [`agent_address = ${toml(s.address)}`, `cert_dir = ${toml(certs)}`, 'renew_debounce = "0s"', 'layout = "filesystem_delivery"'].join('\n'));
  const visible = async () => (await readdir(certs)).filter((name) => !name.startsWith('..')).sort();
  await waitFor(async () => ((await visible()).length === 3 ? true : undefined), { what: 'the credential folder' });
  assert.deepEqual(await visible(), ['credential-bundle.pem', 'example.org.spiffe-trust-bundle.pem', 'partner.org.spiffe-trust-bundle.pem']);
  const credential = decodePem(await readFile(join(certs, 'credential-bundle.pem'), 'utf8'));
  assert.deepEqual(credential.map((b) => b.label), ['PRIVATE KEY', 'CERTIFICATE', 'CERTIFICATE']);
  assert.equal((await stat(join(certs, 'credential-bundle.pem'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(certs, 'partner.org.spiffe-trust-bundle.pem'))).mode & 0o777, 0o644);
  s.removeFederatedBundle('partner.org');
  await waitFor(async () => ((await visible()).length === 2 ? true : undefined), { what: 'the de-federated trust bundle to be removed' });
  assert.deepEqual(await visible(), ['credential-bundle.pem', 'example.org.spiffe-trust-bundle.pem']);
});

test('bad values of the new keys: one line with file, line and key, exit 1, cert_dir untouched', async (t) => {
  const cases: [string, RegExp][] = [
    ['pkcs12_keystore_file_name = "k.p12"', /helper\.conf:\d+: the PKCS#12 files need a password/],
    ['pkcs12_keystore_file_name = "k.p12"\npkcs12_password_env = "SPIFFE_HELPER_TEST_UNSET"', /helper\.conf:\d+: pkcs12_password_env: the environment variable SPIFFE_HELPER_TEST_UNSET is not set/],
    ['pkcs12_truststore_file_name = "t.p12"\npkcs12_password_file = "absent.pass"', /helper\.conf:\d+: pkcs12_password_file: cannot read .*absent\.pass: no such file/],
    ['combined_pem_file_name = "../x.pem"', /helper\.conf:\d+: combined_pem_file_name: "\.\.\/x\.pem" must be a plain file name/],
    ['layout = "fs"', /helper\.conf:\d+: layout: expected one of "helper", "filesystem_delivery"/],
    ['layout = "filesystem_delivery"', /helper\.conf:\d+: svid_file_name: cannot be used with layout = "filesystem_delivery"/],
    ['[[x509_svids]]\nspiffe_id = "example.org/db"\ncombined_pem_file_name = "db.pem"', /helper\.conf:\d+: x509_svids\[0\]\.spiffe_id: "example\.org\/db" is not a SPIFFE ID/],
  ];
  for (const [extra, reason] of cases) {
    const dir = await tempDir(t);
    const certs = join(dir, 'certs');
    await mkdir(certs);
    await writeFile(join(certs, 'svid.pem'), 'the previous helper\'s file');
    const config = [`agent_address = "unix:///nonexistent.sock"`, `cert_dir = ${toml(certs)}`, 'svid_file_name = "svid.pem"', 'svid_key_file_name = "svid_key.pem"', 'svid_bundle_file_name = "svid_bundle.pem"', extra].join('\n');
    const helper = await startHelper(t, dir, config);
    assert.equal(await helper.exited(), 1, extra);
    const stderr = helper.stderr().trim();
    assert.equal(stderr.split('\n').length, 1, `one line: ${stderr}`);
    assert.match(stderr, reason);
    assert.deepEqual(await readdir(certs), ['svid.pem'], 'cert_dir untouched');
    assert.equal(await readFile(join(certs, 'svid.pem'), 'utf8'), 'the previous helper\'s file');
  }
});
