import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * How many connections the health listener keeps. Its clients are a few probes (kubelet, systemd, a
 * load balancer) and a Prometheus scraper, each with a connection or two at most; every connection
 * costs a descriptor, and descriptors are what the writer needs to rotate files. Node raises the soft
 * descriptor limit to the hard one at start (20,000 here; 1,024 is a common hard limit), so this cap
 * leaves the writer nearly all of them whatever clients do.
 */
export const MAX_CONNECTIONS = 64;

/**
 * Keeps at most `max` connections open. A new connection past the cap closes the oldest one that has
 * no request being answered (an idle keep-alive, a client that never sent its headers), not the new
 * one: refusing newcomers would let whoever holds the cap shut out the probes, evicting the idle lets
 * a probe in whatever the others do. Only when every connection has a request being answered (they
 * are answered at once, so only briefly) is the newcomer closed.
 */
export function limitConnections(server: Server, max = MAX_CONNECTIONS): void {
  // A Set iterates in insertion order: oldest first.
  const open = new Set<Socket>();
  const answering = new Map<Socket, number>();
  const drop = (socket: Socket): void => {
    open.delete(socket);
    answering.delete(socket);
    socket.destroy();
  };
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      answering.delete(socket);
    });
    if (open.size <= max) return;
    const idle = [...open].find((candidate) => candidate !== socket && !answering.has(candidate));
    drop(idle ?? socket);
  });
  server.on('request', (request, response) => {
    const socket = request.socket;
    answering.set(socket, (answering.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (answering.get(socket) ?? 1) - 1;
      if (left > 0) answering.set(socket, left);
      else answering.delete(socket);
    });
  });
}
