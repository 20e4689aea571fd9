/**
 * tcp-sink: accepts any number of TCP connections on one port and counts the bytes of all of them
 * together in 100 ms bins from the first byte, until its lifetime ends or it is told to stop. It
 * reads as fast as the kernel delivers (it must never be what limits a bulk sender), closes each
 * connection when the peer does, and ignores resets.
 */
import { announceReady, serverLifetime } from './agent-io.js';
import type { TcpSinkArgs } from './args.js';
import { ByteBins, roundMs } from './bins.js';
import type { TcpSinkResult } from './results.js';
import { listen, trackedTcpServer, wildcard } from './sockets.js';

export async function tcpSink(args: TcpSinkArgs): Promise<TcpSinkResult> {
  const bins = new ByteBins();
  let connections = 0;
  const onData = (chunk: Buffer): void => bins.add(performance.now(), chunk.length);
  const { server, close } = trackedTcpServer({}, (sock) => {
    connections++;
    sock.on('data', onData);
  });
  await listen(server, args.port, wildcard(args.family));
  announceReady();
  await serverLifetime(args.lifetimeMs);
  close();
  return { binsBytes: bins.binsBytes, firstByteAtMs: bins.firstByteAtMs, bytes: bins.bytes, connections, spanMs: roundMs(bins.spanMs) };
}
