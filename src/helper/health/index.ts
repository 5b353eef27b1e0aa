export { MAX_CONNECTIONS } from './connection-limit.ts';
export { HealthState, type HealthBody, type HealthOptions, type HealthReport } from './state.ts';
export { METRICS_PATH } from './paths.ts';
export { startHealthServer, type HealthServer, type HealthServerOptions } from './server.ts';
