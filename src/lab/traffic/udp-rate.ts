/**
 * udp-rate: datagrams of payloadBytes at a constant rateBps (payload bits) for durationMs, paced by
 * a timer with catch-up (pacer.ts). Each datagram carries the run's tag and its sequence number so
 * the sink can tell loss from reordering. Sends take their payload from a ring of preallocated
 * buffers; a buffer is rewritten only once the sends queued in Node are fewer than the ring's slots,
 * so a datagram still waiting in the socket's queue is never changed under it. When the socket stays
 * full the sender falls behind and catches up later; it stops at durationMs plus a grace second and
 * reports what it actually sent.
 */
import { SEQ_OFFSET, TAG_OFFSET, type UdpRateArgs } from './args.js';
import { roundMs } from './bins.js';
import { Pacer, runPaced } from './pacer.js';
import type { UdpRateSendResult } from './results.js';
import { drainUdp, udpSocket } from './sockets.js';

const RING_SLOTS = 64;
/** How far past durationMs a sender held back by a full socket may go on catching up. */
const GRACE_MS = 1000;
const DRAIN_MS = 2000;

function connectUdp(args: UdpRateArgs): Promise<ReturnType<typeof udpSocket>> {
  const sock = udpSocket(args.family);
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => reject(new Error(`cannot connect UDP to [${args.host}]:${args.port}: ${e.code ?? e.message}`));
    sock.once('error', onError);
    sock.connect(args.port, args.host, () => {
      sock.removeListener('error', onError);
      resolve(sock);
    });
  });
}

export async function udpRate(args: UdpRateArgs): Promise<UdpRateSendResult> {
  const wanted = Math.max(1, Math.round((args.rateBps / 8 / args.payloadBytes) * (args.durationMs / 1000)));
  const pacer = new Pacer(wanted, args.durationMs);
  const ring = Array.from({ length: RING_SLOTS }, () => {
    const b = Buffer.alloc(args.payloadBytes);
    b.writeUInt32BE(args.tag, TAG_OFFSET);
    return b;
  });
  const sock = await connectUdp(args);
  sock.on('error', () => undefined); // ICMP unreachable on a connected socket: the sink's count tells the story
  const run = await runPaced(pacer, args.durationMs + GRACE_MS, (seq) => {
    if (sock.getSendQueueCount() >= RING_SLOTS) return false;
    const buf = ring[seq % RING_SLOTS];
    buf.writeUInt32BE(seq, SEQ_OFFSET);
    sock.send(buf);
    return true;
  });
  await drainUdp(sock, DRAIN_MS);
  sock.close();
  return { sent: run.done, wanted, durationMs: roundMs(run.lastMs - run.firstMs) };
}
