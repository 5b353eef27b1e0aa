export { HealthState, type AgentStatus, type HealthBody, type HealthOptions, type HealthReport } from './state.ts';
export { METRICS_PATH, startHealthServer, type HealthServer, type HealthServerOptions } from './server.ts';
