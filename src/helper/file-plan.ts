import type { JwtBundleSet, JwtSvid } from '../svid/index.ts';
import type { X509Context } from '../workload/index.ts';
import type { OutputFile } from '../output/index.ts';
import type { HelperConfig } from '../config/index.ts';
import { renderJwtBundleFile, renderJwtSvidFile, renderX509Files, selectSvid, type X509RenderPlan } from './render.ts';

/** The health module's name for each configured output. */
export const X509_OUTPUT = 'x509';
const JWT_BUNDLE_OUTPUT = 'jwt_bundle';
export const jwtSvidOutput = (fileName: string): string => `jwt_svid:${fileName}`;

export function configuredOutputs(config: HelperConfig): string[] {
  const outputs: string[] = [];
  if (config.x509 !== undefined) outputs.push(X509_OUTPUT);
  for (const jwt of config.jwtSvids) outputs.push(jwtSvidOutput(jwt.fileName));
  if (config.jwtBundle !== undefined) outputs.push(JWT_BUNDLE_OUTPUT);
  return outputs;
}

/**
 * The latest identity material, and the file set it renders to. Each piece arrives on its own
 * stream; the file set is always rendered whole so one write replaces every file at once.
 */
export class FilePlan {
  readonly #config: HelperConfig;
  readonly #x509Plan: X509RenderPlan | undefined;
  #x509Files: OutputFile[] | undefined;
  #x509Context: X509Context | undefined;
  readonly #jwtSvids = new Map<string, JwtSvid>();
  #jwtBundles: JwtBundleSet | undefined;

  constructor(config: HelperConfig) {
    this.#config = config;
    const x509 = config.x509;
    this.#x509Plan =
      x509 === undefined
        ? undefined
        : {
            svidFileName: x509.svidFileName,
            keyFileName: x509.keyFileName,
            bundleFileName: x509.bundleFileName,
            certFileMode: config.certFileMode,
            keyFileMode: config.keyFileMode,
            hint: config.hint,
            addIntermediatesToBundle: config.addIntermediatesToBundle,
            includeFederatedDomains: config.includeFederatedDomains,
            omitExpired: config.omitExpired,
            federatedBundleFileName: config.federatedBundleFileName,
          };
  }

  get x509Context(): X509Context | undefined {
    return this.#x509Context;
  }

  get jwtBundles(): JwtBundleSet | undefined {
    return this.#jwtBundles;
  }

  /** Renders the X.509 files first, so an update that cannot be rendered changes nothing. */
  setX509(context: X509Context, now: Date): void {
    if (this.#x509Plan === undefined) return;
    this.#x509Files = renderX509Files(context, this.#x509Plan, now);
    this.#x509Context = context;
  }

  setJwtSvid(fileName: string, svid: JwtSvid): void {
    this.#jwtSvids.set(fileName, svid);
  }

  setJwtBundles(bundles: JwtBundleSet): void {
    this.#jwtBundles = bundles;
  }

  /** The outputs that have material, by health name. */
  ready(): string[] {
    const ready: string[] = [];
    if (this.#x509Files !== undefined) ready.push(X509_OUTPUT);
    for (const fileName of this.#jwtSvids.keys()) ready.push(jwtSvidOutput(fileName));
    if (this.#jwtBundles !== undefined && this.#config.jwtBundle !== undefined) ready.push(JWT_BUNDLE_OUTPUT);
    return ready;
  }

  /** True once every configured output has material: the wrapped program may start. */
  complete(): boolean {
    return this.ready().length === configuredOutputs(this.#config).length;
  }

  /** When the SVID behind each output with material expires, by output name. */
  expiries(): Map<string, Date> {
    const expiries = new Map<string, Date>();
    if (this.#x509Files !== undefined && this.#x509Context !== undefined) expiries.set(X509_OUTPUT, selectSvid(this.#x509Context, this.#config.hint).notAfter);
    for (const [fileName, svid] of this.#jwtSvids) expiries.set(jwtSvidOutput(fileName), svid.expiresAt);
    return expiries;
  }

  files(): OutputFile[] {
    const files: OutputFile[] = [...(this.#x509Files ?? [])];
    for (const jwt of this.#config.jwtSvids) {
      const svid = this.#jwtSvids.get(jwt.fileName);
      if (svid !== undefined) files.push(renderJwtSvidFile(svid, jwt.fileName, this.#config.jwtSvidFileMode));
    }
    const bundle = this.#config.jwtBundle;
    if (bundle !== undefined && this.#jwtBundles !== undefined) {
      files.push(renderJwtBundleFile(this.#jwtBundles, bundle.fileName, this.#config.jwtBundleFileMode));
    }
    return files;
  }
}
