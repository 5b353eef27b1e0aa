import type { HelperConfig } from './types.ts';

/**
 * The name of a configured output, as the health document and the metrics label it: the X.509 file
 * set, the JWT bundle file, or one JWT-SVID file.
 */
export type OutputName = typeof X509_OUTPUT | typeof JWT_BUNDLE_OUTPUT | `jwt_svid:${string}`;

export const X509_OUTPUT = 'x509';
export const JWT_BUNDLE_OUTPUT = 'jwt_bundle';
export const jwtSvidOutput = (fileName: string): OutputName => `jwt_svid:${fileName}`;

/** Every output `config` writes, by name: the health state and the metrics report on each. */
export function configuredOutputs(config: HelperConfig): OutputName[] {
  const outputs: OutputName[] = [];
  if (config.x509Outputs.length > 0) outputs.push(X509_OUTPUT);
  for (const jwt of config.jwtSvids) outputs.push(jwtSvidOutput(jwt.fileName));
  if (config.jwtBundle !== undefined) outputs.push(JWT_BUNDLE_OUTPUT);
  return outputs;
}
