import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { unreadable } from './errors.ts';
import type { Table } from './table.ts';
import type { Layout, PemFileNames, Pkcs12Password, X509FileNames, X509SvidOutput } from './types.ts';
import { describeType, readFileName, readSpiffeId, type Check } from './values.ts';

// The keys that say where X.509-SVIDs go: the Go helper's PEM trio, the combined PEM and PKCS#12
// files, [[x509_svids]] entries for more identities, and the Filesystem Delivery layout.

const PEM_KEYS = ['svid_file_name', 'svid_key_file_name', 'svid_bundle_file_name'] as const;
const OTHER_FILE_KEYS = ['combined_pem_file_name', 'pkcs12_keystore_file_name', 'pkcs12_truststore_file_name'] as const;
const PASSWORD_KEYS = ['pkcs12_password_file', 'pkcs12_password_env'] as const;
/** Keys of an [[x509_svids]] entry. */
export const X509_SVID_KEYS = ['hint', 'spiffe_id', ...PEM_KEYS, ...OTHER_FILE_KEYS] as const;
const LAYOUTS: readonly Layout[] = ['helper', 'filesystem_delivery'];
/** Keys that name or shape other files, which the Filesystem Delivery folder must not hold. */
const NOT_IN_FILESYSTEM_DELIVERY = [
  ...PEM_KEYS, ...OTHER_FILE_KEYS, ...PASSWORD_KEYS, 'x509_svids', 'federated_bundle_file_name', 'include_federated_domains',
  'add_intermediates_to_bundle', 'jwt_svids', 'jwt_bundle_file_name',
] as const;

/** The PEM trio comes whole or not at all. */
function readPemFileNames(table: Table): PemFileNames | undefined {
  const [svidFileName, keyFileName, bundleFileName] = PEM_KEYS.map((key) => table.read(key, readFileName));
  const set = PEM_KEYS.filter((key) => table.has(key));
  if (set.length > 0 && set.length < 3) {
    table.fail(PEM_KEYS.find((key) => !table.has(key)), `is required with ${set.join(' and ')} (the X.509 files are written as a set)`, set[0]);
  }
  return set.length === 3 ? { svidFileName: svidFileName!, keyFileName: keyFileName!, bundleFileName: bundleFileName! } : undefined;
}

export function readX509FileNames(table: Table): X509FileNames {
  return {
    pem: readPemFileNames(table),
    combinedPemFileName: table.read('combined_pem_file_name', readFileName),
    pkcs12KeystoreFileName: table.read('pkcs12_keystore_file_name', readFileName),
    pkcs12TruststoreFileName: table.read('pkcs12_truststore_file_name', readFileName),
  };
}

/** Each file name of an output with the key path that set it (`x509_svids[1].svid_file_name`), for the same-name checks. */
export function x509FileNameKeys(output: X509SvidOutput): Array<readonly [string, string]> {
  const keyPath = (key: string): string => (output.entry === undefined ? key : `x509_svids[${output.entry}].${key}`);
  return fileNameKeys(output).map(([key, name]) => [keyPath(key), name] as const);
}

/** The file names an output's keys give, in key order. */
export const x509FileNames = (files: X509FileNames): string[] => fileNameKeys(files).map(([, name]) => name);

function fileNameKeys(files: X509FileNames): Array<readonly [string, string]> {
  const named: Array<readonly [string, string | undefined]> = [
    [PEM_KEYS[0], files.pem?.svidFileName],
    [PEM_KEYS[1], files.pem?.keyFileName],
    [PEM_KEYS[2], files.pem?.bundleFileName],
    ['combined_pem_file_name', files.combinedPemFileName],
    ['pkcs12_keystore_file_name', files.pkcs12KeystoreFileName],
    ['pkcs12_truststore_file_name', files.pkcs12TruststoreFileName],
  ];
  return named.filter((pair): pair is readonly [string, string] => pair[1] !== undefined);
}

export const hasX509Files = (files: X509FileNames): boolean => fileNameKeys(files).length > 0;
const hasPkcs12 = (files: X509FileNames): boolean => files.pkcs12KeystoreFileName !== undefined || files.pkcs12TruststoreFileName !== undefined;

/** [[x509_svids]]: each entry chooses one SVID by hint or by SPIFFE ID, and names its own files. */
export function readX509Svids(top: Table): X509SvidOutput[] {
  const entries = top.tables('x509_svids');
  const chosen = new Map<string, string>();
  return entries.map((entry, index) => {
    entry.rejectUnknown(X509_SVID_KEYS);
    const hint = entry.read('hint', (v) => (typeof v === 'string' && v !== '' ? { ok: true, value: v } : { ok: false, why: `expected a non-empty string, got ${describeType(v)}` }));
    const spiffeId = entry.read('spiffe_id', readSpiffeId);
    if (hint !== undefined && spiffeId !== undefined) entry.fail('spiffe_id', 'is set together with hint: choose the SVID by one of them');
    if (hint === undefined && spiffeId === undefined) entry.fail(undefined, 'needs hint or spiffe_id: which of the workload\'s X.509-SVIDs to write');
    const files = readX509FileNames(entry);
    if (!hasX509Files(files)) entry.fail(undefined, `writes nothing: set svid_file_name, svid_key_file_name and svid_bundle_file_name, combined_pem_file_name, pkcs12_keystore_file_name or pkcs12_truststore_file_name`, hint === undefined ? 'spiffe_id' : 'hint');
    const choice = hint === undefined ? `spiffe_id ${JSON.stringify(spiffeId)}` : `hint ${JSON.stringify(hint)}`;
    const earlier = chosen.get(choice);
    if (earlier !== undefined) entry.fail(hint === undefined ? 'spiffe_id' : 'hint', `chooses the same SVID as ${earlier} (${choice}): put all its files in one entry`);
    chosen.set(choice, `x509_svids[${index}]`);
    return { ...files, select: hint === undefined ? { spiffeId: spiffeId! } : { hint }, entry: index };
  });
}

/** The password file as written by `echo secret > file`: one trailing line break is not part of it. */
function readPasswordFile(value: unknown): Check<Pkcs12Password> {
  if (typeof value !== 'string' || value === '') return { ok: false, why: `expected a file path, got ${describeType(value)}` };
  const path = resolve(value);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, why: `cannot read ${path}: ${unreadable(error)}` };
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '') return { ok: false, why: `${path} is empty: a PKCS#12 password must not be empty` };
  return { ok: true, value: { value: password, source: `file ${path}` } };
}

function readPasswordEnv(value: unknown, env: NodeJS.ProcessEnv): Check<Pkcs12Password> {
  if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) {
    return { ok: false, why: `expected an environment variable name such as "KEYSTORE_PASSWORD", got ${describeType(value)}` };
  }
  const password = env[value];
  if (password === undefined || password === '') return { ok: false, why: `the environment variable ${value} is ${password === undefined ? 'not set' : 'empty'}` };
  return { ok: true, value: { value: password, source: `environment variable ${value}` } };
}

/**
 * The PKCS#12 password, read now so a missing file or variable is refused at load: from
 * pkcs12_password_file or pkcs12_password_env (exactly one), never from the config text.
 */
export function readPkcs12Password(top: Table, outputs: readonly X509FileNames[], env: NodeJS.ProcessEnv): Pkcs12Password | undefined {
  const needed = outputs.some(hasPkcs12);
  const set = PASSWORD_KEYS.filter((key) => top.has(key));
  if (!needed) {
    if (set[0] !== undefined) top.fail(set[0], 'is set but no PKCS#12 file is: set pkcs12_keystore_file_name or pkcs12_truststore_file_name');
    return undefined;
  }
  if (set.length === 2) top.fail(PASSWORD_KEYS[1], 'is set together with pkcs12_password_file: choose one');
  if (set.length === 0) {
    const [key] = ['pkcs12_keystore_file_name', 'pkcs12_truststore_file_name', 'x509_svids'].filter((k) => top.has(k));
    top.fail(undefined, 'the PKCS#12 files need a password: set pkcs12_password_file (a file holding it) or pkcs12_password_env (an environment variable holding it)', key);
  }
  return top.read('pkcs12_password_file', readPasswordFile) ?? top.read('pkcs12_password_env', (v) => readPasswordEnv(v, env));
}

/** `layout = "filesystem_delivery"` writes exactly the folder the draft standard describes, so nothing else may go there. */
export function readLayout(top: Table): Layout {
  const layout = top.oneOf('layout', LAYOUTS) ?? 'helper';
  if (layout === 'filesystem_delivery') {
    const other = NOT_IN_FILESYSTEM_DELIVERY.find((key) => top.has(key));
    if (other !== undefined) {
      top.fail(other, 'cannot be used with layout = "filesystem_delivery", which writes exactly credential-bundle.pem and one <trust domain>.spiffe-trust-bundle.pem per trust domain: remove it, or run another helper with another cert_dir');
    }
  }
  return layout;
}
