// mTLS by SPIFFE ID: what verifying the peer's SVID (against its own trust domain's bundle, then the
// authorizer) adds to a TLS handshake, beside the same handshake checked by OpenSSL alone.
import { once } from 'node:events';
import { request, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { X509Source, authorizeId, createHttpsServer, pickHint, tlsClientOptions, verifyX509Svid } from '../src/spiffe/index.ts';
import { WorkloadApiTestServer } from '../test/support/workload-api-server.ts';

function get(port: number, options: object): Promise<void> {
  return new Promise((resolve, reject) => {
    request({ ...options, host: '127.0.0.1', port, agent: false }, (response) => response.resume().on('end', resolve)).on('error', reject).end();
  });
}

async function perConnection(server: ReturnType<typeof createServer>, options: object, connections: number): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  await get(port, options);
  const started = performance.now();
  for (let i = 0; i < connections; i++) await get(port, options);
  const ms = (performance.now() - started) / connections;
  server.close();
  return ms;
}

export async function mtlsBench(counts: { connections: number; chains: number }): Promise<{ what: string; count: number; ms: string }[]> {
  const api = await WorkloadApiTestServer.start({
    intermediate: true,
    svids: [{ spiffeId: 'spiffe://example.org/server', hint: 'server' }, { spiffeId: 'spiffe://example.org/client', hint: 'client' }],
  });
  const server = await X509Source.create({ endpoint: api.address, picker: pickHint('server') });
  const client = await X509Source.create({ endpoint: api.address, picker: pickHint('client') });
  try {
    const ours = tlsClientOptions(client, authorizeId('spiffe://example.org/server'));
    const spiffe = await perConnection(createHttpsServer(server, authorizeId('spiffe://example.org/client'), {}, (_req, res) => res.end()), ours, counts.connections);
    const own = tlsClientOptions(server, authorizeId('spiffe://example.org/client'));
    const plainServer = createServer({ cert: own.cert, key: own.key, ca: own.ca, requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end());
    const plain = await perConnection(plainServer, { cert: ours.cert, key: ours.key, ca: ours.ca, checkServerIdentity: () => undefined }, counts.connections);
    const chain = client.svid.certificates;
    const started = performance.now();
    for (let i = 0; i < counts.chains; i++) verifyX509Svid(chain, server);
    const verify = (performance.now() - started) / counts.chains;
    return [
      { what: 'new HTTPS connection, both sides verify the SVID and authorize', count: counts.connections, ms: spiffe.toFixed(2) },
      { what: 'new HTTPS connection, OpenSSL chain check only, no SPIFFE ID check', count: counts.connections, ms: plain.toFixed(2) },
      { what: 'verifyX509Svid of a peer chain seen before (leaf + intermediate)', count: counts.chains, ms: verify.toFixed(3) },
    ];
  } finally {
    await Promise.all([server.close(), client.close()]);
    await api.stop();
  }
}
