import { createServer as createHttpsServerNode, type Server as HttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type SecureServerOptions } from 'node:http2';
import { createServer as createTlsServerNode, type Server as TlsServer, type TlsOptions, type TLSSocket } from 'node:tls';
import type { X509BundleSet, X509Svid } from '../svid/index.ts';
import type { Authorizer } from './authorize.ts';
import { authoritiesPem, svidPem } from './material.ts';
import { PeerRefusedError, authorizePeer } from './peer.ts';
import { tellRefusedPeer } from './refusal.ts';
import { splitSources, type TlsSources, type X509BundleSetSource, type X509SvidSource } from './sources.ts';

/** SPIFFE mTLS for a server made anywhere: the options to make it with, and the guard to attach once it exists. */
export interface SpiffeServerTls {
  /**
   * For the server's constructor (tls.createServer, https.createServer, http2.createSecureServer, a
   * framework's `https` option): the current SVID, a client certificate required, and the trusted
   * authorities. On their own they verify client chains but authorize no one: attach the guard.
   */
  readonly options: TlsOptions;
  /** Makes `server` verify and authorize every client before anything sees it, and follow rotation; returns it. */
  guard<S extends TlsServer>(server: S): S;
}

/**
 * SPIFFE mTLS for a server made elsewhere (Fastify, NestJS, anything that makes its own https or
 * http2 server): `const tls = serverTls(source, authorizer)`, make the server with `tls.options`,
 * then `tls.guard(server)`. One call gives both because the guard remakes the server's secure
 * context on rotation from the same base `options` (setSecureContext drops every option it is not
 * given). Why a guard rather than options alone: Node has no server-side verify callback; every
 * consumer of a connection (the 'secureConnection' listener, the HTTP and HTTP/2 parsers) is
 * reached through the server's 'secureConnection' event, so the guard decides inside `emit`.
 */
export function serverTls(...args: [...TlsSources, authorizer: Authorizer, options?: TlsOptions]): SpiffeServerTls {
  const { svid, bundles, authorizer, rest } = splitSources<[TlsOptions?]>(args);
  const base = rest[0] ?? {};
  const madeFrom = appliedNow(svid, bundles);
  return { options: { ...base, ...secureOptions(svid, bundles, authorizer) }, guard: (server) => guard(server, svid, bundles, authorizer, base, madeFrom) };
}

/** What a secure context was made from; sources hand out the same objects until they change. */
interface Applied {
  readonly svid: X509Svid;
  readonly bundles: X509BundleSet;
}

const appliedNow = (svid: X509SvidSource, bundles: X509BundleSetSource): Applied => ({ svid: svid.svid, bundles: bundles.x509Bundles });

/**
 * The secure-context options of a server: its SVID, a client certificate required, and as trusted
 * authorities those of the trust domains the authorizer can accept when it says which (else of every
 * bundle): then OpenSSL's own chain check already keeps other domains out.
 */
function secureOptions(svid: X509SvidSource, bundles: X509BundleSetSource, authorizer: Authorizer): TlsOptions {
  return { ...svidPem(svid), ca: [...authoritiesPem(bundles, authorizer.trustDomains)], requestCert: true, rejectUnauthorized: true };
}

/** What the peer may be told about its refusal: about its own certificate, never the authorizer's policy. */
function publicReason(error: unknown): string {
  if (error instanceof PeerRefusedError && error.peerId !== undefined) return `${error.peerId} is not authorized`;
  return 'the client certificate is not a valid SVID of a trusted trust domain';
}

/**
 * - Each new TCP connection first brings the server's secure context up to date if the SVID or the
 *   bundles changed (before Node wraps the socket in TLS with that context), so new connections get
 *   the rotated SVID, also from clients that send no SNI; open connections keep theirs.
 * - Each TLS connection is verified and authorized before 'secureConnection' reaches anyone; a
 *   refused one is told why as far as its protocol allows (tellRefusedPeer), and when it has closed
 *   reported as 'tlsClientError' (a PeerRefusedError, the socket), as Node reports failed handshakes.
 */
function guard<S extends TlsServer>(server: S, svid: X509SvidSource, bundles: X509BundleSetSource, authorizer: Authorizer, base: TlsOptions, madeFrom: Applied): S {
  // With one trust domain's authorities trusted, OpenSSL's check is the proof a client's hidden intermediates need.
  const verifiedByTls = authorizer.trustDomains?.length === 1 ? authorizer.trustDomains[0] : undefined;
  let current = madeFrom;
  const refresh = (): void => {
    if (current.svid === svid.svid && current.bundles === bundles.x509Bundles) return;
    current = appliedNow(svid, bundles);
    server.setSecureContext({ ...base, ...secureOptions(svid, bundles, authorizer) });
  };
  /*
   * Node would destroy a client whose chain it cannot verify before 'secureConnection', telling it
   * nothing; the guard refuses such clients itself (socket.authorized) so that it can say why.
   * (A property of tls.Server, read for each connection; setSecureContext leaves it alone.)
   */
  (server as S & { rejectUnauthorized: boolean }).rejectUnauthorized = false;
  const emit = server.emit.bind(server);
  server.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'connection') refresh();
    if (event === 'secureConnection') {
      const socket = args[0] as TLSSocket;
      try {
        if (!socket.authorized) throw new PeerRefusedError(`the client certificate was refused: ${String(socket.authorizationError)}`);
        authorizePeer(socket.getPeerCertificate(true), bundles, authorizer, verifiedByTls);
      } catch (error) {
        tellRefusedPeer(server, socket, socket.authorized ? publicReason(error) : (error as Error).message);
        // Once the peer has been told: an http2 server destroys the socket of every 'tlsClientError'.
        socket.once('close', () => emit('tlsClientError', error, socket));
        return false;
      }
    }
    return emit(event, ...args);
  }) as S['emit'];
  return server;
}

/** tls.createServer for SPIFFE mTLS: only peers `authorizer` accepts ever reach `listener`. */
export function createTlsServer(...args: [...TlsSources, authorizer: Authorizer, options?: TlsOptions, listener?: (socket: TLSSocket) => void]): TlsServer {
  const { svid, bundles, authorizer, rest } = splitSources<[TlsOptions?, ((socket: TLSSocket) => void)?]>(args);
  const tls = serverTls(svid, bundles, authorizer, rest[0]);
  return tls.guard(createTlsServerNode(tls.options, rest[1]));
}

/** https.createServer for SPIFFE mTLS: a request from a peer `authorizer` refuses never reaches `handler` (the peer gets 403). */
export function createHttpsServer(
  ...args: [...TlsSources, authorizer: Authorizer, options?: HttpsServerOptions, handler?: (request: IncomingMessage, response: ServerResponse) => void]
): HttpsServer {
  const { svid, bundles, authorizer, rest } = splitSources<[HttpsServerOptions?, ((request: IncomingMessage, response: ServerResponse) => void)?]>(args);
  const tls = serverTls(svid, bundles, authorizer, rest[0]);
  return tls.guard(createHttpsServerNode(tls.options as HttpsServerOptions, rest[1]));
}

/** http2.createSecureServer for SPIFFE mTLS: a session from a peer `authorizer` refuses is never opened (its requests get 403). */
export function createHttp2SecureServer(
  ...args: [...TlsSources, authorizer: Authorizer, options?: SecureServerOptions, handler?: (request: Http2ServerRequest, response: Http2ServerResponse) => void]
): Http2SecureServer {
  const { svid, bundles, authorizer, rest } = splitSources<[SecureServerOptions?, ((request: Http2ServerRequest, response: Http2ServerResponse) => void)?]>(args);
  const tls = serverTls(svid, bundles, authorizer, rest[0]);
  return tls.guard(createSecureServer(tls.options as SecureServerOptions, rest[1]));
}
