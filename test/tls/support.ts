import { once } from 'node:events';
import { request } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import type { RequestOptions } from 'node:https';

/** Listens on an ephemeral loopback port; the server is closed when the test ends. */
export async function listen(t: { after(fn: () => unknown): void }, server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    return new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as AddressInfo).port;
}

/** GET / over HTTPS with these TLS options: the status and body, or the error that ended it. */
export function get(port: number, options: RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...options, host: '127.0.0.1', port, path: '/', method: 'GET' }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
