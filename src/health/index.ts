export { HealthState, type AgentStatus, type HealthOptions, type HealthReport } from './state.ts';
export { startHealthServer, type HealthServer, type HealthServerOptions } from './server.ts';
