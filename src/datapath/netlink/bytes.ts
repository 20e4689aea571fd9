/**
 * Integer reads and writes for netlink buffers, and the byte copy the packet path uses. Netlink headers (nlmsghdr, nlattr, nlmsgerr.error)
 * are in the host's byte order; most nfnetlink_queue attribute values are big-endian. These use plain
 * indexing, which never throws and allocates nothing, instead of Buffer.readUInt32LE & co., which
 * throw on a bad offset: every caller has already checked that the bytes are there.
 */
import { endianness } from 'node:os';

const HOST_LE = endianness() === 'LE';

export function readU16Host(buf: Buffer, o: number): number {
  return HOST_LE ? buf[o] | (buf[o + 1] << 8) : (buf[o] << 8) | buf[o + 1];
}

export function readU32Host(buf: Buffer, o: number): number {
  return HOST_LE
    ? (buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16) | (buf[o + 3] << 24)) >>> 0
    : ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
}

/** A signed 32-bit host-order integer (nlmsgerr.error). */
export function readI32Host(buf: Buffer, o: number): number {
  return readU32Host(buf, o) | 0;
}

export function writeU16Host(buf: Buffer, o: number, v: number): void {
  if (HOST_LE) {
    buf[o] = v & 0xff;
    buf[o + 1] = (v >>> 8) & 0xff;
  } else {
    buf[o] = (v >>> 8) & 0xff;
    buf[o + 1] = v & 0xff;
  }
}

export function writeU32Host(buf: Buffer, o: number, v: number): void {
  if (HOST_LE) {
    buf[o] = v & 0xff;
    buf[o + 1] = (v >>> 8) & 0xff;
    buf[o + 2] = (v >>> 16) & 0xff;
    buf[o + 3] = (v >>> 24) & 0xff;
  } else {
    writeU32BE(buf, o, v);
  }
}

export function readU16BE(buf: Buffer, o: number): number {
  return (buf[o] << 8) | buf[o + 1];
}

export function readU32BE(buf: Buffer, o: number): number {
  return ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
}

export function writeU16BE(buf: Buffer, o: number, v: number): void {
  buf[o] = (v >>> 8) & 0xff;
  buf[o + 1] = v & 0xff;
}

export function writeU32BE(buf: Buffer, o: number, v: number): void {
  buf[o] = (v >>> 24) & 0xff;
  buf[o + 1] = (v >>> 16) & 0xff;
  buf[o + 2] = (v >>> 8) & 0xff;
  buf[o + 3] = v & 0xff;
}

/** Rounds a length up to the 4-byte netlink alignment (NLMSG_ALIGN and NLA_ALIGN are the same). */
export function align4(len: number): number {
  return (len + 3) & ~3;
}

let arena: Uint8Array | null = null;

/**
 * Copies src[srcOffset, +len) to dst[dstOffset]. Buffer.copy of part of a Buffer creates a view per
 * call (an allocation per packet), so when both live in one ArrayBuffer — the NFQUEUE datapath puts
 * its receive buffers, held-packet slots and send buffer in one — this copies with copyWithin on a
 * view of the whole ArrayBuffer, made once. Otherwise it falls back to set() for a whole source and
 * Buffer.copy for a part.
 */
export function copyBytes(src: Buffer, srcOffset: number, len: number, dst: Buffer, dstOffset: number): void {
  if (src.buffer === dst.buffer) {
    if (arena === null || arena.buffer !== dst.buffer) arena = new Uint8Array(dst.buffer);
    const from = src.byteOffset + srcOffset;
    arena.copyWithin(dst.byteOffset + dstOffset, from, from + len);
  } else if (srcOffset === 0 && len === src.length) {
    dst.set(src, dstOffset);
  } else {
    src.copy(dst, dstOffset, srcOffset, srcOffset + len);
  }
}
