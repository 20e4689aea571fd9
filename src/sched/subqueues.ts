/**
 * Sub-queues: the FIFOs inside a leaf class, one per flow, per host or one for the class (by its
 * fairness), found by (class, key) through an open-addressing hash index. Ids come from a fixed pool
 * (maxSubqueues).
 *
 * Layout. With thousands of flows a packet's sub-queue is rarely in cache, so its state is packed
 * into one 128-byte record — sixteen int32 (`i32`, fields I_*) then eight float64 (`f64`, fields
 * F_*) — rather than one typed array per field: enqueue and dequeue touch two adjacent cache lines,
 * not fifteen scattered ones.
 * CoDel keeps its per-queue state in the same records (codel.ts reads the C_* fields).
 *
 * A sub-queue outlives its last packet: it keeps its CoDel memory and, with a per-flow ceiling, its
 * token debt, so that a flow which empties its queue between packets cannot start afresh with a
 * full bucket each time (that would let it exceed flow_ceil). Idle sub-queues are reclaimed by a
 * sweep that visits a few ids per call (cost bounded per packet), or all at once when the pool runs
 * dry (rare: the pool is much larger than the number of packets held).
 */
import type { PacketPool } from './packets.js';

/** Where a sub-queue is: in no list, the leaf's new-flows list, its old-flows list, or throttled. */
export const enum SqWhere {
  NONE = 0,
  NEW = 1,
  OLD = 2,
  THROTTLED = 3,
}

/**
 * Each sub-queue has one 128-byte record in one buffer, seen as int32 (the first 64 bytes, fields
 * I_* and C_COUNT..C_DROPPING) and as float64 (the last 64 bytes, fields F_* and C_FIRST_ABOVE,
 * C_DROP_NEXT): the two halves sit on adjacent cache lines. SQ_INTS and SQ_FLOATS are the record's
 * stride in each view.
 */
export const SQ_INTS = 32;
/** The leaf class. */
export const I_CLS = 0;
/** First and last packet slot, -1 when empty. */
export const I_HEAD = 1;
const I_TAIL = 2;
export const I_PACKETS = 3;
/** SqWhere. */
export const I_WHERE = 4;
/** Link in the leaf's new or old list. */
export const I_LIST_NEXT = 5;
/** 1 while the id is allocated. */
const I_LIVE = 8;
/** CoDel: drops since entering the dropping state, the count when last entered, dropping (0/1). */
export const C_COUNT = 9;
export const C_LAST_COUNT = 10;
export const C_DROPPING = 11;

export const SQ_FLOATS = 16;
/** The key: flow id, host hash or 0 (any safe integer). */
export const F_KEY = 8;
export const F_BYTES = 9;
/** DRR deficit among the sub-queues of one leaf, bytes. */
export const F_DEFICIT = 10;
/** Last time a packet entered or left, µs (for reclaiming idle sub-queues). */
export const F_LAST_ACTIVE = 11;
/** Per-flow ceiling bucket: credit in µs of sending time, and when it was last brought up to date. */
export const F_TOKENS = 12;
export const F_TOKENS_AT = 13;
/** CoDel: when the sojourn first stayed above target plus interval (0: below), next drop time; µs. */
export const C_FIRST_ABOVE = 14;
export const C_DROP_NEXT = 15;

const EMPTY = -1;

export class SubqueueTable {
  readonly i32: Int32Array;
  readonly f64: Float64Array;

  private readonly index: Int32Array;
  private readonly indexMask: number;
  private readonly free: Int32Array;
  private freeTop: number;
  private sweepCursor = 0;
  allocated = 0;

  constructor(readonly capacity: number) {
    const records = new ArrayBuffer(capacity * 128);
    this.i32 = new Int32Array(records);
    this.f64 = new Float64Array(records);
    let size = 2;
    while (size < capacity * 2) size <<= 1;
    this.index = new Int32Array(size).fill(EMPTY);
    this.indexMask = size - 1;
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeTop = capacity;
  }

  private slotOf(cls: number, key: number): number {
    // key is a uint32 (flow id, address hash) or any safe integer; mix both halves with the class.
    let h = Math.imul(cls + 1, 0x9e3779b1) ^ (key >>> 0) ^ Math.imul((key / 4294967296) | 0, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    return (h ^ (h >>> 16)) & this.indexMask;
  }

  /** The sub-queue for (cls, key), or -1. */
  find(cls: number, key: number): number {
    const index = this.index;
    let i = this.slotOf(cls, key);
    for (;;) {
      const id = index[i];
      if (id === EMPTY) return EMPTY;
      if (this.i32[id * SQ_INTS + I_CLS] === cls && this.f64[id * SQ_FLOATS + F_KEY] === key) return id;
      i = (i + 1) & this.indexMask;
    }
  }

  /** Allocates the sub-queue for (cls, key) with a full per-flow bucket and fresh CoDel state; -1 when none can be had. */
  alloc(cls: number, key: number, fullTokensUs: number, nowUs: number, reclaimAfterUs: number): number {
    // Out of ids: reclaim the idle ones, and under a flood of new flows even the recently idle.
    if (this.freeTop === 0 && this.sweep(nowUs, reclaimAfterUs, this.capacity) === 0) this.sweep(nowUs, 0, this.capacity);
    if (this.freeTop === 0) return EMPTY;
    const id = this.free[--this.freeTop];
    this.allocated++;
    const i = id * SQ_INTS;
    this.i32.fill(0, i, i + 16);
    this.i32[i + I_CLS] = cls;
    this.i32[i + I_HEAD] = EMPTY;
    this.i32[i + I_TAIL] = EMPTY;
    this.i32[i + I_LIST_NEXT] = EMPTY;
    this.i32[i + I_LIVE] = 1;
    const f = id * SQ_FLOATS;
    this.f64.fill(0, f + 8, f + 16);
    this.f64[f + F_KEY] = key;
    this.f64[f + F_LAST_ACTIVE] = nowUs;
    this.f64[f + F_TOKENS] = fullTokensUs;
    this.f64[f + F_TOKENS_AT] = nowUs;
    let slot = this.slotOf(cls, key);
    while (this.index[slot] !== EMPTY) slot = (slot + 1) & this.indexMask;
    this.index[slot] = id;
    return id;
  }

  /** The index slot where (cls, key) of sub-queue id would sit without collisions. */
  private homeOf(id: number): number {
    return this.slotOf(this.i32[id * SQ_INTS + I_CLS], this.f64[id * SQ_FLOATS + F_KEY]);
  }

  /** Frees an idle sub-queue; backward-shift deletion keeps every probe chain intact. */
  private release(id: number): void {
    let i = this.homeOf(id);
    while (this.index[i] !== id) i = (i + 1) & this.indexMask;
    let j = i;
    for (;;) {
      j = (j + 1) & this.indexMask;
      const other = this.index[j];
      if (other === EMPTY) break;
      const h = this.homeOf(other);
      // Move `other` back into the hole at i unless its home lies cyclically in (i, j].
      if (i <= j ? h <= i || h > j : h <= i && h > j) {
        this.index[i] = other;
        i = j;
      }
    }
    this.index[i] = EMPTY;
    this.i32[id * SQ_INTS + I_LIVE] = 0;
    this.allocated--;
    this.free[this.freeTop++] = id;
  }

  /**
   * Reclaims idle sub-queues (no packets, in no list, quiet for reclaimAfterUs) among the next
   * `maxVisits` ids. Returns how many were reclaimed. Not per packet: only once the pool is half used.
   */
  sweep(nowUs: number, reclaimAfterUs: number, maxVisits: number): number {
    let reclaimed = 0;
    const i32 = this.i32;
    for (let n = 0; n < maxVisits; n++) {
      const id = this.sweepCursor;
      this.sweepCursor = id + 1 === this.capacity ? 0 : id + 1;
      const i = id * SQ_INTS;
      if (
        i32[i + I_LIVE] === 1 &&
        i32[i + I_PACKETS] === 0 &&
        i32[i + I_WHERE] === SqWhere.NONE &&
        nowUs - this.f64[id * SQ_FLOATS + F_LAST_ACTIVE] >= reclaimAfterUs
      ) {
        this.release(id);
        reclaimed++;
      }
    }
    return reclaimed;
  }

  push(id: number, p: number, pool: PacketPool): void {
    const i = id * SQ_INTS;
    const tail = this.i32[i + I_TAIL];
    if (tail === EMPTY) this.i32[i + I_HEAD] = p;
    else pool.next[tail] = p;
    this.i32[i + I_TAIL] = p;
    this.i32[i + I_PACKETS]++;
    this.f64[id * SQ_FLOATS + F_BYTES] += pool.wireBytes[p];
  }

  /** Unlinks and returns the head packet slot, or -1 when empty. The caller releases the slot. */
  shift(id: number, pool: PacketPool): number {
    const i = id * SQ_INTS;
    const p = this.i32[i + I_HEAD];
    if (p === EMPTY) return EMPTY;
    const next = pool.next[p];
    this.i32[i + I_HEAD] = next;
    if (next === EMPTY) this.i32[i + I_TAIL] = EMPTY;
    this.i32[i + I_PACKETS]--;
    this.f64[id * SQ_FLOATS + F_BYTES] -= pool.wireBytes[p];
    return p;
  }

  packets(id: number): number {
    return this.i32[id * SQ_INTS + I_PACKETS];
  }

  bytes(id: number): number {
    return this.f64[id * SQ_FLOATS + F_BYTES];
  }
}
