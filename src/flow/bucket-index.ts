/**
 * The open-addressing index from a flow hash to a table slot: a power-of-two number of buckets, at
 * least twice the slots so that the load factor stays at or under 1/2 and probe chains stay short
 * (expected under 2.5 probes for a miss), linear probing. Each bucket is two int32s in one array,
 * [slot, hash] (slot -1 when empty): a probe compares hashes without touching the flow's record, so
 * only a real match costs a second cache line.
 *
 * Deletion is by backward shift (Knuth's Algorithm R), not tombstones: after an entry leaves, later
 * entries of the same probe run move back into the hole, so a lookup may always stop at the first
 * empty bucket and the table never needs rehashing however many flows come and go.
 *
 * Searching compares flow keys, which live in the flow table, so the table probes `buckets` itself
 * (start at bucketOf(hash), step 2, wrap with `mask`); this class owns insertion and deletion.
 */

export class BucketIndex {
  /** [slot, hash] per bucket; slot -1 for empty. */
  readonly buckets: Int32Array;
  /** Mask that wraps an index into buckets (2 * bucket count - 1; indexes stay even). */
  readonly mask: number;

  constructor(slots: number) {
    let n = 2;
    while (n < 2 * slots) n *= 2;
    this.buckets = new Int32Array(2 * n);
    for (let i = 0; i < 2 * n; i += 2) this.buckets[i] = -1;
    this.mask = 2 * n - 1;
  }

  /** Number of buckets. */
  get bucketCount(): number {
    return this.buckets.length >> 1;
  }

  /** Index in buckets of the home bucket of `hash`. */
  bucketOf(hash: number): number {
    return (hash << 1) & this.mask;
  }

  /** Add a slot with this hash. The slot must not be indexed yet. */
  insert(slot: number, hash: number): void {
    const b = this.buckets;
    const mask = this.mask;
    let i = (hash << 1) & mask;
    while (b[i] >= 0) i = (i + 2) & mask;
    b[i] = slot;
    b[i + 1] = hash;
  }

  /** Remove an indexed slot, given the hash it was inserted with. Costs the probe run it sits in. */
  remove(slot: number, hash: number): void {
    const b = this.buckets;
    const mask = this.mask;
    let hole = (hash << 1) & mask;
    while (b[hole] !== slot) hole = (hole + 2) & mask;
    // Walk the rest of the run; an entry may fill the hole if its home is not cyclically in (hole, j].
    let j = hole;
    for (;;) {
      j = (j + 2) & mask;
      const s = b[j];
      if (s < 0) break;
      const home = (b[j + 1] << 1) & mask;
      const homeInGap = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!homeInGap) {
        b[hole] = s;
        b[hole + 1] = b[j + 1];
        hole = j;
      }
    }
    b[hole] = -1;
  }
}
