/**
 * udp-sink: counts the datagrams of one udp-rate run (those carrying its tag) in 100 ms bins from
 * the first, and from their sequence numbers the duplicates and the reordered ones (those arriving
 * after a higher number). Loss is the sender's count minus the distinct datagrams received, worked
 * out by the caller, which knows both. Per datagram it does a few integer operations and no allocation
 * beyond Node's own message buffer; the seen-set grows by doubling.
 */
import { announceReady, serverLifetime } from './agent-io.js';
import { SEQ_OFFSET, TAG_OFFSET, MIN_TAGGED_BYTES, type UdpSinkArgs } from './args.js';
import { ByteBins, roundMs } from './bins.js';
import type { UdpSinkResult } from './results.js';
import { bindUdp, udpSocket, wildcard } from './sockets.js';

/** A large receive buffer so that bursts at Gbit/s rates are not dropped by the socket (capped by rmem_max). */
const RECV_BUFFER_BYTES = 8 << 20;
/** Highest sequence number tracked (a 64 MiB seen-set); a datagram beyond it counts as foreign. */
const MAX_SEQ = 1 << 26;

export async function udpSink(args: UdpSinkArgs): Promise<UdpSinkResult> {
  const bins = new ByteBins();
  let seen = new Uint8Array(1 << 16);
  let received = 0;
  let duplicates = 0;
  let reordered = 0;
  let foreign = 0;
  let highest = -1;
  const sock = udpSocket(args.family, RECV_BUFFER_BYTES);
  sock.on('message', (msg: Buffer) => {
    if (msg.length < MIN_TAGGED_BYTES || msg.readUInt32BE(TAG_OFFSET) !== args.tag) {
      foreign++;
      return;
    }
    const seq = msg.readUInt32BE(SEQ_OFFSET);
    if (seq >= MAX_SEQ) {
      foreign++;
      return;
    }
    if (seq >= seen.length) {
      const grown = new Uint8Array(Math.min(MAX_SEQ, Math.max(seen.length * 2, seq + 1)));
      grown.set(seen);
      seen = grown;
    }
    if (seen[seq] === 1) {
      duplicates++;
      return;
    }
    seen[seq] = 1;
    received++;
    if (seq < highest) reordered++;
    else highest = seq;
    bins.add(performance.now(), msg.length);
  });
  await bindUdp(sock, args.port, wildcard(args.family));
  sock.on('error', () => undefined); // nothing a sink can do about a receive error but keep counting
  announceReady();
  await serverLifetime(args.lifetimeMs);
  sock.close();
  return { binsBytes: bins.binsBytes, bytes: bins.bytes, received, duplicates, reordered, foreign, spanMs: roundMs(bins.spanMs) };
}
