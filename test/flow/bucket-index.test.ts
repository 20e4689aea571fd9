// The open-addressing index: backward-shift deletion keeps every remaining entry reachable from its
// home bucket, also across the wrap at the end of the array and with heavy clustering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BucketIndex } from '../../src/flow/bucket-index.js';

/** Slots in bucket order (-1 for empty), buckets [from, to) with wrap-around. */
function slotsAt(ix: BucketIndex, from: number, to: number): number[] {
  const out: number[] = [];
  for (let b = from; b !== to; b = (b + 1) % ix.bucketCount) out.push(ix.buckets[2 * b]);
  return out;
}

/**
 * Every indexed slot sits beside the hash it was inserted with and is reachable from its home without
 * crossing an empty bucket; returns the set of indexed slots.
 */
function checkReachable(ix: BucketIndex, hashOf: Int32Array): Set<number> {
  const present = new Set<number>();
  for (let pos = 0; pos < ix.buckets.length; pos += 2) {
    const slot = ix.buckets[pos];
    if (slot < 0) continue;
    assert.equal(present.has(slot), false, `slot ${slot} indexed twice`);
    present.add(slot);
    assert.equal(ix.buckets[pos + 1], hashOf[slot], `slot ${slot} stored with another hash`);
    for (let i = ix.bucketOf(hashOf[slot]); i !== pos; i = (i + 2) & ix.mask) {
      assert.ok(ix.buckets[i] >= 0, `slot ${slot} at ${pos} cut off from its home ${ix.bucketOf(hashOf[slot])} by an empty bucket at ${i}`);
    }
  }
  return present;
}

test('sizes the bucket array to a power of two at least twice the slots', () => {
  for (const [slots, buckets] of [[1, 2], [2, 4], [3, 8], [1000, 2048], [1024, 2048]]) {
    assert.equal(new BucketIndex(slots).bucketCount, buckets);
  }
});

test('removing from a run that wraps past the end shifts the right entries back', () => {
  const hashOf = new Int32Array(8);
  const ix = new BucketIndex(8); // 16 buckets
  const homes = [14, 14, 15, 14, 0, 1, 15];
  homes.forEach((h, slot) => {
    hashOf[slot] = h | (slot << 8); // high bits differ, home bucket is h
    ix.insert(slot, hashOf[slot]);
  });
  assert.deepEqual(slotsAt(ix, 14, 5), [0, 1, 2, 3, 4, 5, 6]);
  ix.remove(1, hashOf[1]);
  assert.deepEqual(checkReachable(ix, hashOf), new Set([0, 2, 3, 4, 5, 6]));
  ix.remove(0, hashOf[0]);
  ix.remove(4, hashOf[4]);
  assert.deepEqual(checkReachable(ix, hashOf), new Set([2, 3, 5, 6]));
  // Entries whose home is at or after the hole stay put: slot 5 (home 1) never moves before 1.
  assert.ok(slotsAt(ix, 1, 4).includes(5));
  for (const slot of [2, 3, 5, 6]) ix.remove(slot, hashOf[slot]);
  assert.deepEqual(slotsAt(ix, 0, 15), Array(15).fill(-1));
});

test('random inserts and removals with clustered homes keep every entry reachable', () => {
  const slots = 64;
  const hashOf = new Int32Array(slots);
  const ix = new BucketIndex(slots);
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed % n;
  };
  const present = new Set<number>();
  for (let op = 0; op < 20_000; op++) {
    const slot = rand(slots);
    if (present.has(slot)) {
      ix.remove(slot, hashOf[slot]);
      present.delete(slot);
    } else {
      // Homes in a few clusters, two of them straddling the wrap.
      hashOf[slot] = ([126, 127, 0, 1, 40, 41, 90][rand(7)] + rand(3)) | (rand(1 << 20) << 8);
      ix.insert(slot, hashOf[slot]);
      present.add(slot);
    }
    if (op % 50 === 0) assert.deepEqual(checkReachable(ix, hashOf), present);
  }
  assert.deepEqual(checkReachable(ix, hashOf), present);
});
