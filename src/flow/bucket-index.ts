/**
 * The open-addressing index from a flow hash to a table slot: a power-of-two Int32Array of slot
 * numbers (-1 empty), linear probing, at least twice as many buckets as slots so that the load factor
 * stays at or under 1/2 and probe chains stay short (expected under 2.5 probes for a miss).
 *
 * Deletion is by backward shift (Knuth's Algorithm R), not tombstones: after an entry leaves, later
 * entries of the same probe run move back into the hole, so a lookup may always stop at the first
 * empty bucket and the table never needs rehashing however many flows come and go.
 *
 * Searching compares flow keys, which live in the flow table, so the table probes `buckets` itself;
 * this class owns insertion and deletion. `hashOf[slot]` (the table's stored hash per slot) gives each
 * entry's home bucket.
 */

export class BucketIndex {
  /** Slot number per bucket, -1 for empty. */
  readonly buckets: Int32Array;
  /** buckets.length - 1. */
  readonly mask: number;
  private readonly hashOf: Int32Array;

  constructor(slots: number, hashOf: Int32Array) {
    let n = 2;
    while (n < 2 * slots) n *= 2;
    this.buckets = new Int32Array(n).fill(-1);
    this.mask = n - 1;
    this.hashOf = hashOf;
  }

  /** Add a slot whose hash (already in hashOf[slot]) is `hash`. The slot must not be indexed yet. */
  insert(slot: number, hash: number): void {
    const b = this.buckets;
    const mask = this.mask;
    let i = hash & mask;
    while (b[i] >= 0) i = (i + 1) & mask;
    b[i] = slot;
  }

  /** Remove an indexed slot. Costs the probe run it sits in. */
  remove(slot: number): void {
    const b = this.buckets;
    const mask = this.mask;
    const hashOf = this.hashOf;
    let hole = hashOf[slot] & mask;
    while (b[hole] !== slot) hole = (hole + 1) & mask;
    // Walk the rest of the run; an entry may fill the hole if its home is not cyclically in (hole, j].
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const s = b[j];
      if (s < 0) break;
      const home = hashOf[s] & mask;
      const homeInGap = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!homeInGap) {
        b[hole] = s;
        hole = j;
      }
    }
    b[hole] = -1;
  }
}
