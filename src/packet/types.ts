/**
 * What the parser learns about one IP packet. One PacketInfo is allocated per worker and refilled for
 * every packet (see parse.ts): the hot path never allocates. Addresses are not copied: `addrOffset`
 * points into `buf` (4 bytes each for IPv4, 16 for IPv6; source first, destination right after for
 * IPv4 at offset 12/16 and IPv6 at 8/24 relative to the IP header — use srcOffset/dstOffset).
 */
export const enum Proto {
  ICMP = 1,
  TCP = 6,
  UDP = 17,
  ICMPV6 = 58,
}

/** TCP flag bits as on the wire (byte 13 of the TCP header). */
export const enum TcpFlag {
  FIN = 0x01,
  SYN = 0x02,
  RST = 0x04,
  PSH = 0x08,
  ACK = 0x10,
  URG = 0x20,
  ECE = 0x40,
  CWR = 0x80,
}

/** Why a packet could not be parsed. 0 means it parsed. Names in UNPARSABLE_REASONS. */
export const enum Unparsable {
  OK = 0,
  TRUNCATED_IP = 1, // shorter than the fixed IP header
  BAD_VERSION = 2, // neither 4 nor 6
  BAD_IHL = 3, // IPv4 IHL < 5 or header longer than the buffer
  BAD_TOTAL_LENGTH = 4, // IP length field smaller than the header or past the buffer
  TRUNCATED_EXT_HEADER = 5, // an IPv6 extension header runs past the packet
  TOO_MANY_EXT_HEADERS = 6, // IPv6 extension header chain longer than we walk
  TRUNCATED_L4 = 7, // TCP/UDP/ICMP header runs past the packet
  BAD_TCP_OFFSET = 8, // TCP data offset < 5 or beyond the packet
  BAD_UDP_LENGTH = 9, // UDP length field smaller than 8 or past the packet
}

export const UNPARSABLE_REASONS: readonly string[] = [
  'ok',
  'truncated IP header',
  'bad IP version',
  'bad IPv4 header length',
  'bad IP total length',
  'truncated IPv6 extension header',
  'too many IPv6 extension headers',
  'truncated transport header',
  'bad TCP data offset',
  'bad UDP length',
];

export class PacketInfo {
  /** The buffer last parsed (not copied). */
  buf: Buffer = Buffer.alloc(0);
  /** Offset of the IP header in buf. */
  ipOffset = 0;
  /** Unparsable.OK or the reason it could not be parsed. */
  error: Unparsable = Unparsable.OK;
  /** 4 or 6. */
  ipVersion = 0;
  /** Bytes of IP header including IPv6 extension headers walked. */
  ipHeaderBytes = 0;
  /** IP packet length in bytes as the header states it (IPv4 total length; IPv6 40 + payload length). */
  ipBytes = 0;
  /** Transport protocol number (after IPv6 extension headers). */
  proto = 0;
  /** Offsets in buf of the source and destination address (length 4 or 16 by ipVersion). */
  srcOffset = 0;
  dstOffset = 0;
  /** Ports (0 when the protocol has none or for non-first fragments). */
  sport = 0;
  dport = 0;
  /** True when this is a fragment; ports are only present in the first one. */
  isFragment = false;
  /** Fragment offset in bytes (0 for the first fragment or unfragmented packets). */
  fragOffsetBytes = 0;
  /** True when the transport header was found and parsed (false for non-first fragments, unknown protos). */
  hasL4 = false;
  /** Offset in buf of the transport header. */
  l4Offset = 0;
  /** TCP flag byte (TcpFlag bits), 0 for other protocols. */
  tcpFlags = 0;
  /** TCP header length in bytes (data offset * 4). */
  tcpHeaderBytes = 0;
  /** Offset in buf of the transport payload and its length in bytes. */
  payloadOffset = 0;
  payloadBytes = 0;
  /** ICMP / ICMPv6 type and code (0 otherwise). */
  icmpType = 0;
  icmpCode = 0;
  /** DSCP (6 bits) and ECN (2 bits) from the IPv4 TOS / IPv6 traffic class. */
  dscp = 0;
  ecn = 0;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl = 0;
}
