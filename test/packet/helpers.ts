/**
 * Shared helpers for the packet tests: hex to Buffer, checksums computed from scratch (independent
 * of the code under test), and a hand-assembled IPv6 packet with an extension header chain.
 */

/** Buffer from hex text; spaces, newlines and `|` separators are ignored. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/[\s|]/g, ''), 'hex');
}

/** One's complement sum of buf[start, end) as 16-bit big-endian words, folded to 16 bits. */
export function onesSum(buf: Buffer, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i < end; i += 2) sum += (buf[i] << 8) | (i + 1 < end ? buf[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The IPv4 header checksum of the header at buf[ip], computed from scratch with its field taken as 0. */
export function ipv4ChecksumFromScratch(buf: Buffer, ip: number): number {
  const headerBytes = (buf[ip] & 0x0f) * 4;
  const copy = Buffer.from(buf.subarray(ip, ip + headerBytes));
  copy[10] = 0;
  copy[11] = 0;
  return ~onesSum(copy, 0, headerBytes) & 0xffff;
}

/** True when the IPv4 header at buf[ip] sums (checksum included) to 0xffff. */
export function ipv4ChecksumValid(buf: Buffer, ip: number): boolean {
  return onesSum(buf, ip, ip + (buf[ip] & 0x0f) * 4) === 0xffff;
}

/**
 * True when the transport checksum of the packet at buf[ip] verifies: the sum over the pseudo-header
 * (absent for ICMPv4) and the whole transport segment is 0xffff.
 */
export function transportChecksumValid(buf: Buffer, ip: number, proto: number, l4: number, end: number): boolean {
  let pseudo = 0;
  if (proto !== 1) {
    const v4 = buf[ip] >> 4 === 4;
    const addrStart = v4 ? ip + 12 : ip + 8;
    const addrEnd = v4 ? ip + 20 : ip + 40;
    pseudo = onesSum(buf, addrStart, addrEnd, proto + (end - l4));
  }
  return onesSum(buf, l4, end, pseudo) === 0xffff;
}

export interface ExtHeader {
  /** Next-header value that announces this header: 0, 43, 44, 51, 60 or anything. */
  type: number;
  /** Total bytes of this header (multiple of 8, or of 4 for AH; at least 8). */
  bytes: number;
  /** For a fragment header: offset in bytes (multiple of 8) and the M flag. */
  fragOffsetBytes?: number;
  more?: boolean;
}

/**
 * An IPv6 packet (src 2001:db8::1, dst 2001:db8::2, hop limit 64) whose header chain is `chain`,
 * followed by `transport` (the bytes of the transport header and payload) announced as `proto`.
 */
export function ipv6WithChain(chain: ExtHeader[], proto: number, transport: Buffer): Buffer {
  const parts: Buffer[] = [];
  const fixed = hex('60000000 0000 00 40 20010db8000000000000000000000001 20010db8000000000000000000000002');
  parts.push(fixed);
  for (let i = 0; i < chain.length; i++) {
    const h = chain[i];
    const next = i + 1 < chain.length ? chain[i + 1].type : proto;
    const b = Buffer.alloc(h.bytes, 0xa5);
    b[0] = next;
    if (h.type === 44) {
      b[1] = 0;
      b.writeUInt16BE((h.fragOffsetBytes ?? 0) | (h.more ? 1 : 0), 2);
    } else if (h.type === 51) {
      b[1] = h.bytes / 4 - 2;
    } else {
      b[1] = h.bytes / 8 - 1;
    }
    parts.push(b);
  }
  parts.push(transport);
  const pkt = Buffer.concat(parts);
  pkt[6] = chain.length > 0 ? chain[0].type : proto;
  pkt.writeUInt16BE(pkt.length - 40, 4);
  return pkt;
}

