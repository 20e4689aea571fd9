/**
 * rr-server: the far end of the latency probe. Over UDP it sends every request of its run (right
 * size, right tag) straight back to where it came from; over TCP it echoes every byte of every
 * connection, with Nagle off so that a 16-byte answer leaves at once.
 */
import { announceReady, serverLifetime } from './agent-io.js';
import { RR_MESSAGE_BYTES, TAG_OFFSET, type RrServerArgs } from './args.js';
import type { RrServerResult } from './results.js';
import { bindUdp, listen, trackedTcpServer, udpSocket, wildcard } from './sockets.js';

async function serveUdp(args: RrServerArgs): Promise<RrServerResult> {
  let requests = 0;
  const sock = udpSocket(args.family);
  sock.on('message', (msg: Buffer, from) => {
    if (msg.length !== RR_MESSAGE_BYTES || msg.readUInt32BE(TAG_OFFSET) !== args.tag) return;
    requests++;
    sock.send(msg, from.port, from.address);
  });
  await bindUdp(sock, args.port, wildcard(args.family));
  sock.on('error', () => undefined); // a prober that went away: nothing to answer
  announceReady();
  await serverLifetime(args.lifetimeMs);
  sock.close();
  return { requests };
}

async function serveTcp(args: RrServerArgs): Promise<RrServerResult> {
  let echoedBytes = 0;
  const { server, close } = trackedTcpServer({ noDelay: true }, (sock) => {
    sock.on('data', (chunk: Buffer) => {
      echoedBytes += chunk.length;
      sock.write(chunk);
    });
  });
  await listen(server, args.port, wildcard(args.family));
  announceReady();
  await serverLifetime(args.lifetimeMs);
  close();
  return { requests: Math.floor(echoedBytes / RR_MESSAGE_BYTES) };
}

export function rrServer(args: RrServerArgs): Promise<RrServerResult> {
  return args.proto === 'tcp' ? serveTcp(args) : serveUdp(args);
}
