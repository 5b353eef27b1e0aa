export { type SourceEvents, type SourceOptions, type TrustDomainLike } from './live-source.ts';
export { NoMatchingSvidError, requireSvid, selectSvid, type SvidSelection } from './svid-selection.ts';
export { X509Source, pickFirst, pickHint, pickSvid, type X509SourceOptions, type X509SourceUpdate, type X509SvidPicker } from './x509-source.ts';
export { JwtSource, jwtSvidRenewalTime, type JwtBundleSource, type JwtSvidParams } from './jwt-source.ts';
export { BundleSource, type BundleSourceOptions, type BundleSourceUpdate } from './bundle-source.ts';
export { fetchJwtSvid, fetchX509Svid, type OneShotOptions } from './one-shot.ts';
