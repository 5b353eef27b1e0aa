import type { ConnectionState, WatchHandler } from '../../src/spiffe/workload/index.ts';
import { WorkloadApiClient } from '../../src/spiffe/workload/index.ts';
import { WorkloadApiTestServer, type TestServerOptions } from '../support/workload-api-server.ts';

/** Small backoff so retries happen within a test's deadline: steps of 20, 40, 80, 160, 200 ms. */
export const FAST = { initialMs: 20, maxMs: 200 } as const;

export type Retrying = Extract<ConnectionState, { status: 'retrying' }>;

/** A watch handler that records everything it is told. */
export interface Recorder<T> extends WatchHandler<T> {
  readonly updates: T[];
  readonly errors: Error[];
  readonly states: ConnectionState[];
  retries(): Retrying[];
}

export function recorder<T>(): Recorder<T> {
  const r: Recorder<T> = {
    updates: [],
    errors: [],
    states: [],
    onUpdate: (value) => r.updates.push(value),
    onError: (error) => r.errors.push(error),
    onStateChange: (state) => r.states.push(state),
    retries: () => r.states.filter((s): s is Retrying => s.status === 'retrying'),
  };
  return r;
}

/** A test server and a client of it with a small backoff, both closed when the test ends. */
export async function setup(t: { after(fn: () => unknown): void }, options: TestServerOptions = {}) {
  const server = await WorkloadApiTestServer.start(options);
  const client = new WorkloadApiClient({ address: server.address, backoff: FAST });
  t.after(() => {
    client.close();
    return server.stop();
  });
  return { server, client };
}
