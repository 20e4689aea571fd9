/**
 * AddrSet: a set of IPv4 and IPv6 prefixes tested against an address in a packet buffer, built once
 * per configuration. `has` reads the 4 or 16 address bytes straight from the buffer into 32-bit
 * words and compares them under each prefix's mask: no allocation, no string, no Buffer slice.
 *
 * Families: an IPv4 prefix never matches an IPv6 address and an IPv6 prefix never matches an IPv4
 * address, with one exception: a v4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 2.5.5.2, what a
 * dual-stack socket shows for IPv4 peers) is tested against the IPv4 prefixes as a.b.c.d. (It is
 * also an IPv6 address, so ::ffff:0:0/96 matches it too.)
 *
 * Cost: one pass over the prefixes of the address's family (sets in rules hold a handful).
 */

/** One prefix: 4 (IPv4) or 16 (IPv6) network-order bytes, of which the first `prefixLen` bits count. */
export interface Prefix {
  bytes: Buffer;
  prefixLen: number;
}

export class AddrSet {
  /** IPv4: value and mask per prefix, as signed 32-bit words (what `|` and `&` produce). */
  private readonly v4Values: Int32Array;
  private readonly v4Masks: Int32Array;
  /** IPv6: 4 value words then 4 mask words per prefix. */
  private readonly v6Words: Int32Array;
  readonly size: number;

  constructor(prefixes: readonly Prefix[]) {
    const v4 = prefixes.filter((p) => p.bytes.length === 4);
    const v6 = prefixes.filter((p) => p.bytes.length === 16);
    this.size = prefixes.length;
    this.v4Values = new Int32Array(v4.length);
    this.v4Masks = new Int32Array(v4.length);
    v4.forEach((p, i) => {
      this.v4Masks[i] = maskWord(p.prefixLen);
      this.v4Values[i] = p.bytes.readInt32BE(0) & this.v4Masks[i];
    });
    this.v6Words = new Int32Array(v6.length * 8);
    v6.forEach((p, i) => {
      for (let w = 0; w < 4; w++) {
        const mask = maskWord(p.prefixLen - 32 * w);
        this.v6Words[i * 8 + 4 + w] = mask;
        this.v6Words[i * 8 + w] = p.bytes.readInt32BE(4 * w) & mask;
      }
    });
  }

  /** Whether the address at buf[offset] (4 bytes when ipVersion is 4, else 16) is in the set. */
  has(buf: Buffer, offset: number, ipVersion: number): boolean {
    if (ipVersion === 4) return this.hasV4(word(buf, offset));
    const words = this.v6Words;
    const w0 = word(buf, offset);
    const w1 = word(buf, offset + 4);
    const w2 = word(buf, offset + 8);
    const w3 = word(buf, offset + 12);
    for (let i = 0; i < words.length; i += 8) {
      if (
        (w0 & words[i + 4]) === words[i] &&
        (w1 & words[i + 5]) === words[i + 1] &&
        (w2 & words[i + 6]) === words[i + 2] &&
        (w3 & words[i + 7]) === words[i + 3]
      ) {
        return true;
      }
    }
    // ::ffff:a.b.c.d — the first 80 bits zero, then 16 bits of ones.
    return w0 === 0 && w1 === 0 && w2 === 0xffff && this.hasV4(w3);
  }

  private hasV4(w: number): boolean {
    const values = this.v4Values;
    const masks = this.v4Masks;
    for (let i = 0; i < values.length; i++) if ((w & masks[i]) === values[i]) return true;
    return false;
  }
}

/** The 32-bit big-endian word at buf[offset], as a signed int (plain indexing: cannot throw). */
function word(buf: Buffer, offset: number): number {
  return (buf[offset] << 24) | (buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3];
}

/** Mask with the top `bits` bits set (bits clamped to 0..32), as a signed 32-bit int. */
function maskWord(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return -1;
  return (-1 << (32 - bits)) | 0;
}
