import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Server as GrpcServer, ServerCredentials, credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import { X509Source, authorizeId, pickHint, tlsClientOptions } from '../../src/spiffe/index.ts';
import { SpiffeWorkloadApi, workloadApiService } from '../../src/spiffe/workload/proto.ts';
import { connect as http2Connect, type SecureClientSessionOptions } from 'node:http2';
import { request } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import type { RequestOptions } from 'node:https';
import { WorkloadApiTestServer } from '../support/workload-api-server.ts';

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

type T = { after(fn: () => unknown): void };

/** GET / over HTTP/2 with these TLS options: the status and body, or the error that ended the stream. */
export async function h2Get(t: T, port: number, options: SecureClientSessionOptions): Promise<{ status: number; body: string }> {
  const session = http2Connect(`https://127.0.0.1:${port}`, options);
  t.after(() => session.destroy());
  session.on('error', () => undefined);
  const stream = session.request({ ':path': '/' });
  let status: number | undefined;
  let body = '';
  stream.on('response', (headers) => (status = Number(headers[':status'])));
  stream.on('data', (chunk: Buffer) => (body += chunk));
  const [error] = await Promise.race([once(stream, 'end').then(() => [undefined]), once(stream, 'close').then(() => [stream.rstCode])]);
  session.close();
  if (status === undefined || error !== undefined) throw new Error(`the HTTP/2 stream ended with no response${error === undefined ? '' : ` (RST ${error})`}`);
  return { status, body };
}

/**
 * A gRPC server presenting `server`'s SVID (grpc-js serves its own HTTP/2; any service will do): a
 * grpc-js client on `client`'s options calls it, and refuses it when expecting `unexpected`.
 */
export async function grpcRoundTrip(t: T, server: X509Source, client: X509Source, unexpected: string): Promise<void> {
  const grpcServer = new GrpcServer();
  grpcServer.addService(workloadApiService, { FetchJWTSVID: (_call: unknown, callback: (error: null, value: unknown) => void) => callback(null, { svids: [] }) });
  const material = tlsClientOptions(server, authorizeId(String(client.svid.id)));
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', ServerCredentials.createSsl(Buffer.from(material.ca.join('')), [{ cert_chain: Buffer.from(material.cert), private_key: Buffer.from(material.key) }], true), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  t.after(() => grpcServer.forceShutdown());
  const call = (expected: string) => {
    const options = tlsClientOptions(client, authorizeId(expected));
    const channel = credentials.createSsl(Buffer.from(options.ca.join('')), Buffer.from(options.key), Buffer.from(options.cert), { checkServerIdentity: options.checkServerIdentity });
    const stub = new SpiffeWorkloadApi(`127.0.0.1:${port}`, channel) as unknown as { FetchJWTSVID: (r: unknown, cb: (e: ServiceError | null, v: unknown) => void) => void; close(): void };
    t.after(() => stub.close());
    return new Promise<unknown>((resolve, reject) => stub.FetchJWTSVID({ audience: ['x'] }, (error, value) => (error ? reject(error) : resolve(value))));
  };
  assert.deepEqual(await call(String(server.svid.id)), { svids: [] });
  await assert.rejects(call(unexpected), (error: ServiceError) => error.code === Status.UNAVAILABLE && error.details.includes(`peer ${server.svid.id} is not authorized`));
}

export const SERVER = 'spiffe://example.org/server';
export const CLIENT = 'spiffe://example.org/client';
export const INTRUDER = 'spiffe://example.org/intruder';

/** One Workload API serving SERVER, CLIENT and INTRUDER, and a source for each, picked by hint; all stopped after the test. */
export async function workloads(t: { after(fn: () => unknown): void }) {
  const api = await WorkloadApiTestServer.start({ svids: [SERVER, CLIENT, INTRUDER].map((spiffeId) => ({ spiffeId, hint: spiffeId.split('/').at(-1)! })) });
  t.after(() => api.stop());
  const source = async (hint: string) => {
    const created = await X509Source.create({ endpoint: api.address, picker: pickHint(hint) });
    t.after(() => created.close());
    return created;
  };
  return { api, server: await source('server'), client: await source('client'), intruder: await source('intruder') };
}
