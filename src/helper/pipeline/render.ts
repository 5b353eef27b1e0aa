import type { X509Certificate } from 'node:crypto';
import { certificatesToPem, pkcs8ToPem } from '../../spiffe/svid/index.ts';
import type { JwtBundleSet, JwtSvid, X509Svid } from '../../spiffe/svid/index.ts';
import type { X509Context } from '../../spiffe/workload/index.ts';
import { fileNameProblem, type OutputFile } from '../output/index.ts';
import { requireSvid } from '../../spiffe/sources/index.ts';
import type { Layout, X509FileNames, X509SvidOutput } from '../config/index.ts';
import { combinedPem, filesystemDeliveryFiles, keystorePkcs12, truststorePkcs12 } from '../formats/index.ts';

/** One SVID, chosen by hint ('' = the default, first) or SPIFFE ID, and the files it goes to. */
export type X509Target = Pick<X509SvidOutput, 'select'> & X509FileNames;

/** What the X.509 files should hold: which SVIDs to which files, modes and content switches. */
export interface X509RenderPlan {
  /** The top-level SVID first (when it has files), then each [[x509_svids]] entry. */
  readonly targets: readonly X509Target[];
  readonly layout: Layout;
  readonly certFileMode: number;
  readonly keyFileMode: number;
  readonly addIntermediatesToBundle: boolean;
  readonly includeFederatedDomains: boolean;
  readonly omitExpired: boolean;
  /** `{trust_domain}` is replaced by each federated trust domain's name. */
  readonly federatedBundleFileName: string | undefined;
  readonly pkcs12Password: string | undefined;
}

class RenderError extends Error {
  override name = 'RenderError';
}

/** One SVID's certificates as the Go helper splits them, with the switches applied. */
interface Material {
  readonly svid: X509Svid;
  readonly chain: X509Certificate[];
  readonly bundle: X509Certificate[];
}

type Keep = (certs: readonly X509Certificate[]) => X509Certificate[];

/** omit_expired, applied to every certificate file. */
function keeper(plan: X509RenderPlan, now: Date): Keep {
  return (certs) => (plan.omitExpired ? certs.filter((cert) => new Date(cert.validTo).getTime() > now.getTime()) : [...certs]);
}

function material(context: X509Context, svid: X509Svid, plan: X509RenderPlan, keep: Keep): Material {
  const [leaf, ...intermediates] = svid.certificates;
  if (leaf === undefined) throw new RenderError(`X.509-SVID ${svid.id} has no certificate`);
  const ownBundle = context.bundles.get(svid.id.trustDomain.name);
  if (ownBundle === undefined) throw new RenderError(`no X.509 bundle for trust domain ${svid.id.trustDomain.name}`);
  const bundle = [...ownBundle.authorities];
  if (plan.addIntermediatesToBundle) bundle.push(...intermediates);
  if (plan.includeFederatedDomains) {
    for (const td of [...context.federatedTrustDomains].sort()) bundle.push(...(context.bundles.get(td)?.authorities ?? []));
  }
  return { svid, chain: keep(plan.addIntermediatesToBundle ? [leaf] : [leaf, ...intermediates]), bundle: keep(bundle) };
}

/** Every file one target names. The combined PEM and the keystore hold the key, so they get its mode. */
function targetFiles(target: X509Target, { svid, chain, bundle }: Material, plan: X509RenderPlan): OutputFile[] {
  const files: OutputFile[] = [];
  if (target.pem !== undefined) {
    files.push(
      { name: target.pem.svidFileName, content: certificatesToPem(chain), mode: plan.certFileMode },
      { name: target.pem.keyFileName, content: pkcs8ToPem(svid.privateKeyDer), mode: plan.keyFileMode },
      { name: target.pem.bundleFileName, content: certificatesToPem(bundle), mode: plan.certFileMode },
    );
  }
  if (target.combinedPemFileName !== undefined) {
    files.push({ name: target.combinedPemFileName, content: combinedPem(svid.privateKeyDer, chain), mode: plan.keyFileMode });
  }
  if (target.pkcs12KeystoreFileName !== undefined) {
    const keystore = keystorePkcs12({ alias: svid.id.toString(), privateKeyDer: svid.privateKeyDer, chain }, pkcs12Password(plan));
    files.push({ name: target.pkcs12KeystoreFileName, content: keystore, mode: plan.keyFileMode });
  }
  if (target.pkcs12TruststoreFileName !== undefined) {
    const trusted = bundle.map((certificate, index) => ({ alias: `${svid.id.trustDomain.name}-${index + 1}`, certificate }));
    files.push({ name: target.pkcs12TruststoreFileName, content: truststorePkcs12(trusted, pkcs12Password(plan)), mode: plan.certFileMode });
  }
  return files;
}

/**
 * The X.509 files of one update, all in one set: for each target its SVID's files (the Go helper's
 * PEM trio, a combined PEM, PKCS#12 key- and truststores), optionally one file per federated trust
 * domain; or, with the Filesystem Delivery layout, exactly that folder. Also the SVIDs chosen, and
 * the federated bundle files that cannot be written because their name does not fit, one line each.
 */
export function renderX509Files(context: X509Context, plan: X509RenderPlan, now: Date): { files: OutputFile[]; svids: X509Svid[]; skipped: string[] } {
  const keep = keeper(plan, now);
  const chosen = plan.targets.map((target) => ({ target, material: material(context, requireSvid(context.svids, target.select, 'X.509-SVID'), plan, keep) }));
  const svids = chosen.map(({ material: { svid } }) => svid);
  if (plan.layout === 'filesystem_delivery') {
    const [first] = chosen;
    if (first === undefined) throw new RenderError('the Filesystem Delivery layout needs an SVID');
    const trustBundles = new Map([...context.bundles].map(([td, bundle]) => [td, keep(bundle.authorities)] as const));
    const folder = { privateKeyDer: first.material.svid.privateKeyDer, chain: first.material.chain, trustBundles, keyFileMode: plan.keyFileMode, certFileMode: plan.certFileMode };
    return { files: filesystemDeliveryFiles(folder), svids, skipped: [] };
  }
  const files = chosen.flatMap(({ target, material }) => targetFiles(target, material, plan));
  const skipped: string[] = [];
  if (plan.federatedBundleFileName !== undefined) {
    for (const td of [...context.federatedTrustDomains].sort()) {
      // A federated domain's name comes from the agent: one that cannot be a file name must not stop
      // the workload's own identity from being written.
      const name = federatedFileName(plan.federatedBundleFileName, td);
      const problem = fileNameProblem(name);
      if (problem !== undefined) {
        skipped.push(`the bundle file of federated trust domain ${td.length > 60 ? `${td.slice(0, 60)}…` : td} is not written: ${problem}`);
        continue;
      }
      files.push({ name, content: certificatesToPem(keep(context.bundles.get(td)?.authorities ?? [])), mode: plan.certFileMode });
    }
  }
  return { files, svids, skipped };
}

/** The config requires a password with any PKCS#12 file; a plan without one is a bug, never a skipped file. */
function pkcs12Password(plan: X509RenderPlan): string {
  if (plan.pkcs12Password === undefined) throw new RenderError('a PKCS#12 file is configured without a password');
  return plan.pkcs12Password;
}

function federatedFileName(pattern: string, trustDomain: string): string {
  return pattern.replaceAll('{trust_domain}', trustDomain);
}

/** A JWT-SVID file holds the bare token, as the Go helper writes it. */
export function renderJwtSvidFile(svid: JwtSvid, fileName: string, mode: number): OutputFile {
  return { name: fileName, content: svid.token, mode };
}

/**
 * The JWT bundle file in the Go helper's format: a JSON object mapping each trust domain name to the
 * base64 of its JWKS document, so consumers written for the Go helper keep working.
 */
export function renderJwtBundleFile(bundles: JwtBundleSet, fileName: string, mode: number): OutputFile {
  const document: Record<string, string> = {};
  for (const name of [...bundles.keys()].sort()) {
    document[name] = Buffer.from(bundles.get(name)!.jwks).toString('base64');
  }
  return { name: fileName, content: JSON.stringify(document), mode };
}
