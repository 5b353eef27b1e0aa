export { HealthState, type AgentStatus, type HealthBody, type HealthOptions, type HealthReport } from './state.ts';
export { startHealthServer, type HealthServer, type HealthServerOptions } from './server.ts';
