/**
 * TLS over TCP: the first record of each direction is a handshake record (content type 22, version
 * 3.x) holding a ClientHello (initiator) or ServerHello (responder). The ClientHello's server name is
 * the flow's host.
 *
 * A ClientHello larger than the bytes offered (split over segments, common with post-quantum key
 * shares) answers NEED_MORE with protocol 'tls' until the server_name extension has been seen.
 * A ClientHello spread over several records (rare) is read within its first record only and, if the
 * server name is not in it, settles as 'tls' without a host.
 */
import { scanClientHello, HELLO_HOST, HELLO_NO_SNI, HELLO_TRUNCATED } from './clienthello.js';
import { L7Result, L7Verdict } from './types.js';

const CONTENT_HANDSHAKE = 22;
const RECORD_HEADER = 5;
/** Largest record: 2^14 plaintext plus the TLS 1.2 expansion allowance. */
const MAX_RECORD = 16384 + 2048;
const HANDSHAKE_CLIENT_HELLO = 1;
const HANDSHAKE_SERVER_HELLO = 2;

export function detectTls(buf: Buffer, offset: number, length: number, out: L7Result): L7Verdict {
  if (length < 1 || buf[offset] !== CONTENT_HANDSHAKE) return L7Verdict.UNKNOWN;
  if (length >= 2 && buf[offset + 1] !== 3) return L7Verdict.UNKNOWN;
  if (length >= 3 && buf[offset + 2] > 4) return L7Verdict.UNKNOWN;
  if (length < RECORD_HEADER + 1) return L7Verdict.NEED_MORE;
  const recordLen = (buf[offset + 3] << 8) | buf[offset + 4];
  if (recordLen < 4 || recordLen > MAX_RECORD) return L7Verdict.UNKNOWN;
  const type = buf[offset + 5];
  if (type === HANDSHAKE_SERVER_HELLO) {
    out.protocol = 'tls';
    return L7Verdict.DECIDED;
  }
  if (type !== HANDSHAKE_CLIENT_HELLO) return L7Verdict.UNKNOWN;
  const bodyStart = offset + RECORD_HEADER;
  const recordEnd = bodyStart + recordLen;
  const end = offset + length < recordEnd ? offset + length : recordEnd;
  const scan = scanClientHello(buf, bodyStart, end, out);
  if (scan === HELLO_HOST || scan === HELLO_NO_SNI) {
    out.protocol = 'tls';
    return L7Verdict.DECIDED;
  }
  if (scan === HELLO_TRUNCATED) {
    out.protocol = 'tls';
    // The record is complete but the message goes on in another record: settle without a host.
    return end === recordEnd ? L7Verdict.DECIDED : L7Verdict.NEED_MORE;
  }
  return L7Verdict.UNKNOWN;
}
