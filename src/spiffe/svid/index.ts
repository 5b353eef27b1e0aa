export { SpiffeId, SpiffeIdError, TrustDomain } from './spiffe-id.ts';
export { DerError, splitDerSequence } from '../der/read.ts';
export { PemError, certificatesToPem, decodePem, encodePem, pkcs8ToPem, privateKeyToPem } from './pem.ts';
export { X509BundleError, parseX509Bundle, type X509Bundle, type X509BundleSet, type X509BundleSource } from './x509-bundle.ts';
export { X509SvidError, parseX509Svid, parseX509SvidChain, verifyX509Svid, verifyX509SvidPath, type X509Svid, type X509SvidChain } from './x509-svid.ts';
export { JwtBundleError, parseJwtBundle, type JwtBundle, type JwtBundleSet } from './jwt-bundle.ts';
export { JwtSvidError, checkJwtSvidClaims, parseJwtSvidInsecure, validateJwtSvid, type JwtSvid } from './jwt-svid.ts';
