/**
 * HTTP/1.x: a request starts with a method and a space (GET, POST, HEAD, PUT, DELETE, OPTIONS,
 * CONNECT, PATCH), a response with "HTTP/1.". A request's Host header (RFC 9112 section 3.2; for
 * CONNECT the authority of the request line) is the flow's host.
 *
 * A request whose header block has not ended and holds no Host line yet answers NEED_MORE with
 * protocol 'http' (the caller offers the longer stream prefix). Header names are matched without
 * regard to case, byte by byte: no regular expression, no string until the host is extracted.
 */
import { ascii, hostString, indexOf, matchPrefix, MATCH, PARTIAL } from './bytes.js';
import { L7Result, L7Verdict } from './types.js';

const METHODS = ['GET ', 'POST ', 'HEAD ', 'PUT ', 'DELETE ', 'OPTIONS ', 'CONNECT ', 'PATCH '].map(ascii);
const CONNECT = METHODS[6];
const RESPONSE = ascii('HTTP/1.');
const CRLF = ascii('\r\n');
const HOST = ascii('host:');

/** Is `start` the beginning of a "Host:" header name (any case)? */
function isHostLine(buf: Buffer, start: number, end: number): boolean {
  if (end - start < HOST.length) return false;
  for (let i = 0; i < HOST.length; i++) if ((buf[start + i] | 0x20) !== HOST[i]) return false;
  return true;
}

export function detectHttp(buf: Buffer, offset: number, length: number, out: L7Result): L7Verdict {
  const end = offset + length;
  let method = -1;
  let partial = false;
  for (let m = 0; m < METHODS.length; m++) {
    const r = matchPrefix(buf, offset, length, METHODS[m]);
    if (r === MATCH) {
      method = m;
      break;
    }
    if (r === PARTIAL) partial = true;
  }
  if (method < 0) {
    const r = matchPrefix(buf, offset, length, RESPONSE);
    if (r === MATCH) {
      out.protocol = 'http';
      return L7Verdict.DECIDED;
    }
    return partial || r === PARTIAL ? L7Verdict.NEED_MORE : L7Verdict.UNKNOWN;
  }
  out.protocol = 'http';
  if (METHODS[method] === CONNECT) {
    // CONNECT host:port HTTP/1.1 — the authority is the target.
    const from = offset + CONNECT.length;
    let to = from;
    while (to < end && buf[to] !== 0x20 && buf[to] !== 0x0d) to++;
    if (to < end) {
      out.host = hostString(buf, from, to);
      return L7Verdict.DECIDED;
    }
    return L7Verdict.NEED_MORE;
  }
  let line = indexOf(buf, offset, end, CRLF);
  while (line >= 0) {
    const start = line + 2;
    if (start + 2 <= end && buf[start] === 0x0d && buf[start + 1] === 0x0a) return L7Verdict.DECIDED; // end of headers, no Host
    const next = indexOf(buf, start, end, CRLF);
    if (isHostLine(buf, start, end)) {
      if (next < 0) return L7Verdict.NEED_MORE; // the Host value may continue in the next segment
      out.host = hostString(buf, start + HOST.length, next);
      return L7Verdict.DECIDED;
    }
    line = next;
  }
  return L7Verdict.NEED_MORE;
}
