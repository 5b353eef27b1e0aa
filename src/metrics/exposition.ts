import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { CONNECTION_STATUSES, type HelperMetrics } from './state.ts';

export interface MetricsExposition {
  readonly contentType: string;
  /** The Prometheus text format, read from the state at this moment. */
  render(): Promise<string>;
}

/**
 * A registry whose metrics read the state when scraped: the state stays plain values, and
 * prom-client is loaded only by a helper that serves /metrics. Names follow Prometheus conventions
 * (base units, `_total` counters, timestamps in seconds).
 */
export function createExposition(state: HelperMetrics, build: { readonly version: string }): MetricsExposition {
  const register = new Registry();
  const registers = [register];
  collectDefaultMetrics({ register });
  // Gauges named like counters, which `promtool check metrics` rejects; the per-type series stay.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) register.removeSingleMetric(name);
  const seconds = (ms: number): number => ms / 1000;

  new Gauge({
    name: 'spiffe_helper_build_info',
    help: 'The helper version and the Node.js version running it; always 1.',
    labelNames: ['version', 'node_version'],
    registers,
    collect() {
      this.set({ version: build.version, node_version: process.versions.node }, 1);
    },
  });
  new Gauge({
    name: 'spiffe_helper_svid_expiry_timestamp_seconds',
    help: 'When the SVID in the files on disk expires (notAfter / exp), by output.',
    labelNames: ['output'],
    registers,
    collect() {
      this.reset();
      for (const [output, notAfter] of state.expiries) this.set({ output }, seconds(notAfter));
    },
  });
  new Gauge({
    name: 'spiffe_helper_svid_expires_in_seconds',
    help: 'Seconds until the SVID in the files on disk expires, by output; negative once expired.',
    labelNames: ['output'],
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const [output, notAfter] of state.expiries) this.set({ output }, seconds(notAfter - now));
    },
  });
  new Counter({
    name: 'spiffe_helper_updates_received_total',
    help: 'Updates received from the Workload API, by kind.',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const [kind, count] of state.updatesReceived) this.inc({ kind }, count);
    },
  });
  new Counter({
    name: 'spiffe_helper_updates_skipped_total',
    help: 'Updates not written (the last good files stay), by kind and reason.',
    labelNames: ['kind', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const { kind, reason, count } of state.updatesSkipped.values()) this.inc({ kind, reason }, count);
    },
  });
  new Counter({
    name: 'spiffe_helper_file_sets_written_total',
    help: 'Complete file sets written that changed the files on disk.',
    registers,
    collect() {
      this.reset();
      this.inc(state.setsWritten);
    },
  });
  new Counter({
    name: 'spiffe_helper_write_failures_total',
    help: 'File set writes that failed (the previous set stays).',
    registers,
    collect() {
      this.reset();
      this.inc(state.writeFailures);
    },
  });
  new Gauge({
    name: 'spiffe_helper_last_write_timestamp_seconds',
    help: 'When a complete file set last changed on disk; 0 before the first.',
    registers,
    collect() {
      this.set(seconds(state.lastWriteAt ?? 0));
    },
  });
  new Gauge({
    name: 'spiffe_helper_workload_api_connected',
    help: '1 while the Workload API stream is up, else 0.',
    registers,
    collect() {
      this.set(state.connectionStatus === 'connected' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'spiffe_helper_workload_api_state',
    help: 'The Workload API connection state: 1 for the current state, 0 for the others.',
    labelNames: ['state'],
    registers,
    collect() {
      for (const status of CONNECTION_STATUSES) this.set({ state: status }, status === state.connectionStatus ? 1 : 0);
    },
  });
  new Counter({
    name: 'spiffe_helper_workload_api_reconnects_total',
    help: 'Times the Workload API stream failed and a reconnect was scheduled.',
    registers,
    collect() {
      this.reset();
      this.inc(state.reconnects);
    },
  });
  new Counter({
    name: 'spiffe_helper_notifications_total',
    help: 'Times the program was told of new files (signal, restart or reload command), by action and result.',
    labelNames: ['action', 'result'],
    registers,
    collect() {
      this.reset();
      for (const { action, result, count } of state.notifications.values()) this.inc({ action, result }, count);
    },
  });
  new Counter({
    name: 'spiffe_helper_program_restarts_total',
    help: 'Times the wrapped program was started again after its first start.',
    registers,
    collect() {
      this.reset();
      this.inc(Math.max(0, state.programStarts - 1));
    },
  });
  new Counter({
    name: 'spiffe_helper_program_exits_total',
    help: 'Exits of the wrapped program, by exit code (128+n when signal n killed it).',
    labelNames: ['code'],
    registers,
    collect() {
      this.reset();
      for (const [code, count] of state.programExits) this.inc({ code: String(code) }, count);
    },
  });
  new Counter({
    name: 'spiffe_helper_config_reloads_total',
    help: 'Config reloads (SIGHUP or file change), by result; a failed one keeps the running config.',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      this.inc({ result: 'ok' }, state.configReloads.ok);
      this.inc({ result: 'failed' }, state.configReloads.failed);
    },
  });

  return { contentType: register.contentType, render: () => register.metrics() };
}
