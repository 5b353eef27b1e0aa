export { HelperMetrics, type MetricsRecorder, type NotifyResult, type SkipReason, type UpdateKind } from './state.ts';
export type { MetricsExposition } from './exposition.ts';

import type { MetricsExposition } from './exposition.ts';
import type { HelperMetrics } from './state.ts';

const expositions = new WeakMap<HelperMetrics, Promise<MetricsExposition>>();

/**
 * The /metrics body for `state`, one per state (the process metrics start their collectors once).
 * prom-client is loaded on first use, so a helper that serves no listener never loads it.
 */
export function metricsExposition(state: HelperMetrics, build: { readonly version: string }): Promise<MetricsExposition> {
  let exposition = expositions.get(state);
  if (exposition === undefined) {
    exposition = import('./exposition.ts').then(({ createExposition }) => createExposition(state, build));
    expositions.set(state, exposition);
  }
  return exposition;
}
