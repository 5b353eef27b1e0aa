// mTLS by SPIFFE ID: what verifying the peer's SVID (against its own trust domain's bundle, then the
// authorizer) adds to a TLS handshake, beside the same handshake checked by OpenSSL alone.
import { once } from 'node:events';
import { request, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { X509Source, authorizeId, createHttpsServer, pickHint, tlsClientOptions, verifyX509Svid } from '../src/index.ts';
import { WorkloadApiTestServer } from '../test/support/workload-api-server.ts';

const CONNECTIONS = 200;
const CHAINS = 2000;

function get(port: number, options: object): Promise<void> {
  return new Promise((resolve, reject) => {
    request({ ...options, host: '127.0.0.1', port, agent: false }, (response) => response.resume().on('end', resolve)).on('error', reject).end();
  });
}

async function perConnection(server: ReturnType<typeof createServer>, options: object): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  await get(port, options);
  const started = performance.now();
  for (let i = 0; i < CONNECTIONS; i++) await get(port, options);
  const ms = (performance.now() - started) / CONNECTIONS;
  server.close();
  return ms;
}

export async function mtlsBench(): Promise<Record<string, string | number>[]> {
  const api = await WorkloadApiTestServer.start({
    intermediate: true,
    svids: [{ spiffeId: 'spiffe://example.org/server', hint: 'server' }, { spiffeId: 'spiffe://example.org/client', hint: 'client' }],
  });
  const server = await X509Source.create({ endpoint: api.address, picker: pickHint('server') });
  const client = await X509Source.create({ endpoint: api.address, picker: pickHint('client') });
  try {
    const ours = tlsClientOptions(client, authorizeId('spiffe://example.org/server'));
    const spiffe = await perConnection(createHttpsServer(server, authorizeId('spiffe://example.org/client'), {}, (_req, res) => res.end()), ours);
    const own = tlsClientOptions(server, authorizeId('spiffe://example.org/client'));
    const plainServer = createServer({ cert: own.cert, key: own.key, ca: own.ca, requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end());
    const plain = await perConnection(plainServer, { cert: ours.cert, key: ours.key, ca: ours.ca, checkServerIdentity: () => undefined });
    const chain = client.svid.certificates;
    const started = performance.now();
    for (let i = 0; i < CHAINS; i++) verifyX509Svid(chain, server);
    const verify = (performance.now() - started) / CHAINS;
    return [
      { what: `new HTTPS connection, both sides verify the SVID and authorize (${CONNECTIONS}, one at a time)`, 'ms each': spiffe.toFixed(2) },
      { what: `new HTTPS connection, OpenSSL chain check only, no SPIFFE ID check (${CONNECTIONS})`, 'ms each': plain.toFixed(2) },
      { what: `verifyX509Svid of a peer chain seen before (leaf + intermediate, ${CHAINS})`, 'ms each': verify.toFixed(3) },
    ];
  } finally {
    await Promise.all([server.close(), client.close()]);
    await api.stop();
  }
}
