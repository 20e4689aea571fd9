/**
 * The server name in a TLS ClientHello handshake message (RFC 8446 section 4.1.2; server_name is
 * extension 0, RFC 6066 section 3), read from the message bytes alone: shared by TLS over TCP (after
 * the record header) and QUIC (the CRYPTO stream of a decrypted Initial).
 *
 * The bytes may end early (the message continues in a later segment): every field is checked
 * against what is there and the scan answers TRUNCATED rather than reading past it; a length that
 * points outside the declared message is MALFORMED. Cost: one walk over the extension headers.
 */
import { hostString } from './bytes.js';
import { L7Result } from './types.js';

export const HELLO_HOST = 0;
export const HELLO_NO_SNI = 1;
export const HELLO_TRUNCATED = 2;
export const HELLO_MALFORMED = 3;
export type HelloScan = typeof HELLO_HOST | typeof HELLO_NO_SNI | typeof HELLO_TRUNCATED | typeof HELLO_MALFORMED;

const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const NAME_TYPE_HOST = 0;

/**
 * Scans the ClientHello starting at buf[start] (the handshake type byte) with bytes available up to
 * `end`. On HELLO_HOST, out.host holds the name.
 */
export function scanClientHello(buf: Buffer, start: number, end: number, out: L7Result): HelloScan {
  if (end - start < 4) return HELLO_TRUNCATED;
  if (buf[start] !== HANDSHAKE_CLIENT_HELLO) return HELLO_MALFORMED;
  const msgEnd = start + 4 + ((buf[start + 1] << 16) | (buf[start + 2] << 8) | buf[start + 3]);
  const limit = end < msgEnd ? end : msgEnd;
  const short = limit < msgEnd ? HELLO_TRUNCATED : HELLO_MALFORMED;
  let p = start + 4;
  // legacy_version (2), random (32), session id length (1)
  if (p + 35 > limit) return short;
  if (buf[p] !== 3) return HELLO_MALFORMED;
  p += 34;
  const sessionLen = buf[p];
  if (sessionLen > 32) return HELLO_MALFORMED;
  p += 1 + sessionLen;
  if (p + 2 > limit) return short;
  const suitesLen = (buf[p] << 8) | buf[p + 1];
  if (suitesLen < 2 || (suitesLen & 1) !== 0) return HELLO_MALFORMED;
  p += 2 + suitesLen;
  if (p + 1 > limit) return short;
  p += 1 + buf[p];
  if (p === msgEnd) return HELLO_NO_SNI; // no extensions at all
  if (p + 2 > limit) return p + 2 > msgEnd ? HELLO_MALFORMED : short;
  const extEnd = p + 2 + ((buf[p] << 8) | buf[p + 1]);
  if (extEnd > msgEnd) return HELLO_MALFORMED;
  p += 2;
  while (p < extEnd) {
    if (p + 4 > limit) return short;
    const type = (buf[p] << 8) | buf[p + 1];
    const dataEnd = p + 4 + ((buf[p + 2] << 8) | buf[p + 3]);
    if (dataEnd > extEnd) return HELLO_MALFORMED;
    if (type === EXT_SERVER_NAME) {
      if (dataEnd > limit) return short;
      return readServerName(buf, p + 4, dataEnd, out);
    }
    p = dataEnd;
  }
  return HELLO_NO_SNI;
}

/** ServerNameList: the first host_name entry. */
function readServerName(buf: Buffer, p: number, end: number, out: L7Result): HelloScan {
  if (p + 2 > end) return HELLO_MALFORMED;
  const listEnd = p + 2 + ((buf[p] << 8) | buf[p + 1]);
  if (listEnd > end) return HELLO_MALFORMED;
  p += 2;
  while (p + 3 <= listEnd) {
    const nameEnd = p + 3 + ((buf[p + 1] << 8) | buf[p + 2]);
    if (nameEnd > listEnd) return HELLO_MALFORMED;
    if (buf[p] === NAME_TYPE_HOST) {
      out.host = hostString(buf, p + 3, nameEnd);
      return out.host === '' ? HELLO_NO_SNI : HELLO_HOST;
    }
    p = nameEnd;
  }
  return HELLO_NO_SNI;
}
