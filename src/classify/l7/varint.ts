/**
 * QUIC variable-length integers (RFC 9000 section 16): the top two bits of the first byte give the
 * size (1, 2, 4 or 8 bytes). Read without allocating: the value is returned and its size left in
 * `varintSize` (a module variable, read straight after the call). Values above 2^53 lose precision,
 * which no caller cares about (they are lengths compared against a datagram's size).
 */

/** Bytes the last successful readVarint consumed. */
export let varintSize = 0;

/** The varint at buf[p], or -1 if it does not fit before `end`. */
export function readVarint(buf: Buffer, p: number, end: number): number {
  if (p >= end) return -1;
  const first = buf[p];
  const size = 1 << (first >> 6);
  if (p + size > end) return -1;
  let value = first & 0x3f;
  for (let i = 1; i < size; i++) value = value * 256 + buf[p + i];
  varintSize = size;
  return value;
}
