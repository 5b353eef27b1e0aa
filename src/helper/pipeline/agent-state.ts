import type { ConnectionState } from '../../spiffe/workload/index.ts';
import type { HealthState } from '../health/index.ts';
import type { Logger } from '../log/index.ts';
import type { HelperMetrics } from '../metrics/index.ts';

export interface AgentStateReport {
  readonly health: HealthState;
  readonly metrics: HelperMetrics;
  readonly log: Logger;
  readonly endpoint: string;
}

/**
 * Tells health, metrics and the log how the Workload API connection stands. Returns why it is
 * retrying, for the session's last problem (what a one-shot failure names), or undefined.
 */
export function reportAgentState(state: ConnectionState, { health, metrics, log, endpoint }: AgentStateReport): string | undefined {
  health.setAgentState(state.status, 'error' in state ? state.error.message : undefined);
  metrics.connection(state.status);
  if (state.status === 'retrying') {
    log.warn({ code: state.error.code, retryInMs: state.retryInMs }, `Workload API: ${state.error.message}`);
    return state.error.message;
  }
  if (state.status === 'connecting') log.debug({ endpoint }, 'Workload API connecting');
  else log.info({ endpoint }, `Workload API ${state.status}`);
  return undefined;
}
