import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeConfig, parseConfig } from '../../src/helper/config/index.ts';
import { tempDir } from '../support/tmp.ts';
import { refuse } from './support.ts';

// The output keys: combined PEM, PKCS#12 with its password, [[x509_svids]] entries and layout.

const ENV = { P12_PASSWORD: 'from-env', EMPTY: '' };
const INPUTS = { file: 'helper.conf', env: ENV };
const parse = (text: string) => parseConfig(text, INPUTS);
const message = async (text: string): Promise<string> => (await refuse(text, INPUTS)).message;

test('combined_pem_file_name alone is an output; the PEM trio is not needed', async () => {
  const config = await parse('combined_pem_file_name = "haproxy.pem"');
  assert.equal(config.x509Outputs.length, 1);
  assert.equal(config.x509Outputs[0]!.combinedPemFileName, 'haproxy.pem');
  assert.equal(config.x509Outputs[0]!.pem, undefined);
});

test('the PKCS#12 password comes from a file (one trailing line break dropped) or an environment variable', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'p12.pass');
  await writeFile(file, 'hunter2 with spaces\n');
  const fromFile = await parse(`pkcs12_keystore_file_name = "k.p12"\npkcs12_password_file = ${JSON.stringify(file)}`);
  assert.deepEqual(fromFile.pkcs12Password, { value: 'hunter2 with spaces', source: `file ${file}` });
  const fromEnv = await parse('pkcs12_truststore_file_name = "t.p12"\npkcs12_password_env = "P12_PASSWORD"');
  assert.deepEqual(fromEnv.pkcs12Password, { value: 'from-env', source: 'environment variable P12_PASSWORD' });
  await writeFile(file, '\n');
  assert.equal(
    await message(`pkcs12_keystore_file_name = "k.p12"\npkcs12_password_file = ${JSON.stringify(file)}`),
    `helper.conf:2: pkcs12_password_file: ${file} is empty: a PKCS#12 password must not be empty`,
  );
  assert.equal(
    await message(`pkcs12_keystore_file_name = "k.p12"\npkcs12_password_file = ${JSON.stringify(join(dir, 'absent'))}`),
    `helper.conf:2: pkcs12_password_file: cannot read ${join(dir, 'absent')}: no such file`,
  );
});

test('bad PKCS#12 settings are refused with file, line and key', async () => {
  assert.equal(
    await message('pkcs12_keystore_file_name = "k.p12"'),
    'helper.conf:1: the PKCS#12 files need a password: set pkcs12_password_file (a file holding it) or pkcs12_password_env (an environment variable holding it)',
  );
  assert.equal(await message('pkcs12_keystore_file_name = "k.p12"\npkcs12_password_env = "NOPE"'), 'helper.conf:2: pkcs12_password_env: the environment variable NOPE is not set');
  assert.equal(await message('pkcs12_keystore_file_name = "k.p12"\npkcs12_password_env = "EMPTY"'), 'helper.conf:2: pkcs12_password_env: the environment variable EMPTY is empty');
  assert.match(await message('pkcs12_keystore_file_name = "k.p12"\npkcs12_password_env = "not a name"'), /^helper\.conf:2: pkcs12_password_env: expected an environment variable name/);
  assert.equal(
    await message('pkcs12_keystore_file_name = "k.p12"\npkcs12_password_env = "P12_PASSWORD"\npkcs12_password_file = "/x"'),
    'helper.conf:2: pkcs12_password_env: is set together with pkcs12_password_file: choose one',
  );
  assert.equal(
    await message('combined_pem_file_name = "c.pem"\npkcs12_password_env = "P12_PASSWORD"'),
    'helper.conf:2: pkcs12_password_env: is set but no PKCS#12 file is: set pkcs12_keystore_file_name or pkcs12_truststore_file_name',
  );
  assert.equal(await message('pkcs12_keystore_file_name = "a/k.p12"\npkcs12_password_env = "P12_PASSWORD"'), 'helper.conf:1: pkcs12_keystore_file_name: "a/k.p12" must be a plain file name inside cert_dir (no "/")');
  assert.equal(await message('combined_pem_file_name = 5'), 'helper.conf:1: combined_pem_file_name: expected a file name, got number 5');
});

test('[[x509_svids]]: each entry chooses one SVID by hint or spiffe_id and names its own files', async () => {
  const config = await parse(
    [
      'pkcs12_password_env = "P12_PASSWORD"',
      '[[x509_svids]]',
      'hint = "internal"',
      'svid_file_name = "internal.pem"',
      'svid_key_file_name = "internal_key.pem"',
      'svid_bundle_file_name = "internal_bundle.pem"',
      '[[x509_svids]]',
      'spiffe_id = "spiffe://example.org/external"',
      'combined_pem_file_name = "external.pem"',
      'pkcs12_keystore_file_name = "external.p12"',
    ].join('\n'),
  );
  assert.deepEqual(config.x509Outputs, [
    { select: { hint: 'internal' }, entry: 0, pem: { svidFileName: 'internal.pem', keyFileName: 'internal_key.pem', bundleFileName: 'internal_bundle.pem' }, combinedPemFileName: undefined, pkcs12KeystoreFileName: undefined, pkcs12TruststoreFileName: undefined },
    { select: { spiffeId: 'spiffe://example.org/external' }, entry: 1, pem: undefined, combinedPemFileName: 'external.pem', pkcs12KeystoreFileName: 'external.p12', pkcs12TruststoreFileName: undefined },
  ]);
  assert.equal(config.pkcs12Password?.value, 'from-env');
});

test('bad [[x509_svids]] entries are refused with the entry\'s key path and line', async () => {
  const entry = (body: string) => `combined_pem_file_name = "top.pem"\n[[x509_svids]]\n${body}`;
  assert.equal(await message(entry('combined_pem_file_name = "a.pem"')), 'helper.conf:2: x509_svids[0]: needs hint or spiffe_id: which of the workload\'s X.509-SVIDs to write');
  assert.equal(await message(entry('hint = "a"\nspiffe_id = "spiffe://example.org/a"\ncombined_pem_file_name = "a.pem"')), 'helper.conf:4: x509_svids[0].spiffe_id: is set together with hint: choose the SVID by one of them');
  assert.match(await message(entry('spiffe_id = "spiffe://Example.org/a"\ncombined_pem_file_name = "a.pem"')), /^helper\.conf:3: x509_svids\[0\]\.spiffe_id: "spiffe:\/\/Example\.org\/a" is not a SPIFFE ID/);
  assert.equal(await message(entry('hint = ""\ncombined_pem_file_name = "a.pem"')), 'helper.conf:3: x509_svids[0].hint: expected a non-empty string, got string ""');
  assert.match(await message(entry('hint = "a"')), /^helper\.conf:3: x509_svids\[0\]: writes nothing: set svid_file_name/);
  assert.equal(await message(entry('hint = "a"\nsvid_file_name = "a.pem"')), 'helper.conf:4: x509_svids[0].svid_key_file_name: is required with svid_file_name (the X.509 files are written as a set)');
  assert.equal(await message(entry('hint = "a"\ncombined_pem_file_name = "top.pem"')), 'helper.conf:4: x509_svids[0].combined_pem_file_name: names the same file as combined_pem_file_name: "top.pem"');
  assert.equal(
    await message(entry('hint = "a"\ncombined_pem_file_name = "a.pem"\n[[x509_svids]]\nhint = "a"\ncombined_pem_file_name = "b.pem"')),
    'helper.conf:6: x509_svids[1].hint: chooses the same SVID as x509_svids[0] (hint "a"): put all its files in one entry',
  );
  assert.equal(await message(entry('hint = "a"\ncombined_pem_filename = "a.pem"')), 'helper.conf:4: x509_svids[0].combined_pem_filename: unknown key (did you mean combined_pem_file_name?)');
  assert.equal(await message('combined_pem_file_name = "a.pem"\nspiffe_id = "spiffe://example.org/a"'), 'helper.conf:2: spiffe_id: unknown key (it belongs in an [[x509_svids]] entry)');
  assert.equal(await message('x509_svids = 3'), 'helper.conf:1: x509_svids: expected an array of tables ([[x509_svids]]), got number 3');
});

test('layout = "filesystem_delivery" is an output of its own and refuses every other file key', async () => {
  const config = await parse('layout = "filesystem_delivery"\nhint = "internal"');
  assert.equal(config.layout, 'filesystem_delivery');
  assert.equal(await message('layout = "flat"'), 'helper.conf:1: layout: expected one of "helper", "filesystem_delivery", got string "flat"');
  for (const other of ['svid_file_name = "s.pem"', 'combined_pem_file_name = "c.pem"', 'jwt_bundle_file_name = "j.json"', 'include_federated_domains = true', 'federated_bundle_file_name = "f_{trust_domain}.pem"']) {
    const key = other.split(' ')[0]!;
    assert.equal(
      await message(`layout = "filesystem_delivery"\n${other}`),
      `helper.conf:2: ${key}: cannot be used with layout = "filesystem_delivery", which writes exactly credential-bundle.pem and one <trust domain>.spiffe-trust-bundle.pem per trust domain: remove it, or run another helper with another cert_dir`,
    );
  }
});

test('-check describes every new output with its mode, names where the password comes from, and never prints it', async () => {
  const config = await parse(
    [
      'cert_dir = "/certs"',
      'combined_pem_file_name = "haproxy.pem"',
      'pkcs12_keystore_file_name = "keystore.p12"',
      'pkcs12_password_env = "P12_PASSWORD"',
      '[[x509_svids]]',
      'spiffe_id = "spiffe://example.org/db"',
      'pkcs12_truststore_file_name = "db-trust.p12"',
    ].join('\n'),
  );
  const text = describeConfig(config).join('\n');
  assert.match(text, /\/certs\/haproxy\.pem {2}0600 {2}PKCS#8 private key, leaf and intermediates in one PEM/);
  assert.match(text, /\/certs\/keystore\.p12 {2}0600 {2}PKCS#12 keystore: key and chain, alias = the SPIFFE ID, password from environment variable P12_PASSWORD/);
  assert.match(text, /X\.509-SVID spiffe:\/\/example\.org\/db:\n {2}\/certs\/db-trust\.p12 {2}0644 {2}PKCS#12 truststore/);
  assert.doesNotMatch(text, /from-env/, 'the password itself is never shown');
  const delivery = describeConfig(await parse('cert_dir = "/run/secrets/workload-spiffe-credentials"\nlayout = "filesystem_delivery"')).join('\n');
  assert.match(delivery, /credential-bundle\.pem {2}0600/);
  assert.match(delivery, /<trust domain>\.spiffe-trust-bundle\.pem {2}0644/);
});
