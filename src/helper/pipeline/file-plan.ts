import type { JwtBundleSet, JwtSvid, X509Svid } from '../../spiffe/svid/index.ts';
import type { X509Context } from '../../spiffe/workload/index.ts';
import { basename } from 'node:path';
import type { OutputFile } from '../output/index.ts';
import { JWT_BUNDLE_OUTPUT, X509_OUTPUT, configuredOutputs, jwtSvidOutput, x509FileNames, type HelperConfig, type OutputName } from '../config/index.ts';
import { pickFirst, pickSvid, type X509SvidPicker } from '../../spiffe/sources/index.ts';
import { renderJwtBundleFile, renderJwtSvidFile, renderX509Files, type X509RenderPlan } from './render.ts';


/**
 * What the X509Source picks: the top-level SVID (by `hint`) when it has files, so an update without
 * it is refused whole; with only [[x509_svids]] entries, any update with an SVID (each entry then
 * selects its own).
 */
export function x509Picker(config: HelperConfig): X509SvidPicker {
  const [first] = config.x509Outputs;
  return first !== undefined && first.entry === undefined ? pickSvid(first.select) : pickFirst;
}

/** True when the config writes X.509 files, so the X.509 context must be watched. */
export const writesX509 = (config: HelperConfig): boolean => config.x509Outputs.length > 0;


/**
 * The latest identity material, and the file set it renders to. Each piece arrives on its own
 * stream; the file set is always rendered whole so one write replaces every file at once.
 */
export class FilePlan {
  readonly #config: HelperConfig;
  readonly #x509Plan: X509RenderPlan | undefined;
  #x509Files: OutputFile[] | undefined;
  #skipped: readonly string[] = [];
  #x509Context: X509Context | undefined;
  /** The X.509-SVIDs in #x509Files. */
  #x509Svids: readonly X509Svid[] = [];
  readonly #jwtSvids = new Map<string, JwtSvid>();
  #jwtBundles: JwtBundleSet | undefined;

  constructor(config: HelperConfig) {
    this.#config = config;
    const targets = config.x509Outputs;
    this.#x509Plan =
      targets.length === 0
        ? undefined
        : {
            targets,
            layout: config.layout,
            certFileMode: config.certFileMode,
            keyFileMode: config.keyFileMode,
            addIntermediatesToBundle: config.addIntermediatesToBundle,
            includeFederatedDomains: config.includeFederatedDomains,
            omitExpired: config.omitExpired,
            federatedBundleFileName: config.federatedBundleFileName,
            pkcs12Password: config.pkcs12Password?.value,
          };
  }

  get x509Context(): X509Context | undefined {
    return this.#x509Context;
  }

  get jwtBundles(): JwtBundleSet | undefined {
    return this.#jwtBundles;
  }

  /** The JWT-SVIDs held, by file name. */
  get jwtSvids(): ReadonlyMap<string, JwtSvid> {
    return this.#jwtSvids;
  }

  /** Why some federated bundle files of the newest X.509 update are not written. */
  get skipped(): readonly string[] {
    return this.#skipped;
  }

  /**
   * Renders the X.509 files first, so an update that cannot be rendered changes nothing; returns the
   * SVIDs written.
   */
  setX509(context: X509Context, now: Date): X509Svid[] {
    if (this.#x509Plan === undefined) return [];
    const { files, svids, skipped } = renderX509Files(context, this.#x509Plan, now);
    this.#x509Files = files;
    this.#skipped = skipped;
    this.#x509Context = context;
    this.#x509Svids = svids;
    return svids;
  }

  setJwtSvid(fileName: string, svid: JwtSvid): void {
    this.#jwtSvids.set(fileName, svid);
  }

  setJwtBundles(bundles: JwtBundleSet): void {
    this.#jwtBundles = bundles;
  }

  /** The outputs that have material, by health name. */
  ready(): OutputName[] {
    const ready: OutputName[] = [];
    if (this.#x509Files !== undefined) ready.push(X509_OUTPUT);
    for (const fileName of this.#jwtSvids.keys()) ready.push(jwtSvidOutput(fileName));
    if (this.#jwtBundles !== undefined && this.#config.jwtBundle !== undefined) ready.push(JWT_BUNDLE_OUTPUT);
    return ready;
  }

  /** True once every configured output has material: the wrapped program may start. */
  complete(): boolean {
    return this.ready().length === configuredOutputs(this.#config).length;
  }

  /** When the SVID behind each output with material expires, by output name; for X.509, the first of its SVIDs to expire. */
  expiries(): Map<OutputName, Date> {
    const expiries = new Map<OutputName, Date>();
    const x509 = this.#x509Svids.map((svid) => svid.notAfter.getTime());
    if (this.#x509Files !== undefined && x509.length > 0) expiries.set(X509_OUTPUT, new Date(Math.min(...x509)));
    for (const [fileName, svid] of this.#jwtSvids) expiries.set(jwtSvidOutput(fileName), svid.expiresAt);
    return expiries;
  }

  /**
   * What a write keeps from the set on disk when it has no material for it yet, so a restart or a
   * reload never removes a file while its new content is on its way. Until the first X.509 update
   * the X.509 part of the set is unknown, names that depend on the bundles included (a file per
   * federated trust domain, Filesystem Delivery's trust files): the whole set on disk stays, and the
   * first X.509 write makes it exactly this config's. After it, the configured fixed names.
   */
  carry(): readonly string[] | 'all' {
    if (writesX509(this.#config) && this.#x509Files === undefined) return 'all';
    const names = this.#config.x509Outputs.flatMap(x509FileNames);
    names.push(...this.#config.jwtSvids.filter((jwt) => jwt.path === undefined).map((jwt) => jwt.fileName));
    if (this.#config.jwtBundle !== undefined) names.push(this.#config.jwtBundle.fileName);
    return names;
  }

  files(): OutputFile[] {
    const files: OutputFile[] = [...(this.#x509Files ?? [])];
    for (const jwt of this.#config.jwtSvids) {
      const svid = this.#jwtSvids.get(jwt.fileName);
      if (svid !== undefined && jwt.path === undefined) files.push(renderJwtSvidFile(svid, jwt.fileName, this.#config.jwtSvidFileMode));
    }
    const bundle = this.#config.jwtBundle;
    if (bundle !== undefined && this.#jwtBundles !== undefined) {
      files.push(renderJwtBundleFile(this.#jwtBundles, bundle.fileName, this.#config.jwtBundleFileMode));
    }
    return files;
  }

  /** JWT-SVID files outside the set (the Go helper's paths with "/"): each replaced on its own. */
  looseFiles(): Array<{ readonly path: string; readonly file: OutputFile }> {
    return this.#config.jwtSvids.flatMap((jwt) => {
      const svid = this.#jwtSvids.get(jwt.fileName);
      return jwt.path === undefined || svid === undefined ? [] : [{ path: jwt.path, file: renderJwtSvidFile(svid, basename(jwt.path), this.#config.jwtSvidFileMode) }];
    });
  }
}
