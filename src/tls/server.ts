import { createServer as createHttpsServerNode, type Server as HttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type SecureServerOptions } from 'node:http2';
import { createServer as createTlsServerNode, type Server as TlsServer, type TlsOptions, type TLSSocket } from 'node:tls';
import type { X509Source } from '../sources/index.ts';
import type { Authorizer } from './authorize.ts';
import { tlsMaterial } from './material.ts';
import { authorizePeer } from './peer.ts';

/**
 * The secure-context options of a server on the source: its SVID, a client certificate required,
 * and as trusted authorities those of the trust domains the authorizer can accept when it says which
 * (else of every bundle): then OpenSSL's own chain check already keeps other domains out.
 */
function secureOptions(source: X509Source, authorizer: Authorizer): Pick<TlsOptions, 'cert' | 'key' | 'ca' | 'requestCert' | 'rejectUnauthorized'> {
  const { cert, key, ca } = tlsMaterial(source);
  const trusted = authorizer.trustDomains?.flatMap((td) => source.bundleFor(td)?.authorities.map((authority) => authority.toString()) ?? []) ?? ca;
  return { cert, key, ca: [...trusted], requestCert: true, rejectUnauthorized: true };
}

/**
 * Makes a TLS server (or an HTTPS or HTTP/2 server, which are TLS servers) a SPIFFE mTLS server:
 * - Node has no server-side verify callback, and every consumer of a connection (the
 *   'secureConnection' listener, the HTTP and HTTP/2 parsers) is reached through the server's
 *   'secureConnection' event: so the peer is verified and authorized inside `emit`, and a refused
 *   connection is destroyed without any listener seeing it. The refusal is reported as
 *   'tlsClientError' (a PeerRefusedError, the socket), as Node reports failed handshakes.
 * - Each source update swaps the server's secure context, so new connections get the rotated SVID,
 *   also from clients that send no SNI; existing connections keep theirs.
 */
function guard<S extends TlsServer>(server: S, source: X509Source, authorizer: Authorizer, options: TlsOptions): S {
  // With one trust domain's authorities trusted, OpenSSL's check is the proof a client's hidden intermediates need.
  const verifiedByTls = authorizer.trustDomains?.length === 1 ? authorizer.trustDomains[0] : undefined;
  const emit = server.emit.bind(server);
  server.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'secureConnection') {
      const socket = args[0] as TLSSocket;
      try {
        authorizePeer(socket.getPeerCertificate(true), source, authorizer, socket.authorized ? verifiedByTls : undefined);
      } catch (error) {
        socket.destroy();
        emit('tlsClientError', error, socket);
        return false;
      }
    }
    return emit(event, ...args);
  }) as S['emit'];
  const rotate = (): void => server.setSecureContext({ ...options, ...secureOptions(source, authorizer) });
  source.on('update', rotate);
  server.once('close', () => source.off('update', rotate));
  return server;
}

/** tls.createServer for SPIFFE mTLS: only peers `authorizer` accepts ever reach `listener`. */
export function createTlsServer(source: X509Source, authorizer: Authorizer, options: TlsOptions = {}, listener?: (socket: TLSSocket) => void): TlsServer {
  return guard(createTlsServerNode({ ...options, ...secureOptions(source, authorizer) }, listener), source, authorizer, options);
}

/** https.createServer for SPIFFE mTLS: a request from a peer `authorizer` refuses never reaches `handler`. */
export function createHttpsServer(
  source: X509Source,
  authorizer: Authorizer,
  options: HttpsServerOptions = {},
  handler?: (request: IncomingMessage, response: ServerResponse) => void,
): HttpsServer {
  return guard(createHttpsServerNode({ ...options, ...secureOptions(source, authorizer) }, handler), source, authorizer, options);
}

/** http2.createSecureServer for SPIFFE mTLS: a session from a peer `authorizer` refuses is never opened. */
export function createHttp2SecureServer(
  source: X509Source,
  authorizer: Authorizer,
  options: SecureServerOptions = {},
  handler?: (request: Http2ServerRequest, response: Http2ServerResponse) => void,
): Http2SecureServer {
  return guard(createSecureServer({ ...options, ...secureOptions(source, authorizer) }, handler), source, authorizer, options);
}
