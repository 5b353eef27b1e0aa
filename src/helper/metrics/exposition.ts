import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { CONNECTION_STATUSES, type HelperMetrics } from './state.ts';

export interface MetricsExposition {
  readonly contentType: string;
  /** The Prometheus text format, read from the state at this moment. */
  render(): Promise<string>;
}

/** One sample: its labels and value. */
type Sample = readonly [Readonly<Record<string, string>>, number];

/**
 * A registry whose metrics read the state when scraped: the state stays plain values, and
 * prom-client is loaded only by a helper that serves /metrics. Names follow Prometheus conventions
 * (base units, `_total` counters, timestamps in seconds).
 */
export function createExposition(state: HelperMetrics, build: { readonly version: string }): MetricsExposition {
  const register = new Registry();
  collectDefaultMetrics({ register });
  // Gauges named like counters, which `promtool check metrics` rejects; the per-type series stay.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) register.removeSingleMetric(name);

  const define = (Kind: typeof Counter | typeof Gauge, name: string, help: string, labelNames: readonly string[], samples: () => Iterable<Sample>): void => {
    const metric: Counter | Gauge = new Kind({
      name,
      help,
      labelNames,
      registers: [register],
      collect() {
        metric.reset();
        for (const [labels, value] of samples()) {
          if (metric instanceof Gauge) metric.set(labels, value);
          else metric.inc(labels, value);
        }
      },
    });
  };
  const counter = (name: string, help: string, labelNames: readonly string[], samples: () => Iterable<Sample>) => define(Counter, name, help, labelNames, samples);
  const gauge = (name: string, help: string, labelNames: readonly string[], samples: () => Iterable<Sample>) => define(Gauge, name, help, labelNames, samples);
  const seconds = (ms: number): number => ms / 1000;
  const one = (value: number): Sample[] => [[{}, value]];

  gauge('spiffe_helper_build_info', 'The helper version and the Node.js version running it; always 1.', ['version', 'node_version'], () => [
    [{ version: build.version, node_version: process.versions.node }, 1],
  ]);
  gauge('spiffe_helper_svid_expiry_timestamp_seconds', 'When the SVID in the files on disk expires (notAfter / exp), by output.', ['output'], () =>
    [...state.expiries].map(([output, notAfter]) => [{ output }, seconds(notAfter)]),
  );
  gauge('spiffe_helper_svid_expires_in_seconds', 'Seconds until the SVID in the files on disk expires, by output; negative once expired.', ['output'], () => {
    const now = Date.now();
    return [...state.expiries].map(([output, notAfter]) => [{ output }, seconds(notAfter - now)]);
  });
  counter('spiffe_helper_updates_received_total', 'Updates received from the Workload API, by kind.', ['kind'], () =>
    [...state.updatesReceived].map(([kind, count]) => [{ kind }, count]),
  );
  counter('spiffe_helper_updates_skipped_total', 'Updates not written (the last good files stay), by kind and reason.', ['kind', 'reason'], () =>
    [...state.updatesSkipped.values()].map(({ kind, reason, count }) => [{ kind, reason }, count]),
  );
  counter('spiffe_helper_file_sets_written_total', 'Complete file sets written that changed the files on disk.', [], () => one(state.setsWritten));
  counter('spiffe_helper_write_failures_total', 'File set writes that failed (the previous set stays).', [], () => one(state.writeFailures));
  gauge('spiffe_helper_last_write_timestamp_seconds', 'When a complete file set last changed on disk; 0 before the first.', [], () => one(seconds(state.lastWriteAt ?? 0)));
  gauge('spiffe_helper_workload_api_connected', '1 while the Workload API stream is up, else 0.', [], () => one(state.connectionStatus === 'connected' ? 1 : 0));
  gauge('spiffe_helper_workload_api_state', 'The Workload API connection state: 1 for the current state, 0 for the others.', ['state'], () =>
    CONNECTION_STATUSES.map((status) => [{ state: status }, status === state.connectionStatus ? 1 : 0]),
  );
  counter('spiffe_helper_workload_api_reconnects_total', 'Times the Workload API stream failed and a reconnect was scheduled.', [], () => one(state.reconnects));
  counter('spiffe_helper_notifications_total', 'Times the program was told of new files (signal, restart or reload command), by action and result.', ['action', 'result'], () =>
    [...state.notifications.values()].map(({ action, result, count }) => [{ action, result }, count]),
  );
  counter('spiffe_helper_program_restarts_total', 'Times the wrapped program was started again after its first start.', [], () => one(Math.max(0, state.programStarts - 1)));
  counter('spiffe_helper_program_exits_total', 'Exits of the wrapped program, by exit code (128+n when signal n killed it).', ['code'], () =>
    [...state.programExits].map(([code, count]) => [{ code: String(code) }, count]),
  );
  counter('spiffe_helper_config_reloads_total', 'Config reloads (SIGHUP or file change), by result; a failed one keeps the running config.', ['result'], () => [
    [{ result: 'ok' }, state.configReloads.ok],
    [{ result: 'failed' }, state.configReloads.failed],
  ]);

  return { contentType: register.contentType, render: () => register.metrics() };
}
