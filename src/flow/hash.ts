/**
 * Hashes for the flow table, computed straight from 32-bit address words and ports: no strings, no
 * allocation. Two kinds: the per-packet flow hash (hashFlowKey, a keyed multiply-add over the words
 * with a MurmurHash3 finaliser, cheap because its multiplies are independent), and the per-address
 * hash (hashAddrWords, MurmurHash3 rounds, computed once per flow). Every table draws its own seed,
 * so the addresses and ports that collide in one table cannot be computed offline from this source:
 * a cheap defence against someone flooding the table with crafted tuples to lengthen its probe
 * chains. It is not a cryptographic guarantee.
 *
 * All values are int32 (the `| 0` domain): they index typed arrays and compare without boxing.
 */

/** One MurmurHash3 round: fold the 32-bit word w into the state h. A bijection in h and in w. */
function mixIn(h: number, w: number): number {
  w = Math.imul(w, 0xcc9e2d51);
  w = (w << 15) | (w >>> 17);
  w = Math.imul(w, 0x1b873593);
  h ^= w;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3's finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
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

/** Number of int32 entries in the flow hash's keys (see flowHashKeys). */
const FLOW_HASH_KEYS = 16;
/** Index in the keys of the precomputed sum of an endpoint's v4-mapped prefix terms. */
const V4_PREFIX_SUM = 15;

/**
 * Random keys for hashFlowKey, drawn from a 32-bit seed: xor masks at even indexes 0..12, odd
 * multipliers after each, and the prefix sum hashFlowV4 starts from.
 */
export function flowHashKeys(seed: number): Int32Array {
  const keys = new Int32Array(FLOW_HASH_KEYS);
  let h = seed;
  for (let i = 0; i < V4_PREFIX_SUM; i++) {
    h = fmix32(mixIn(h, i));
    keys[i] = i % 2 === 1 ? h | 1 : h;
  }
  let sum = Math.imul(0 ^ keys[0], keys[1]);
  sum = (sum + Math.imul(0 ^ keys[2], keys[3])) | 0;
  keys[V4_PREFIX_SUM] = (sum + Math.imul(0xffff ^ keys[4], keys[5])) | 0;
  return keys;
}

/**
 * Hash of a bidirectional flow key: source address words w[0..3] and port, destination words w[4..7]
 * and port (IPv4 as v4-mapped), and a protocol/version term. Symmetric by construction: each endpoint
 * is hashed alone with the same keys (its words and port xored with random masks, multiplied by
 * random odd multipliers and summed, then put through a xorshift-multiply so that, say, swapping only
 * the ports changes the result), and the two endpoint values are added, which does not care about
 * order. The sum goes through the MurmurHash3 finaliser.
 *
 * No branches and no chain of rounds: the multiplies are independent, so the CPU overlaps them, and
 * the packet's direction (which differs packet to packet) costs no mispredicted branch. Addresses are
 * hashed with Murmur rounds only when a flow is created.
 */
export function hashFlowKey(keys: Int32Array, w: Int32Array, sport: number, dport: number, protoKey: number): number {
  let a = Math.imul(w[0] ^ keys[0], keys[1]);
  let b = Math.imul(w[4] ^ keys[0], keys[1]);
  a = (a + Math.imul(w[1] ^ keys[2], keys[3])) | 0;
  b = (b + Math.imul(w[5] ^ keys[2], keys[3])) | 0;
  a = (a + Math.imul(w[2] ^ keys[4], keys[5])) | 0;
  b = (b + Math.imul(w[6] ^ keys[4], keys[5])) | 0;
  return finishFlowHash(keys, (a + Math.imul(w[3] ^ keys[6], keys[7])) | 0, (b + Math.imul(w[7] ^ keys[6], keys[7])) | 0, sport, dport, protoKey);
}

/** hashFlowKey for IPv4 addresses given as their int32 words: the same value, without the constant prefix terms. */
export function hashFlowV4(keys: Int32Array, src: number, dst: number, sport: number, dport: number, protoKey: number): number {
  const prefix = keys[V4_PREFIX_SUM];
  return finishFlowHash(keys, (prefix + Math.imul(src ^ keys[6], keys[7])) | 0, (prefix + Math.imul(dst ^ keys[6], keys[7])) | 0, sport, dport, protoKey);
}

/** Fold each endpoint's port into its address sum, mix each endpoint, combine symmetrically. */
function finishFlowHash(keys: Int32Array, a: number, b: number, sport: number, dport: number, protoKey: number): number {
  a = (a + Math.imul(sport ^ keys[8], keys[9])) | 0;
  b = (b + Math.imul(dport ^ keys[8], keys[9])) | 0;
  a = Math.imul(a ^ (a >>> 15) ^ keys[10], keys[11]);
  b = Math.imul(b ^ (b >>> 15) ^ keys[10], keys[11]);
  return fmix32((a + b + Math.imul(protoKey ^ keys[12], keys[13])) | 0);
}

/** Seeds for the address hash and the flow hash's keys, derived from one 32-bit table seed. */
export function deriveSeeds(seed: number): { addrSeed: number; flowSeed: number } {
  return { addrSeed: fmix32(seed ^ 0x2545f491), flowSeed: fmix32(mixIn(seed, 0x61c88647)) };
}
