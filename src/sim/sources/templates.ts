/**
 * Per-flow packet templates, built once with buildPacket when a source is created: the data packet
 * (sender → receiver) and replies (receiver → sender, addresses and ports swapped). Sources copy a
 * template into a datapath slot for every packet; nothing is built per packet.
 */
import { buildPacket, packetLength, type PacketSpec } from '../../packet/build.js';
import { Proto } from '../../packet/types.js';

/** The 5-tuple and marking of a flow's data packets, as the data sender sees it. */
export interface FlowSpec {
  ipVersion: 4 | 6;
  proto: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  dscp: number;
  /** ECN field of data packets (2 = ECT(0) for ECN-capable transports, 0 otherwise). */
  ecn: number;
}

export interface Template {
  bytes: Buffer;
  lengthBytes: number;
}

/** The data packet of `flow` carrying payloadBytes, with TCP flags when TCP. */
export function dataTemplate(flow: FlowSpec, payloadBytes: number, tcpFlags?: number, icmpType?: number): Template {
  const spec: PacketSpec = {
    ipVersion: flow.ipVersion, proto: flow.proto, src: flow.src, dst: flow.dst, sport: flow.sport, dport: flow.dport,
    dscp: flow.dscp, ecn: flow.ecn, payloadBytes, tcpFlags, icmpType,
  };
  return { bytes: buildPacket(spec), lengthBytes: packetLength(spec) };
}

/** A reply of `flow` (receiver → sender) carrying payloadBytes; not ECN-capable. */
export function replyTemplate(flow: FlowSpec, payloadBytes: number, tcpFlags?: number, icmpType?: number): Template {
  const spec: PacketSpec = {
    ipVersion: flow.ipVersion, proto: flow.proto, src: flow.dst, dst: flow.src, sport: flow.dport, dport: flow.sport,
    dscp: flow.dscp, ecn: 0, payloadBytes, tcpFlags, icmpType,
  };
  return { bytes: buildPacket(spec), lengthBytes: packetLength(spec) };
}

/** Bytes of IP and transport headers for a protocol (what a packet of `sizeBytes` leaves for payload). */
export function headerBytes(ipVersion: 4 | 6, proto: number): number {
  const ip = ipVersion === 4 ? 20 : 40;
  if (proto === Proto.TCP) return ip + 20;
  if (proto === Proto.UDP || proto === Proto.ICMP || proto === Proto.ICMPV6) return ip + 8;
  return ip;
}
