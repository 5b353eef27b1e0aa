/**
 * The name of a configured output, as the health document and the metrics label it: the X.509 file
 * set, the JWT bundle file, or one JWT-SVID file.
 */
export type OutputName = typeof X509_OUTPUT | typeof JWT_BUNDLE_OUTPUT | `jwt_svid:${string}`;

export const X509_OUTPUT = 'x509';
export const JWT_BUNDLE_OUTPUT = 'jwt_bundle';
export const jwtSvidOutput = (fileName: string): OutputName => `jwt_svid:${fileName}`;
