import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import { performServerHandshake } from 'node:http2';
import type { Server as TlsServer, TLSSocket } from 'node:tls';

/** How long a refused peer is given to read why before its connection is closed. */
const REFUSED_LINGER_MS = 10_000;

function forbidden(response: ServerResponse, why: string): void {
  response.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  response.end(`${why}\n`);
}

/**
 * Answers every request on the connections it is handed; it never listens, so it owns no port.
 * Made at the first refusal: an ES import of node:http would build its whole namespace (undici
 * with it) in every program that imports the library.
 */
let http1: HttpServer | undefined;
const reasons = new WeakMap<object, string>();

function answeringForbidden(): HttpServer {
  const { Server } = createRequire(import.meta.url)('node:http') as typeof import('node:http');
  return new Server((request: IncomingMessage, response: ServerResponse) => forbidden(response, reasons.get(request.socket) ?? 'refused'));
}

/**
 * Tells a refused peer why, as far as the protocol lets us, and closes its connection.
 *
 * Node sends no TLS alert for a peer certificate that it or we refuse: its OpenSSL verify callback
 * accepts every chain, and the verdict is taken in JavaScript once the handshake is over (with TLS
 * 1.3 the client has by then sent its Finished and believes itself connected; an alert could only
 * come from OpenSSL during the handshake). So the server answers in the protocol the connection
 * speaks: an HTTP request gets `403 Forbidden` with the reason (HTTP/1.1 on an https server or after
 * ALPN http/1.1; HTTP/2 after ALPN h2, then GOAWAY); a plain TLS connection can only be closed.
 */
export function tellRefusedPeer(server: TlsServer, socket: TLSSocket, why: string): void {
  socket.setTimeout(REFUSED_LINGER_MS, () => socket.destroy());
  socket.on('error', () => undefined);
  if (socket.alpnProtocol === 'h2') {
    const session = performServerHandshake(socket);
    session.on('error', () => undefined);
    session.on('stream', (stream) => {
      stream.on('error', () => undefined);
      stream.respond({ ':status': 403, 'content-type': 'text/plain; charset=utf-8' });
      stream.end(`${why}\n`);
      session.close();
    });
    return;
  }
  if (server instanceof HttpsServer || socket.alpnProtocol === 'http/1.1') {
    http1 ??= answeringForbidden();
    reasons.set(socket, why);
    http1.emit('connection', socket);
    return;
  }
  socket.destroy();
}
