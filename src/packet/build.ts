/**
 * Packet builder: writes a well-formed IPv4 or IPv6 packet (TCP, UDP, ICMP, ICMPv6 or any other
 * protocol number) from a small description. The simulator uses it to make the traffic it feeds the
 * datapath, and tests use it to make packets for the parser and everything after it.
 *
 * What it writes: a 20-byte IPv4 header (no options, not fragmented, identification 0, valid header
 * checksum) or a 40-byte IPv6 header (flow label 0, no extension headers); then a 20-byte TCP header
 * (no options, sequence and acknowledgement numbers 0, window 65535), an 8-byte UDP header, an 8-byte
 * ICMP/ICMPv6 header (echo request by default), or nothing for other protocols; then `payloadBytes`
 * zero bytes. Transport checksums (TCP, UDP, ICMP, ICMPv6 with their pseudo-headers) are valid too,
 * so built packets could be written to a real TUN device. Because the payload is all zeros it adds
 * nothing to a checksum, so building costs the same for any payload size beyond zeroing it.
 *
 * A malformed spec (bad address text, a field out of range, a packet over 65535 bytes, an `out`
 * too short) throws a RangeError: this runs where packets are made, not on the packet path. Parsed
 * addresses are cached (bounded) so a simulator building many packets between the same hosts does
 * not re-parse their text each time.
 */
import { parseAddress } from './addr.js';
import { Proto, TcpFlag } from './types.js';

export interface PacketSpec {
  ipVersion: 4 | 6;
  /** Dotted IPv4 or IPv6 text ('::' compression and IPv4-mapped accepted; a mapped address is
   * accepted for an IPv4 packet too and written as its IPv4 address). */
  src: string;
  dst: string;
  /** Proto.TCP, Proto.UDP, Proto.ICMP, Proto.ICMPV6 or any protocol number 0..255. */
  proto: number;
  /** Ports (TCP and UDP), default 0. */
  sport?: number;
  dport?: number;
  /** TCP flag byte (TcpFlag bits), default ACK. */
  tcpFlags?: number;
  /** Transport payload length in bytes (default 0); payload bytes are zero. */
  payloadBytes?: number;
  /** DSCP 0..63 and ECN 0..3 (default 0), TTL / hop limit (default 64). */
  dscp?: number;
  ecn?: number;
  ttl?: number;
  /** ICMP type and code; default echo request (8 for ICMP, 128 for ICMPv6), code 0. */
  icmpType?: number;
  icmpCode?: number;
}

const IPV4_HEADER_BYTES = 20;
const IPV6_HEADER_BYTES = 40;
const DEFAULT_TTL = 64;
const ICMP_ECHO_REQUEST = 8;
const ICMPV6_ECHO_REQUEST = 128;
const ADDRESS_CACHE_ENTRIES = 1024;

const addressCache = new Map<string, Buffer | null>();

/** IP length in bytes of the packet buildPacket writes for `spec` (IP header + transport header + payload). */
export function packetLength(spec: PacketSpec): number {
  const ipHeaderBytes = spec.ipVersion === 4 ? IPV4_HEADER_BYTES : IPV6_HEADER_BYTES;
  return ipHeaderBytes + transportHeaderBytes(spec.proto) + (spec.payloadBytes ?? 0);
}

/**
 * Writes the packet described by `spec` at out[offset] (allocating a new Buffer of exactly the
 * packet's length when `out` is omitted) and returns the Buffer holding it (`out` itself when
 * given). Its length in bytes is packetLength(spec). IPv4 header checksum and transport checksums
 * are valid.
 */
export function buildPacket(spec: PacketSpec, out?: Buffer, offset = 0): Buffer {
  const ipBytes = checkSpec(spec);
  const buf = out ?? Buffer.alloc(offset + ipBytes);
  if (!Number.isInteger(offset) || offset < 0 || offset + ipBytes > buf.length) {
    throw new RangeError(`buildPacket: ${ipBytes} bytes do not fit at offset ${offset} of ${buf.length}`);
  }
  const addrBytes = spec.ipVersion === 4 ? 4 : 16;
  const src = addressBytes(spec.src, addrBytes);
  const dst = addressBytes(spec.dst, addrBytes);
  buf.fill(0, offset, offset + ipBytes);

  const tos = ((spec.dscp ?? 0) << 2) | (spec.ecn ?? 0);
  const ttl = spec.ttl ?? DEFAULT_TTL;
  const ip = offset;
  let l4: number;
  let srcOffset: number;
  let dstOffset: number;
  if (spec.ipVersion === 4) {
    buf[ip] = 0x45;
    buf[ip + 1] = tos;
    buf.writeUInt16BE(ipBytes, ip + 2);
    buf[ip + 8] = ttl;
    buf[ip + 9] = spec.proto;
    srcOffset = ip + 12;
    dstOffset = ip + 16;
    src.copy(buf, srcOffset);
    dst.copy(buf, dstOffset);
    buf.writeUInt16BE(finishChecksum(sumWords(buf, ip, ip + IPV4_HEADER_BYTES, 0)), ip + 10);
    l4 = ip + IPV4_HEADER_BYTES;
  } else {
    buf[ip] = 0x60 | (tos >> 4);
    buf[ip + 1] = (tos & 0x0f) << 4;
    buf.writeUInt16BE(ipBytes - IPV6_HEADER_BYTES, ip + 4);
    buf[ip + 6] = spec.proto;
    buf[ip + 7] = ttl;
    srcOffset = ip + 8;
    dstOffset = ip + 24;
    src.copy(buf, srcOffset);
    dst.copy(buf, dstOffset);
    l4 = ip + IPV6_HEADER_BYTES;
  }

  const l4Bytes = ip + ipBytes - l4;
  const proto = spec.proto;
  let checksumOffset = -1;
  if (proto === Proto.TCP) {
    buf.writeUInt16BE(spec.sport ?? 0, l4);
    buf.writeUInt16BE(spec.dport ?? 0, l4 + 2);
    buf[l4 + 12] = 5 << 4;
    buf[l4 + 13] = spec.tcpFlags ?? TcpFlag.ACK;
    buf.writeUInt16BE(0xffff, l4 + 14);
    checksumOffset = l4 + 16;
  } else if (proto === Proto.UDP) {
    buf.writeUInt16BE(spec.sport ?? 0, l4);
    buf.writeUInt16BE(spec.dport ?? 0, l4 + 2);
    buf.writeUInt16BE(l4Bytes, l4 + 4);
    checksumOffset = l4 + 6;
  } else if (proto === Proto.ICMP || proto === Proto.ICMPV6) {
    const echo = proto === Proto.ICMP ? ICMP_ECHO_REQUEST : ICMPV6_ECHO_REQUEST;
    buf[l4] = spec.icmpType ?? echo;
    buf[l4 + 1] = spec.icmpCode ?? 0;
    checksumOffset = l4 + 2;
  }
  if (checksumOffset >= 0) {
    // ICMPv4 has no pseudo-header; TCP, UDP and ICMPv6 cover one (RFC 9293, RFC 768, RFC 4443).
    let sum = 0;
    if (proto !== Proto.ICMP) {
      sum = sumWords(buf, srcOffset, srcOffset + addrBytes, sum);
      sum = sumWords(buf, dstOffset, dstOffset + addrBytes, sum);
      sum += proto + (l4Bytes & 0xffff) + (l4Bytes >>> 16);
    }
    // The payload is zero, so only the transport header contributes.
    sum = sumWords(buf, l4, l4 + transportHeaderBytes(proto), sum);
    let checksum = finishChecksum(sum);
    // UDP sends a computed 0 as 0xffff (0 means "no checksum").
    if (checksum === 0 && proto === Proto.UDP) checksum = 0xffff;
    buf.writeUInt16BE(checksum, checksumOffset);
  }
  return buf;
}

function transportHeaderBytes(proto: number): number {
  if (proto === Proto.TCP) return 20;
  if (proto === Proto.UDP || proto === Proto.ICMP || proto === Proto.ICMPV6) return 8;
  return 0;
}

/** Validates the spec's numbers and returns the packet's IP length. */
function checkSpec(spec: PacketSpec): number {
  if (spec.ipVersion !== 4 && spec.ipVersion !== 6) throw new RangeError(`buildPacket: ipVersion ${spec.ipVersion}`);
  checkField('proto', spec.proto, 255);
  checkField('sport', spec.sport, 0xffff);
  checkField('dport', spec.dport, 0xffff);
  checkField('tcpFlags', spec.tcpFlags, 0xff);
  checkField('payloadBytes', spec.payloadBytes, 0xffff);
  checkField('dscp', spec.dscp, 63);
  checkField('ecn', spec.ecn, 3);
  checkField('ttl', spec.ttl, 255);
  checkField('icmpType', spec.icmpType, 255);
  checkField('icmpCode', spec.icmpCode, 255);
  const ipBytes = packetLength(spec);
  const limitBytes = spec.ipVersion === 4 ? 0xffff : 0xffff + IPV6_HEADER_BYTES;
  if (ipBytes > limitBytes) throw new RangeError(`buildPacket: packet of ${ipBytes} bytes is too long`);
  return ipBytes;
}

function checkField(name: string, value: number | undefined, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`buildPacket: ${name} ${value} is not an integer in 0..${max}`);
  }
}

/** The address text as 4 or 16 bytes; an IPv4-mapped IPv6 address is accepted for 4. */
function addressBytes(text: string, len: 4 | 16): Buffer {
  let bytes = addressCache.get(text);
  if (bytes === undefined) {
    if (addressCache.size >= ADDRESS_CACHE_ENTRIES) addressCache.clear();
    bytes = parseAddress(text);
    addressCache.set(text, bytes);
  }
  if (bytes !== null) {
    if (bytes.length === len) return bytes;
    if (len === 4 && isIpv4MappedBytes(bytes)) return bytes.subarray(12);
  }
  throw new RangeError(`buildPacket: '${text}' is not an IPv${len === 4 ? 4 : 6} address`);
}

function isIpv4MappedBytes(bytes: Buffer): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Adds the big-endian 16-bit words of buf[start, end) to `sum` (an odd last byte is padded with 0). */
function sumWords(buf: Buffer, start: number, end: number, sum: number): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  return sum;
}

/** Folds a running sum to 16 bits with end-around carry and complements it. */
function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}
