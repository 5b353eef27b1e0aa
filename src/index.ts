/**
 * The library: a SPIFFE Workload API client and the SPIFFE ID / SVID / bundle types, for Node programs
 * that want to be SPIFFE-aware themselves. The helper (`spiffe-helper` command) is built on it.
 */
export * from './workload/index.ts';
export * from './svid/index.ts';
export { VERSION } from './version.ts';
