/**
 * tcp-sink: accepts any number of TCP connections on one port and counts the bytes of all of them
 * together in 100 ms bins from the first byte, until its lifetime ends or it is told to stop. It
 * reads as fast as the kernel delivers (it must never be what limits a bulk sender), closes each
 * connection when the peer does, and ignores resets.
 */
import net from 'node:net';
import { announceReady, serverLifetime } from './agent-io.js';
import type { TcpSinkArgs } from './args.js';
import { ByteBins, roundMs } from './bins.js';
import type { TcpSinkResult } from './results.js';
import { listen, wildcard } from './sockets.js';

export async function tcpSink(args: TcpSinkArgs): Promise<TcpSinkResult> {
  const bins = new ByteBins();
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const onData = (chunk: Buffer): void => bins.add(performance.now(), chunk.length);
  const server = net.createServer((sock) => {
    connections++;
    sockets.add(sock);
    sock.on('data', onData);
    sock.on('error', () => undefined); // a reset sender: what arrived is counted, nothing more to do
    sock.once('close', () => sockets.delete(sock));
  });
  await listen(server, args.port, wildcard(args.family));
  announceReady();
  await serverLifetime(args.lifetimeMs);
  server.close();
  for (const sock of sockets) sock.destroy();
  return { binsBytes: bins.binsBytes, bytes: bins.bytes, connections, spanMs: roundMs(bins.spanMs) };
}
