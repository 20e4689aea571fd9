/**
 * STUN (RFC 8489 section 5): a 20-byte header whose two top bits are zero, whose message length (a
 * multiple of 4) covers exactly the rest of the datagram, and whose bytes 4..7 are the magic cookie
 * 0x2112A442. Over TCP a message may be cut by the segment or followed by another, so
 * there the length is not checked.
 */
import { L7Result, L7Verdict } from './types.js';

const HEADER = 20;
const MAGIC_COOKIE = 0x2112a442;

export function detectStun(buf: Buffer, offset: number, length: number, isTcp: boolean, out: L7Result): L7Verdict {
  if (length < HEADER || (buf[offset] & 0xc0) !== 0) return L7Verdict.UNKNOWN;
  const cookie = ((buf[offset + 4] << 24) | (buf[offset + 5] << 16) | (buf[offset + 6] << 8) | buf[offset + 7]) >>> 0;
  if (cookie !== MAGIC_COOKIE) return L7Verdict.UNKNOWN;
  const messageLen = (buf[offset + 2] << 8) | buf[offset + 3];
  if ((messageLen & 3) !== 0) return L7Verdict.UNKNOWN;
  if (!isTcp && HEADER + messageLen !== length) return L7Verdict.UNKNOWN;
  out.protocol = 'stun';
  return L7Verdict.DECIDED;
}
