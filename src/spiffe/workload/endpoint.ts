import { isAbsolute } from 'node:path';
import { isIP } from 'node:net';

/** Where the Workload API is served (SPIFFE_Workload_Endpoint.md section 4). */
export type EndpointAddress = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

export class EndpointAddressError extends Error {
  override name = 'EndpointAddressError';
}

export const ENDPOINT_ENV = 'SPIFFE_ENDPOINT_SOCKET';

const FORMS = 'expected unix:///absolute/path, tcp://IP:port, or an absolute socket path';

/**
 * Parses `unix:///path` and `tcp://IP:port` exactly as the spec allows them, plus a bare absolute
 * path: the Go helper's `agent_address` form, so its configs keep working.
 */
export function parseEndpointAddress(value: string): EndpointAddress {
  const refuse = (why: string): never => {
    throw new EndpointAddressError(`Workload API address ${JSON.stringify(value)}: ${why} (${FORMS})`);
  };
  if (value.startsWith('/')) return { kind: 'unix', path: value };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The URL parser refuses out-of-range ports with no reason; say which part is wrong.
    if (/^tcp:\/\/.*:\d+$/i.test(value)) refuse('the port must be a number from 1 to 65535');
    return refuse('not a URI or an absolute path');
  }
  if (url.search !== '' || value.includes('?')) refuse('no query is allowed');
  if (url.hash !== '' || value.includes('#')) refuse('no fragment is allowed');
  if (url.username !== '' || url.password !== '') refuse('no user info is allowed');
  if (url.protocol === 'unix:') {
    if (url.host !== '') refuse('a unix address has no authority (use three slashes: unix:///path)');
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return refuse('the path has a malformed percent-encoding');
    }
    if (!isAbsolute(path) || path === '/') refuse('a unix address needs an absolute socket path');
    return { kind: 'unix', path };
  }
  if (url.protocol === 'tcp:') {
    if (!/^tcp:\/\//i.test(value)) refuse('a tcp address is written tcp://IP:port');
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host) === 0) refuse('a tcp address needs an IP address, not a host name');
    if (url.port === '') refuse('a tcp address needs a port');
    if (url.port === '0') refuse('the port must be a number from 1 to 65535');
    if (url.pathname !== '' && url.pathname !== '/') refuse('a tcp address has no path');
    if (value.endsWith('/')) refuse('a tcp address has no path');
    return { kind: 'tcp', host, port: Number(url.port) };
  }
  return refuse(`the scheme must be unix or tcp, not ${JSON.stringify(url.protocol.slice(0, -1))}`);
}

/** The configured address, else SPIFFE_ENDPOINT_SOCKET, as the spec requires. */
export function resolveEndpointAddress(configured?: string, env: NodeJS.ProcessEnv = process.env): EndpointAddress {
  if (configured !== undefined && configured !== '') return parseEndpointAddress(configured);
  const fromEnv = env[ENDPOINT_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return parseEndpointAddress(fromEnv);
  throw new EndpointAddressError(`no Workload API address: set agent_address in the config or the ${ENDPOINT_ENV} environment variable`);
}

/** The address as grpc-js dials it. */
export function grpcTarget(address: EndpointAddress): string {
  if (address.kind === 'unix') return `unix://${address.path}`;
  return isIP(address.host) === 6 ? `ipv6:[${address.host}]:${address.port}` : `ipv4:${address.host}:${address.port}`;
}

export function formatEndpointAddress(address: EndpointAddress): string {
  return address.kind === 'unix' ? `unix://${address.path}` : `tcp://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}
