import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import { METRICS_PATH } from './paths.ts';
import { limitConnections } from './connection-limit.ts';
import type { HealthReport, HealthState } from './state.ts';
import { errorMessage } from '../log/index.ts';

export interface HealthServerOptions {
  readonly bindAddress: string;
  readonly port: number;
  readonly livenessPath: string;
  readonly readinessPath: string;
  /** Read on every request, so a config reload can hand the listener a new state. */
  readonly state: Pick<HealthState, 'readiness' | 'liveness'>;
  /** Runs before each readiness answer, so it reports the files on disk as they are now. */
  readonly refresh?: () => Promise<void>;
  /** Served at /metrics when given: the Prometheus text format. */
  readonly metrics?: { readonly contentType: string; render(): Promise<string> };
}

export interface HealthServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is in use',
  EADDRNOTAVAIL: 'no such local address',
  EACCES: 'permission denied',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name cannot be resolved now',
};

/**
 * Clients get seconds, not Node's minutes: probes send one short request and read one short answer.
 * Slow or silent clients (headers not sent, a request never finished, keep-alive left idle) are
 * closed within a few seconds, checked every second, so none holds a connection for long.
 */
const CLIENT_LIMITS = {
  headersTimeout: 5_000,
  requestTimeout: 10_000,
  keepAliveTimeout: 2_000,
  connectionsCheckingInterval: 1_000,
} as const;
const IDLE_SOCKET_MS = 10_000;

/**
 * Serves /live and /ready (paths configurable): 200 when ok, 503 with the reasons otherwise; and
 * /metrics when given.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  // Loaded here, not at the top: importing node:http also loads Node's fetch (undici), which a helper
  // without a health listener (and every one-shot run) never needs.
  const { createServer } = await import('node:http');
  const server = createServer(CLIENT_LIMITS, (request, response) => {
    // The raw target, not `new URL()`: a malformed target must not throw inside the listener.
    const path = (request.url ?? '/').split('?', 1)[0];
    if (path === METRICS_PATH && options.metrics !== undefined) return serveMetrics(options.metrics, request, response);
    const report: (() => HealthReport) | undefined =
      path === options.livenessPath ? () => options.state.liveness() : path === options.readinessPath ? () => options.state.readiness() : undefined;
    if (report === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const refresh = path === options.readinessPath ? options.refresh?.().catch(() => undefined) : undefined;
    void Promise.resolve(refresh).then(() => {
      const { ok, body } = report();
      const json = `${JSON.stringify(body)}\n`;
      response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : json);
    });
  });
  limitConnections(server);
  // A client that stops reading mid-answer: its socket is closed after this long without progress.
  server.setTimeout(IDLE_SOCKET_MS);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = (error.code === undefined ? undefined : LISTEN_ERRORS[error.code]) ?? error.message;
      const host = isIPv6(options.bindAddress) ? `[${options.bindAddress}]` : options.bindAddress;
      reject(new Error(`health listener cannot listen on ${host}:${options.port}: ${why}`));
    });
    server.listen(options.port, options.bindAddress, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : options.port;
  return {
    address: options.bindAddress,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function serveMetrics(metrics: NonNullable<HealthServerOptions['metrics']>, request: IncomingMessage, response: ServerResponse): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  metrics.render().then(
    (text) => {
      response.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : text);
    },
    (error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics not collected: ${errorMessage(error)}\n`);
    },
  );
}
