/**
 * Hand builders for kernel-side messages, written with Buffer's own little-endian/big-endian writers
 * (independent of src/datapath/nfqueue/bytes.ts) so the decoder is checked against a second reading of
 * the header layouts. These tests assume a little-endian host (x86-64, arm64), which hostIsLE checks.
 */
import { endianness } from 'node:os';

export const hostIsLE = endianness() === 'LE';

/** Bytes from a hex string; spaces only group the digits, e.g. "1c000000 0203". */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

export interface Attr {
  type: number;
  value: Buffer;
}

export function u32be(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** One nlattr TLV, padded to 4 bytes. */
export function attr(a: Attr): Buffer {
  const len = 4 + a.value.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(a.type, 2);
  a.value.copy(out, 4);
  return out;
}

/** A netlink message: nlmsghdr (LE), then body. nlmsg_len is the unpadded length unless padLen is set; the buffer is always padded to 4. */
export function message(type: number, flags: number, seq: number, body: Buffer, padLen = false): Buffer {
  const len = 16 + body.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt32LE(padLen ? out.length : len, 0);
  out.writeUInt16LE(type, 4);
  out.writeUInt16LE(flags, 6);
  out.writeUInt32LE(seq >>> 0, 8);
  out.writeUInt32LE(0, 12);
  body.copy(out, 16);
  return out;
}

/** An NFQNL_MSG_PACKET message from queue `queueNum`, family `family`, with the given attributes. */
export function packetMessage(queueNum: number, family: number, attrs: Attr[], seq = 0): Buffer {
  const gen = Buffer.from([family, 0, (queueNum >> 8) & 0xff, queueNum & 0xff]);
  return message((3 << 8) | 0, 0, seq, Buffer.concat([gen, ...attrs.map(attr)]));
}

/** NFQA_PACKET_HDR value: packet_id (be32), hw_protocol (be16), hook (u8): 7 bytes. */
export function packetHdr(packetId: number, hwProtocol: number, hook: number): Buffer {
  const b = Buffer.alloc(7);
  b.writeUInt32BE(packetId, 0);
  b.writeUInt16BE(hwProtocol, 4);
  b[6] = hook;
  return b;
}

/** An NLMSG_ERROR answering a request header `req` (16 bytes) with -errno. */
export function errorMessage(errno: number, seq: number, req: Buffer, flags = 0, extra: Buffer = Buffer.alloc(0)): Buffer {
  const e = Buffer.alloc(4);
  e.writeInt32LE(-errno, 0);
  return message(2, flags, seq, Buffer.concat([e, req, extra]));
}

