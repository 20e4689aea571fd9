/**
 * QUIC long-header packets (RFC 8999 invariants, RFC 9000 section 17.2): the first datagrams of a
 * QUIC connection carry long headers (form and fixed bits set) with a version we know: 1, 2
 * (RFC 9369) or an IETF draft (0xff0000xx); a Version Negotiation packet has version 0. Four bytes of
 * exact version after a two-bit check make false positives negligible.
 *
 * A version 1 Initial sent by the initiator is opened (quic-initial.ts) for the server name; any
 * other long header decides 'quic' without a host.
 */
import { readInitialHost } from './quic-initial.js';
import { readVarint, varintSize } from './varint.js';
import { L7Result, L7Verdict } from './types.js';

const FORM_LONG = 0x80;
const FIXED_BIT = 0x40;
const VERSION_1 = 0x00000001;
const VERSION_2 = 0x6b3343cf;
const DRAFT_PREFIX = 0xff0000;
const MAX_CID = 20;
/** Client Initial datagrams are padded to at least 1200 bytes (RFC 9000 section 14.1). */
const MIN_CLIENT_INITIAL = 1200;
const TYPE_INITIAL = 0;

export function detectQuic(buf: Buffer, offset: number, length: number, fromInitiator: boolean, out: L7Result): L7Verdict {
  const end = offset + length;
  if (length < 7 || (buf[offset] & FORM_LONG) === 0) return L7Verdict.UNKNOWN;
  const version = ((buf[offset + 1] << 24) | (buf[offset + 2] << 16) | (buf[offset + 3] << 8) | buf[offset + 4]) >>> 0;
  const known = version === VERSION_1 || version === VERSION_2 || version >>> 8 === DRAFT_PREFIX;
  if (version !== 0 && (!known || (buf[offset] & FIXED_BIT) === 0)) return L7Verdict.UNKNOWN;
  let p = offset + 5;
  const dcidLen = buf[p];
  if (dcidLen > MAX_CID || p + 1 + dcidLen >= end) return L7Verdict.UNKNOWN;
  const dcidStart = p + 1;
  p = dcidStart + dcidLen;
  const scidLen = buf[p];
  if (scidLen > MAX_CID || p + 1 + scidLen > end) return L7Verdict.UNKNOWN;
  p += 1 + scidLen;
  if (version === 0) {
    // Version Negotiation: a non-empty list of 4-byte versions fills the rest.
    const rest = end - p;
    if (rest < 4 || (rest & 3) !== 0) return L7Verdict.UNKNOWN;
    out.protocol = 'quic';
    return L7Verdict.DECIDED;
  }
  out.protocol = 'quic';
  const type = (buf[offset] >> 4) & 3;
  if (version !== VERSION_1 || type !== TYPE_INITIAL || !fromInitiator || length < MIN_CLIENT_INITIAL || dcidLen < 8) {
    return L7Verdict.DECIDED;
  }
  const tokenLen = readVarint(buf, p, end);
  if (tokenLen < 0) return L7Verdict.DECIDED;
  p += varintSize + tokenLen;
  const payloadLen = readVarint(buf, p, end);
  if (payloadLen < 0) return L7Verdict.DECIDED;
  p += varintSize;
  if (p + payloadLen > end) return L7Verdict.DECIDED;
  readInitialHost(buf, offset, dcidStart, dcidLen, p, payloadLen, out);
  return L7Verdict.DECIDED;
}
