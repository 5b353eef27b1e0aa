export { MAX_CONNECTIONS } from './connection-limit.ts';
export { JWT_BUNDLE_OUTPUT, X509_OUTPUT, jwtSvidOutput, type OutputName } from './outputs.ts';
export { HealthState, type HealthBody, type HealthOptions, type HealthReport } from './state.ts';
export { METRICS_PATH, startHealthServer, type HealthServer, type HealthServerOptions } from './server.ts';
