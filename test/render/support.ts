import type { X509RenderPlan, X509Target } from '../../src/helper/pipeline/render.ts';

/** A target's file names, all unset: spread it and set the ones a test needs. */
export const NO_FILES = { pem: undefined, combinedPemFileName: undefined, pkcs12KeystoreFileName: undefined, pkcs12TruststoreFileName: undefined } as const;

/** A render plan with the config's defaults (modes 0644/0600, every switch off). */
export function renderPlan(targets: X509Target[], extra: Partial<X509RenderPlan> = {}): X509RenderPlan {
  return {
    targets,
    layout: 'helper',
    certFileMode: 0o644,
    keyFileMode: 0o600,
    addIntermediatesToBundle: false,
    includeFederatedDomains: false,
    omitExpired: false,
    federatedBundleFileName: undefined,
    pkcs12Password: undefined,
    ...extra,
  };
}
