/**
 * `spiffe-helper/dev`: a development SPIFFE Workload API, in process, for trying the helper and for
 * testing an app's own SPIFFE code (mTLS, JWT) with real certificates and real rotations, without
 * SPIRE. Its identities are not attested: never for production. Loads none of the command's
 * dependencies.
 */
export { startDevWorkloadApi, type DevWorkloadApi, type DevWorkloadApiOptions } from './dev-workload-api.ts';
export type { IssuedX509Svid } from './dev-ca.ts';
export { SpiffeIdError } from '../svid/index.ts';
