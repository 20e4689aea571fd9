/**
 * Hashes for the flow table, computed straight from 32-bit address words and ports: no strings, no
 * allocation. The round and finaliser are MurmurHash3's (x86_32), which mix well and cost a few
 * multiplies. Every table draws its own random seed, so the addresses and ports that collide in one
 * table cannot be computed offline from this source: a cheap defence against someone flooding the
 * table with crafted tuples to lengthen its probe chains. It is not a cryptographic guarantee.
 *
 * All values are int32 (the `| 0` domain): they index typed arrays and compare without boxing.
 */

/** One MurmurHash3 round: fold the 32-bit word w into the state h. A bijection in h and in w. */
export function mixIn(h: number, w: number): number {
  w = Math.imul(w, 0xcc9e2d51);
  w = (w << 15) | (w >>> 17);
  w = Math.imul(w, 0x1b873593);
  h ^= w;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3's finaliser: every input bit affects every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Big-endian 32-bit word at b[o..o+3], as int32. Plain indexing: no bounds-check exceptions. */
export function readWord(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/** Hash of a 16-byte address given as four int32 words, under the table's address seed. */
export function hashAddrWords(seed: number, w0: number, w1: number, w2: number, w3: number): number {
  return fmix32(mixIn(mixIn(mixIn(mixIn(seed, w0), w1), w2), w3) ^ 16);
}

/**
 * The state after hashing the constant prefix of a v4-mapped address (::ffff:0:0/96): an IPv4 address
 * then costs one round and the finaliser, and still hashes exactly like its v4-mapped IPv6 form.
 */
export function v4PrefixState(seed: number): number {
  return mixIn(mixIn(mixIn(seed, 0), 0), 0xffff);
}

/** Hash of an IPv4 address (the last word of its v4-mapped form) given the v4PrefixState. */
export function hashV4Word(prefixState: number, w3: number): number {
  return fmix32(mixIn(prefixState, w3) ^ 16);
}

/**
 * Hash of a bidirectional flow key from the two endpoints' address hashes and ports. Each endpoint is
 * folded with its port, and the two results are ordered before combining, so swapping source and
 * destination gives the same hash. `protoKey` separates protocols (and IP versions).
 */
export function hashFlow(seed: number, protoKey: number, addrHashA: number, portA: number, addrHashB: number, portB: number): number {
  const a = mixIn(addrHashA, portA);
  const b = mixIn(addrHashB, portB);
  const lo = a < b ? a : b;
  const hi = a < b ? b : a;
  return fmix32(mixIn(mixIn(seed ^ protoKey, lo), hi));
}

/** Seeds for the address and flow hashes, derived from one 32-bit table seed. */
export function deriveSeeds(seed: number): { addrSeed: number; flowSeed: number } {
  return { addrSeed: fmix32(seed ^ 0x2545f491), flowSeed: fmix32(mixIn(seed, 0x61c88647)) };
}
