/**
 * Helpers for the flow tests: PacketInfo filled by hand (the flow table reads only buf, srcOffset,
 * dstOffset, ipVersion, proto, sport, dport, tcpFlags and ipBytes), with an address parser of its own
 * so these tests do not depend on the packet code they do not test.
 */
import { PacketInfo } from '../../src/packet/types.js';

export const TCP = 6;
export const UDP = 17;
export const ICMP = 1;
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const ACK = 0x10;

export interface Pkt {
  src: string;
  dst: string;
  proto?: number;
  sport?: number;
  dport?: number;
  flags?: number;
  bytes?: number;
}

/** 4 or 16 bytes of an IPv4 or IPv6 address text ('::' allowed; no dotted IPv4 tail). */
export function addrBytes(text: string): number[] {
  if (!text.includes(':')) return text.split('.').map(Number);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255]);
}

/** A PacketInfo for one packet: source address at buf[0], destination right after. */
export function pkt(p: Pkt, out = new PacketInfo()): PacketInfo {
  const s = addrBytes(p.src);
  const d = addrBytes(p.dst);
  out.buf = Buffer.from([...s, ...d]);
  out.ipVersion = s.length === 4 ? 4 : 6;
  out.srcOffset = 0;
  out.dstOffset = s.length;
  out.proto = p.proto ?? UDP;
  out.sport = p.sport ?? 0;
  out.dport = p.dport ?? 0;
  out.tcpFlags = out.proto === TCP ? p.flags ?? ACK : 0;
  out.ipBytes = p.bytes ?? 100;
  return out;
}

/** The same packet in the other direction. */
export function reverse(p: Pkt, flags?: number, bytes?: number): Pkt {
  return { ...p, src: p.dst, dst: p.src, sport: p.dport, dport: p.sport, flags: flags ?? p.flags, bytes: bytes ?? p.bytes };
}

/**
 * Refill `out` (whose buf must hold 8 bytes) with an IPv4 packet between two addresses given as
 * 32-bit integers: the fast way for tests that make tens of thousands of packets.
 */
export function fillV4(out: PacketInfo, src: number, dst: number, proto: number, sport: number, dport: number, flags = 0, bytes = 100): PacketInfo {
  out.buf.writeUInt32BE(src >>> 0, 0);
  out.buf.writeUInt32BE(dst >>> 0, 4);
  out.ipVersion = 4;
  out.srcOffset = 0;
  out.dstOffset = 4;
  out.proto = proto;
  out.sport = sport;
  out.dport = dport;
  out.tcpFlags = flags;
  out.ipBytes = bytes;
  return out;
}

/** A PacketInfo with an 8-byte buffer for fillV4. */
export function v4Scratch(): PacketInfo {
  const p = new PacketInfo();
  p.buf = Buffer.alloc(8);
  return p;
}

/** Seconds to µs. */
export const s = (seconds: number): number => seconds * 1_000_000;
