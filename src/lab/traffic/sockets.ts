/**
 * Small socket helpers the traffic roles share: the wildcard address of a family, a listen() that
 * resolves or rejects once, dgram sockets whose address lookup is synchronous (a role only ever sends
 * to IP literals, and Node's default lookup defers every send by a tick), and waiting for a dgram
 * socket's queued sends to leave before it is closed.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export function wildcard(family: 4 | 6): string {
  return family === 6 ? '::' : '0.0.0.0';
}

/** Binds a TCP server; an error (port in use) rejects with a one-line message. */
export function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => reject(new Error(`cannot listen on [${host}]:${port}: ${e.code ?? e.message}`));
    server.once('error', onError);
    server.listen({ port, host, ipv6Only: host === '::' }, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
}

/** An address "lookup" for IP literals only: answers at once, so send() goes out in the same call. */
function literalLookup(family: 4 | 6) {
  return (address: string, _opts: unknown, callback: (err: Error | null, address: string, family: number) => void): void =>
    callback(null, address, family);
}

/**
 * A TCP server that keeps its connections until close(): each new socket goes to onSocket (with
 * errors ignored — a peer that resets is not the server's failure), and close() stops listening and
 * destroys what is still open, so a server's lifetime ends it whatever its clients do.
 */
export function trackedTcpServer(options: net.ServerOpts, onSocket: (sock: net.Socket) => void): { server: net.Server; close(): void } {
  const sockets = new Set<net.Socket>();
  const server = net.createServer(options, (sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
    sock.once('close', () => sockets.delete(sock));
    onSocket(sock);
  });
  return {
    server,
    close() {
      server.close();
      for (const sock of sockets) sock.destroy();
    },
  };
}

export function udpSocket(family: 4 | 6, recvBufferSize?: number): dgram.Socket {
  return dgram.createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    ipv6Only: family === 6,
    lookup: literalLookup(family) as never,
    ...(recvBufferSize === undefined ? {} : { recvBufferSize }),
  });
}

/** Binds a dgram socket; an error rejects with a one-line message. */
export function bindUdp(sock: dgram.Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => reject(new Error(`cannot bind UDP [${host}]:${port}: ${e.code ?? e.message}`));
    sock.once('error', onError);
    sock.bind(port, host, () => {
      sock.removeListener('error', onError);
      resolve();
    });
  });
}

/** Waits (at most `maxMs`) until the socket's queued sends have gone, so close() drops none. */
export async function drainUdp(sock: dgram.Socket, maxMs: number): Promise<void> {
  const until = performance.now() + maxMs;
  while (sock.getSendQueueCount() > 0 && performance.now() < until) await sleep(2);
}
