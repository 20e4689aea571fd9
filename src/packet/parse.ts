/**
 * Header parser: reads the IP header (IPv4 with options, or IPv6 and its extension header chain) and
 * the transport header (TCP, UDP, ICMP, ICMPv6) of one packet, in place, into a reused PacketInfo.
 *
 * Why it looks like this: it runs once per packet on the hot path, so it allocates nothing (no
 * objects, strings or exceptions), never copies bytes, and reads with plain indexing (`buf[i]`),
 * which cannot throw and is cheaper than readUInt16BE's bounds checks. Every length read from the
 * packet is checked against the bytes really there before it is used, and the IPv6 header walk is
 * bounded, so no input — random bytes, truncations, lengths pointing anywhere — can make it throw
 * or loop: malformed input yields `false` and a typed reason in `out.error` (types.ts).
 *
 * Rules followed (RFC 791, RFC 8200, RFC 9293, RFC 768, RFC 792, RFC 4443):
 * - The bytes considered are `length`, clipped to what `buf` holds after `offset`. The IP length
 *   field (IPv4 total length, IPv6 40 + payload length) may be shorter than that (trailing link
 *   padding is ignored) but not longer (BAD_TOTAL_LENGTH).
 * - Fragments: only the first fragment (offset 0) carries the transport header; a later fragment
 *   parses OK with hasL4 false and ports 0. An IPv6 "atomic fragment" (offset 0, M clear; RFC 6946)
 *   is not a fragment.
 * - IPv6 extension headers walked: hop-by-hop (0), routing (43), fragment (44), AH (51),
 *   destination options (60); at most MAX_IPV6_EXT_HEADERS of them. No next header (59) parses OK
 *   with hasL4 false. Anything else is the transport protocol.
 * - Unknown transport protocols parse OK with hasL4 false.
 * - When the transport header is absent or unparsed (unknown protocol, later fragment, 59),
 *   l4Offset and payloadOffset both point at the IP payload and payloadBytes is its length.
 * - On failure, the fields read before the failure stay filled (e.g. ipVersion and ipBytes when the
 *   transport header is bad), so a caller can still account the packet's length.
 */
import { PacketInfo, Proto, Unparsable } from './types.js';

/** Longest IPv6 extension header chain walked; a longer one is TOO_MANY_EXT_HEADERS. */
export const MAX_IPV6_EXT_HEADERS = 8;

// Local copies of the const enum values: tsx compiles file by file, so an imported const enum is a
// property load at every use; module constants are folded by the JIT (about 15% faster here).
const E_OK = Unparsable.OK;
const E_TRUNCATED_IP = Unparsable.TRUNCATED_IP;
const E_BAD_VERSION = Unparsable.BAD_VERSION;
const E_BAD_IHL = Unparsable.BAD_IHL;
const E_BAD_TOTAL_LENGTH = Unparsable.BAD_TOTAL_LENGTH;
const E_TRUNCATED_EXT_HEADER = Unparsable.TRUNCATED_EXT_HEADER;
const E_TOO_MANY_EXT_HEADERS = Unparsable.TOO_MANY_EXT_HEADERS;
const E_TRUNCATED_L4 = Unparsable.TRUNCATED_L4;
const E_BAD_TCP_OFFSET = Unparsable.BAD_TCP_OFFSET;
const E_BAD_UDP_LENGTH = Unparsable.BAD_UDP_LENGTH;
const PROTO_TCP = Proto.TCP;
const PROTO_UDP = Proto.UDP;
const PROTO_ICMP = Proto.ICMP;
const PROTO_ICMPV6 = Proto.ICMPV6;

const IPV4_HEADER_BYTES = 20;
const IPV6_HEADER_BYTES = 40;
const TCP_HEADER_BYTES = 20;
const UDP_HEADER_BYTES = 8;
/** ICMP and ICMPv6 messages all carry at least type, code, checksum and a 4-byte word. */
const ICMP_HEADER_BYTES = 8;
/** Every IPv6 extension header is at least 8 bytes long. */
const IPV6_EXT_MIN_BYTES = 8;

const NH_HOP_BY_HOP = 0;
const NH_ROUTING = 43;
const NH_FRAGMENT = 44;
const NH_AH = 51;
const NH_NONE = 59;
const NH_DEST_OPTS = 60;

/**
 * Parses the IP packet at buf[offset, offset + length) into `out` (every field is reset first).
 * Returns true when it parsed (out.error === Unparsable.OK); false with out.error the reason.
 * `out.buf` is set to `buf`: offsets in `out` index into it. Never throws, never allocates.
 */
export function parsePacket(buf: Buffer, offset: number, length: number, out: PacketInfo): boolean {
  out.buf = buf;
  out.ipOffset = offset;
  out.error = E_OK;
  out.ipVersion = 0;
  out.ipHeaderBytes = 0;
  out.ipBytes = 0;
  out.proto = 0;
  out.srcOffset = 0;
  out.dstOffset = 0;
  out.sport = 0;
  out.dport = 0;
  out.isFragment = false;
  out.fragOffsetBytes = 0;
  out.hasL4 = false;
  out.l4Offset = 0;
  out.tcpFlags = 0;
  out.tcpHeaderBytes = 0;
  out.payloadOffset = 0;
  out.payloadBytes = 0;
  out.icmpType = 0;
  out.icmpCode = 0;
  out.dscp = 0;
  out.ecn = 0;
  out.ttl = 0;

  // Bytes to consider: the caller's length clipped to the buffer. Tests are written as negations so
  // that NaN (a non-number offset or length) ends up failing too.
  let availBytes = buf.length - offset;
  if (!(length >= availBytes)) availBytes = length;
  if (!(availBytes > 0) || !(offset >= 0)) {
    out.error = E_TRUNCATED_IP;
    return false;
  }
  const version = buf[offset] >> 4;
  if (version === 4) return parseIpv4(buf, offset, availBytes, out);
  if (version === 6) return parseIpv6(buf, offset, availBytes, out);
  out.error = E_BAD_VERSION;
  return false;
}

function parseIpv4(buf: Buffer, ip: number, availBytes: number, out: PacketInfo): boolean {
  if (availBytes < IPV4_HEADER_BYTES) {
    out.error = E_TRUNCATED_IP;
    return false;
  }
  const headerBytes = (buf[ip] & 0x0f) << 2;
  if (headerBytes < IPV4_HEADER_BYTES || headerBytes > availBytes) {
    out.error = E_BAD_IHL;
    return false;
  }
  const ipBytes = (buf[ip + 2] << 8) | buf[ip + 3];
  if (ipBytes < headerBytes || ipBytes > availBytes) {
    out.error = E_BAD_TOTAL_LENGTH;
    return false;
  }
  const tos = buf[ip + 1];
  const proto = buf[ip + 9];
  out.ipVersion = 4;
  out.ipHeaderBytes = headerBytes;
  out.ipBytes = ipBytes;
  out.proto = proto;
  out.dscp = tos >> 2;
  out.ecn = tos & 3;
  out.ttl = buf[ip + 8];
  out.srcOffset = ip + 12;
  out.dstOffset = ip + 16;

  // Flags and fragment offset: bit 0x2000 is More Fragments, the low 13 bits the offset in 8-byte units.
  const frag = (buf[ip + 6] << 8) | buf[ip + 7];
  const l4 = ip + headerBytes;
  const end = ip + ipBytes;
  if ((frag & 0x3fff) !== 0) {
    out.isFragment = true;
    const fragOffsetBytes = (frag & 0x1fff) << 3;
    if (fragOffsetBytes !== 0) {
      out.fragOffsetBytes = fragOffsetBytes;
      return ipPayloadOnly(l4, end, out);
    }
  }
  return parseTransport(buf, proto, l4, end, out);
}

function parseIpv6(buf: Buffer, ip: number, availBytes: number, out: PacketInfo): boolean {
  if (availBytes < IPV6_HEADER_BYTES) {
    out.error = E_TRUNCATED_IP;
    return false;
  }
  const ipBytes = IPV6_HEADER_BYTES + ((buf[ip + 4] << 8) | buf[ip + 5]);
  if (ipBytes > availBytes) {
    out.error = E_BAD_TOTAL_LENGTH;
    return false;
  }
  // Traffic class straddles bytes 0 and 1: low nibble of byte 0, high nibble of byte 1.
  const trafficClass = ((buf[ip] & 0x0f) << 4) | (buf[ip + 1] >> 4);
  out.ipVersion = 6;
  out.ipBytes = ipBytes;
  out.dscp = trafficClass >> 2;
  out.ecn = trafficClass & 3;
  out.ttl = buf[ip + 7];
  out.srcOffset = ip + 8;
  out.dstOffset = ip + 24;

  const end = ip + ipBytes;
  let nextHeader = buf[ip + 6];
  let p = ip + IPV6_HEADER_BYTES;
  // Cost: at most MAX_IPV6_EXT_HEADERS iterations of a few byte reads each.
  for (let walked = 0; isIpv6ExtHeader(nextHeader); walked++) {
    out.ipHeaderBytes = p - ip;
    out.proto = nextHeader;
    if (walked === MAX_IPV6_EXT_HEADERS) {
      out.error = E_TOO_MANY_EXT_HEADERS;
      return false;
    }
    if (p + IPV6_EXT_MIN_BYTES > end) {
      out.error = E_TRUNCATED_EXT_HEADER;
      return false;
    }
    let extBytes: number;
    if (nextHeader === NH_FRAGMENT) {
      extBytes = 8;
      // Offset in 8-byte units in the top 13 bits (so & 0xfff8 is already bytes); M flag is bit 0.
      const frag = (buf[p + 2] << 8) | buf[p + 3];
      if ((frag & 0xfff9) !== 0) {
        out.isFragment = true;
        out.fragOffsetBytes = frag & 0xfff8;
      }
    } else if (nextHeader === NH_AH) {
      extBytes = (buf[p + 1] + 2) << 2; // RFC 4302: length in 4-byte units, minus 2
    } else {
      extBytes = (buf[p + 1] + 1) << 3; // RFC 8200: length in 8-byte units, not counting the first 8
    }
    if (p + extBytes > end) {
      out.error = E_TRUNCATED_EXT_HEADER;
      return false;
    }
    nextHeader = buf[p];
    p += extBytes;
    // In a later fragment the bytes after the fragment header are not headers: stop here.
    if (out.fragOffsetBytes !== 0) break;
  }
  out.ipHeaderBytes = p - ip;
  out.proto = nextHeader;
  if (out.fragOffsetBytes !== 0 || nextHeader === NH_NONE) return ipPayloadOnly(p, end, out);
  return parseTransport(buf, nextHeader, p, end, out);
}

function isIpv6ExtHeader(nextHeader: number): boolean {
  return (
    nextHeader === NH_HOP_BY_HOP ||
    nextHeader === NH_ROUTING ||
    nextHeader === NH_FRAGMENT ||
    nextHeader === NH_DEST_OPTS ||
    nextHeader === NH_AH
  );
}

/** No transport header to read: describe the IP payload and succeed with hasL4 false. */
function ipPayloadOnly(l4: number, end: number, out: PacketInfo): boolean {
  out.l4Offset = l4;
  out.payloadOffset = l4;
  out.payloadBytes = end - l4;
  return true;
}

/** Reads the transport header at buf[l4, end); `end` is where the IP packet ends. */
function parseTransport(buf: Buffer, proto: number, l4: number, end: number, out: PacketInfo): boolean {
  out.l4Offset = l4;
  const l4Bytes = end - l4;
  if (proto === PROTO_TCP) {
    if (l4Bytes < TCP_HEADER_BYTES) {
      out.error = E_TRUNCATED_L4;
      return false;
    }
    const tcpHeaderBytes = (buf[l4 + 12] >> 4) << 2;
    if (tcpHeaderBytes < TCP_HEADER_BYTES || tcpHeaderBytes > l4Bytes) {
      out.error = E_BAD_TCP_OFFSET;
      return false;
    }
    out.hasL4 = true;
    out.sport = (buf[l4] << 8) | buf[l4 + 1];
    out.dport = (buf[l4 + 2] << 8) | buf[l4 + 3];
    out.tcpFlags = buf[l4 + 13];
    out.tcpHeaderBytes = tcpHeaderBytes;
    out.payloadOffset = l4 + tcpHeaderBytes;
    out.payloadBytes = l4Bytes - tcpHeaderBytes;
    return true;
  }
  if (proto === PROTO_UDP) {
    if (l4Bytes < UDP_HEADER_BYTES) {
      out.error = E_TRUNCATED_L4;
      return false;
    }
    // In a first fragment the UDP length covers the whole datagram, not just this fragment.
    const udpBytes = (buf[l4 + 4] << 8) | buf[l4 + 5];
    if (udpBytes < UDP_HEADER_BYTES || (udpBytes > l4Bytes && !out.isFragment)) {
      out.error = E_BAD_UDP_LENGTH;
      return false;
    }
    out.hasL4 = true;
    out.sport = (buf[l4] << 8) | buf[l4 + 1];
    out.dport = (buf[l4 + 2] << 8) | buf[l4 + 3];
    out.payloadOffset = l4 + UDP_HEADER_BYTES;
    out.payloadBytes = (out.isFragment ? l4Bytes : udpBytes) - UDP_HEADER_BYTES;
    return true;
  }
  if (proto === PROTO_ICMP || proto === PROTO_ICMPV6) {
    if (l4Bytes < ICMP_HEADER_BYTES) {
      out.error = E_TRUNCATED_L4;
      return false;
    }
    out.hasL4 = true;
    out.icmpType = buf[l4];
    out.icmpCode = buf[l4 + 1];
    out.payloadOffset = l4 + ICMP_HEADER_BYTES;
    out.payloadBytes = l4Bytes - ICMP_HEADER_BYTES;
    return true;
  }
  return ipPayloadOnly(l4, end, out);
}
