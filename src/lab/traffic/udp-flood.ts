/**
 * udp-flood: packetsPerSecond small datagrams for durationMs toward one host, each to a destination
 * port drawn at random from [portLow, portHigh] and from one of several sockets (source ports) in
 * turn, so that nearly every packet is a new 5-tuple for a flow table to take in. Nothing needs to
 * listen: the sockets are unconnected, so ICMP port unreachable comes back to nobody, and any send
 * error is counted and passed over. The payload never changes, so one buffer serves every send; a
 * socket whose queue in Node is long (the kernel is not keeping up) is skipped, so memory stays flat
 * and the shortfall shows as sent < wanted.
 */
import type dgram from 'node:dgram';
import type { UdpFloodArgs } from './args.js';
import { roundMs } from './bins.js';
import { Pacer, runPaced } from './pacer.js';
import type { UdpFloodResult } from './results.js';
import { bindUdp, drainUdp, udpSocket, wildcard } from './sockets.js';

/** Sends one socket may have queued in Node before the flood passes it over. */
const MAX_QUEUED = 256;
const DRAIN_MS = 1000;

export async function udpFlood(args: UdpFloodArgs): Promise<UdpFloodResult> {
  const wanted = Math.max(1, Math.round((args.packetsPerSecond * args.durationMs) / 1000));
  const pacer = new Pacer(wanted, args.durationMs);
  const payload = Buffer.alloc(args.payloadBytes, 0x46);
  let errors = 0;
  // Without a send callback, Node reports a failed send as an 'error' event on its socket.
  const onError = (): void => {
    errors++;
  };
  const socks: dgram.Socket[] = [];
  for (let i = 0; i < args.sockets; i++) {
    const sock = udpSocket(args.family);
    await bindUdp(sock, 0, wildcard(args.family));
    sock.on('error', onError);
    socks.push(sock);
  }
  const portSpan = args.portHigh - args.portLow + 1;
  let next = 0;
  const run = await runPaced(pacer, args.durationMs, () => {
    // Round robin over the sockets, passing over any whose queue is long; all of them long: wait.
    for (let tried = 0; tried < socks.length; tried++) {
      const sock = socks[next];
      next = (next + 1) % socks.length;
      if (sock.getSendQueueCount() >= MAX_QUEUED) continue;
      sock.send(payload, args.portLow + Math.floor(Math.random() * portSpan), args.host);
      return true;
    }
    return false;
  });
  await Promise.all(socks.map((s) => drainUdp(s, DRAIN_MS)));
  for (const sock of socks) sock.close();
  return { sent: run.done, wanted, durationMs: roundMs(run.lastMs - run.firstMs), errors };
}
