/**
 * Small byte helpers shared by the detectors: literal prefix matching against a payload (with a
 * "needs more" answer when the payload ends inside the literal) and the host-name cleanup used by
 * HTTP, TLS and QUIC. Literals are encoded once at module load; matching allocates nothing.
 */

/** The full literal matched. */
export const MATCH = 0;
/** The payload ended while still matching: more bytes could complete it. */
export const PARTIAL = 1;
/** A byte differs. */
export const MISMATCH = 2;
export type PrefixMatch = typeof MATCH | typeof PARTIAL | typeof MISMATCH;

/** Compares the first bytes of buf[offset, offset+length) with `literal`. */
export function matchPrefix(buf: Buffer, offset: number, length: number, literal: Uint8Array): PrefixMatch {
  const n = length < literal.length ? length : literal.length;
  for (let i = 0; i < n; i++) if (buf[offset + i] !== literal[i]) return MISMATCH;
  return n === literal.length ? MATCH : PARTIAL;
}

/** Index of `literal` in buf[start, end), or -1. Naive search: literals are short, payloads ≤ 2 KB. */
export function indexOf(buf: Buffer, start: number, end: number, literal: Uint8Array): number {
  const last = end - literal.length;
  const first = literal[0];
  outer: for (let i = start; i <= last; i++) {
    if (buf[i] !== first) continue;
    for (let j = 1; j < literal.length; j++) if (buf[i + j] !== literal[j]) continue outer;
    return i;
  }
  return -1;
}

export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/**
 * A host name from buf[start, end): surrounding blanks trimmed, a trailing ":port" removed (also
 * after a bracketed IPv6 literal, whose brackets are kept off), lower-cased. '' when nothing is left
 * or a byte is outside printable ASCII. Allocates one string: called once per flow.
 */
export function hostString(buf: Buffer, start: number, end: number): string {
  while (start < end && (buf[start] === 0x20 || buf[start] === 0x09)) start++;
  while (end > start && (buf[end - 1] === 0x20 || buf[end - 1] === 0x09)) end--;
  if (start < end && buf[start] === 0x5b) {
    // [v6]:port
    let close = start + 1;
    while (close < end && buf[close] !== 0x5d) close++;
    if (close === end) return '';
    start++;
    end = close;
  } else {
    let colon = -1;
    for (let i = start; i < end; i++) {
      if (buf[i] === 0x3a) {
        if (colon >= 0) {
          colon = -1; // two colons: a bare IPv6 literal, keep it whole
          break;
        }
        colon = i;
      }
    }
    if (colon >= 0) end = colon;
  }
  if (start >= end) return '';
  for (let i = start; i < end; i++) if (buf[i] < 0x21 || buf[i] > 0x7e) return '';
  return buf.toString('latin1', start, end).toLowerCase();
}
