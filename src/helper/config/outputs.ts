import { basename, dirname, join, resolve } from 'node:path';
import type { Table } from './table.ts';
import type { HelperConfig, JwtSvidOutput, X509SvidOutput } from './types.ts';
import { describeType, readFileName, readJwtSvidFile, readSpiffeId } from './values.ts';
import { hasX509Files, readLayout, readPkcs12Password, readX509FileNames, readX509Svids, x509FileNameKeys } from './x509-outputs.ts';

/** Trust domain names: what `{trust_domain}` can become in federated_bundle_file_name. */
const TRUST_DOMAIN_CHARS = '[a-z0-9._-]+';

type Outputs = Pick<HelperConfig, 'hint' | 'x509Outputs' | 'pkcs12Password' | 'layout' | 'federatedBundleFileName' | 'jwtSvids' | 'jwtBundle'>;

/**
 * A jwt_svids entry. A file name with "/" is joined to cert_dir as written, as the Go helper's
 * path.Join does; when that lands directly in cert_dir it is a plain file of the set after all.
 */
function readJwtSvid(entry: Table, certDirAsWritten: string, certDir: string): JwtSvidOutput {
  const audience = entry.string('jwt_audience');
  if (audience === undefined || audience === '') entry.fail('jwt_audience', 'is required (the audience the JWT-SVID is for)');
  const file = entry.read('jwt_svid_file_name', (value) => {
    const target = readJwtSvidFile(value);
    if (!target.ok || 'fileName' in target.value) return target;
    const path = resolve(join(certDirAsWritten, target.value.path));
    const joined = target.value.path.startsWith('/') && certDirAsWritten !== '' ? `; joined to cert_dir as the Go helper does: ${path}` : '';
    if (dirname(path) === certDir) return { ok: true, value: { fileName: basename(path) }, ...(joined === '' ? {} : { warning: joined.slice(2) }) };
    return { ok: true, value: { path }, ...(joined === '' ? {} : { warning: `written outside the cert_dir set${joined}` }) };
  });
  if (file === undefined) entry.fail('jwt_svid_file_name', 'is required (the file the token is written to)');
  const extraAudiences = entry.read('jwt_extra_audiences', (v) =>
    Array.isArray(v) && v.every((a) => typeof a === 'string' && a !== '')
      ? { ok: true, value: v as string[] }
      : { ok: false, why: `expected an array of non-empty strings, got ${describeType(v)}` },
  );
  return {
    audience,
    extraAudiences: extraAudiences ?? [],
    fileName: 'fileName' in file ? file.fileName : entry.string('jwt_svid_file_name')!,
    path: 'path' in file ? file.path : undefined,
    spiffeId: entry.read('jwt_svid_spiffe_id', readSpiffeId),
  };
}

/** No two outputs may name the same file, and no federated file name may collide with another output. */
function checkDistinct(top: Table, outputs: Outputs): void {
  const { x509Outputs, jwtSvids, jwtBundle, federatedBundleFileName } = outputs;
  const names: Array<readonly [string, string]> = [
    ...x509Outputs.flatMap(x509FileNameKeys),
    ...jwtSvids.map((jwt, index) => [`jwt_svids[${index}].jwt_svid_file_name`, jwt.path ?? jwt.fileName] as const),
    ...(jwtBundle === undefined ? [] : [['jwt_bundle_file_name', jwtBundle.fileName] as const]),
  ];
  const seen = new Map<string, string>();
  for (const [key, name] of names) {
    const other = seen.get(name);
    if (other !== undefined) top.fail(key, `names the same file as ${other}: ${JSON.stringify(name)}`);
    seen.set(name, key);
  }
  if (federatedBundleFileName !== undefined) {
    const pattern = new RegExp(`^${federatedBundleFileName.split('{trust_domain}').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join(TRUST_DOMAIN_CHARS)}$`);
    const clash = names.find(([, name]) => pattern.test(name));
    if (clash !== undefined) top.fail('federated_bundle_file_name', `could name the same file as ${clash[0]}: ${JSON.stringify(clash[1])}`);
  }
}

/**
 * Every file the helper writes: the X.509-SVID files (PEM trio, combined PEM, PKCS#12, [[x509_svids]]
 * entries, or the Filesystem Delivery layout), JWT-SVIDs, the JWT bundle, federated bundles. `env`
 * holds the PKCS#12 password's variable.
 */
export function readOutputs(top: Table, certDirAsWritten: string, certDir: string, env: NodeJS.ProcessEnv): Outputs {
  const layout = readLayout(top);
  const hint = top.string('hint') ?? '';
  const topLevel: X509SvidOutput = { ...readX509FileNames(top), select: { hint }, entry: undefined };
  const x509Outputs = [...(layout === 'filesystem_delivery' || hasX509Files(topLevel) ? [topLevel] : []), ...readX509Svids(top)];
  const pkcs12Password = readPkcs12Password(top, x509Outputs, env);
  const writesX509 = x509Outputs.length > 0;
  const jwtSvids = top.tables('jwt_svids').map((entry) => readJwtSvid(entry, certDirAsWritten, certDir));
  const jwtBundleFileName = top.read('jwt_bundle_file_name', readFileName);
  if (!writesX509 && jwtSvids.length === 0 && jwtBundleFileName === undefined) {
    top.fail(undefined, 'nothing to write: set svid_file_name, svid_key_file_name and svid_bundle_file_name, combined_pem_file_name, a PKCS#12 file, an [[x509_svids]] or [[jwt_svids]] entry, jwt_bundle_file_name, or layout');
  }
  const federatedBundleFileName = top.read('federated_bundle_file_name', (v) => {
    const name = readFileName(v);
    if (!name.ok || name.value.includes('{trust_domain}')) return name;
    return { ok: false, why: 'must contain "{trust_domain}", replaced by each federated trust domain name' };
  });
  if (federatedBundleFileName !== undefined && topLevel.pem === undefined) top.fail('federated_bundle_file_name', 'needs the X.509 files (svid_file_name, svid_key_file_name, svid_bundle_file_name)');
  const outputs: Outputs = {
    hint,
    x509Outputs,
    pkcs12Password,
    layout,
    federatedBundleFileName,
    jwtSvids,
    jwtBundle: jwtBundleFileName === undefined ? undefined : { fileName: jwtBundleFileName },
  };
  checkDistinct(top, outputs);
  return outputs;
}
