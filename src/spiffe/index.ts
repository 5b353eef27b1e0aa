/**
 * The library, for Node programs that want to be SPIFFE-aware themselves: live X.509, JWT and bundle
 * sources on the SPIFFE Workload API, mTLS by SPIFFE ID on them, the Workload API client, and the
 * SPIFFE ID / SVID / bundle types. The helper (`spiffe-helper` command) is built on it. Nothing here
 * loads the command's dependencies (logger, file watcher, process runner, TOML).
 */
export * from './sources/index.ts';
export * from './tls/index.ts';
export * from './workload/index.ts';
export * from './svid/index.ts';
export { VERSION } from './version.ts';
