import type { X509Certificate } from 'node:crypto';
import { certificatesToPem, privateKeyToPem } from '../svid/index.ts';
import type { JwtBundleSet, JwtSvid, X509Svid } from '../svid/index.ts';
import type { X509Context } from '../workload/index.ts';
import { fileNameProblem, type OutputFile } from '../output/index.ts';

/** What the X.509 files should hold: the config's file names, modes and content switches. */
export interface X509RenderPlan {
  readonly svidFileName: string;
  readonly keyFileName: string;
  readonly bundleFileName: string;
  readonly certFileMode: number;
  readonly keyFileMode: number;
  readonly hint: string;
  readonly addIntermediatesToBundle: boolean;
  readonly includeFederatedDomains: boolean;
  readonly omitExpired: boolean;
  /** `{trust_domain}` is replaced by each federated trust domain's name. */
  readonly federatedBundleFileName: string | undefined;
}

export class RenderError extends Error {
  override name = 'RenderError';
}

/** The SVID the helper serves: the one whose hint matches, else the default (first) one. */
export function selectSvid(context: X509Context, hint: string): X509Svid {
  if (hint === '') {
    const first = context.svids[0];
    if (first === undefined) throw new RenderError('the Workload API sent no X.509-SVID');
    return first;
  }
  const match = context.svids.find((svid) => svid.hint === hint);
  if (match === undefined) {
    const hints = context.svids.map((svid) => JSON.stringify(svid.hint)).join(', ');
    throw new RenderError(`no X.509-SVID has hint ${JSON.stringify(hint)} (the agent sent hints: ${hints || 'none'})`);
  }
  return match;
}

export interface X509Files {
  readonly files: OutputFile[];
  /** Federated bundle files that cannot be written (their name does not fit), one line each saying why. */
  readonly skipped: string[];
}

/**
 * The X.509 files as the Go helper writes them: the SVID file holds the leaf and its intermediates,
 * the key file the PKCS#8 key, the bundle file the trust domain's authorities (plus intermediates or
 * federated authorities when asked), and optionally one file per federated trust domain.
 */
export function renderX509Files(context: X509Context, plan: X509RenderPlan, now: Date): X509Files {
  const svid = selectSvid(context, plan.hint);
  const keep = (certs: readonly X509Certificate[]): X509Certificate[] =>
    plan.omitExpired ? certs.filter((cert) => new Date(cert.validTo).getTime() > now.getTime()) : [...certs];

  const [leaf, ...intermediates] = svid.certificates;
  if (leaf === undefined) throw new RenderError(`X.509-SVID ${svid.id} has no certificate`);
  const ownBundle = context.bundles.get(svid.id.trustDomain.name);
  if (ownBundle === undefined) throw new RenderError(`no X.509 bundle for trust domain ${svid.id.trustDomain.name}`);

  const svidCerts = plan.addIntermediatesToBundle ? [leaf] : [leaf, ...intermediates];
  const bundleCerts = [...ownBundle.authorities];
  if (plan.addIntermediatesToBundle) bundleCerts.push(...intermediates);
  const federated = [...context.federatedTrustDomains].sort();
  if (plan.includeFederatedDomains) {
    for (const td of federated) bundleCerts.push(...(context.bundles.get(td)?.authorities ?? []));
  }

  const files: OutputFile[] = [
    { name: plan.svidFileName, content: certificatesToPem(keep(svidCerts)), mode: plan.certFileMode },
    { name: plan.keyFileName, content: privateKeyToPem(svid.privateKey), mode: plan.keyFileMode },
    { name: plan.bundleFileName, content: certificatesToPem(keep(bundleCerts)), mode: plan.certFileMode },
  ];
  const skipped: string[] = [];
  if (plan.federatedBundleFileName !== undefined) {
    for (const td of federated) {
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
  return { files, skipped };
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
