/**
 * Sub-queues: the FIFOs inside a leaf class, one per flow, per host or one for the class (by its
 * fairness), found by (class, key) through an open-addressing hash index. All state is in typed
 * arrays indexed by sub-queue id; ids come from a fixed pool (maxSubqueues).
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

const EMPTY = -1;

export class SubqueueTable {
  readonly cls: Int32Array;
  readonly key: Float64Array;
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly bytes: Float64Array;
  readonly packets: Int32Array;
  /** DRR deficit among the sub-queues of one leaf, bytes. */
  readonly deficit: Float64Array;
  readonly where: Uint8Array;
  /** Link in the leaf's new or old list. */
  readonly listNext: Int32Array;
  /** Doubly linked list of the sub-queues of a leaf that hold packets (for finding the fattest). */
  readonly memberNext: Int32Array;
  readonly memberPrev: Int32Array;
  /** Last time a packet entered or left, µs (for reclaiming idle sub-queues). */
  readonly lastActiveUs: Float64Array;
  /** Per-flow ceiling bucket: credit in µs of sending time and when it was last brought up to date. */
  readonly tokensUs: Float64Array;
  readonly tokensAtUs: Float64Array;
  /** 1 while the id is allocated. */
  readonly live: Uint8Array;

  private readonly index: Int32Array;
  private readonly indexMask: number;
  private readonly free: Int32Array;
  private freeTop: number;
  private sweepCursor = 0;
  allocated = 0;

  constructor(readonly capacity: number) {
    this.cls = new Int32Array(capacity);
    this.key = new Float64Array(capacity);
    this.head = new Int32Array(capacity).fill(EMPTY);
    this.tail = new Int32Array(capacity).fill(EMPTY);
    this.bytes = new Float64Array(capacity);
    this.packets = new Int32Array(capacity);
    this.deficit = new Float64Array(capacity);
    this.where = new Uint8Array(capacity);
    this.listNext = new Int32Array(capacity).fill(EMPTY);
    this.memberNext = new Int32Array(capacity).fill(EMPTY);
    this.memberPrev = new Int32Array(capacity).fill(EMPTY);
    this.lastActiveUs = new Float64Array(capacity);
    this.tokensUs = new Float64Array(capacity);
    this.tokensAtUs = new Float64Array(capacity);
    this.live = new Uint8Array(capacity);
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
    let i = this.slotOf(cls, key);
    for (;;) {
      const id = this.index[i];
      if (id === EMPTY) return EMPTY;
      if (this.cls[id] === cls && this.key[id] === key) return id;
      i = (i + 1) & this.indexMask;
    }
  }

  /** Allocates the sub-queue for (cls, key) with a full per-flow bucket; -1 when none can be had. */
  alloc(cls: number, key: number, fullTokensUs: number, nowUs: number, reclaimAfterUs: number): number {
    // Out of ids: reclaim the idle ones, and under a flood of new flows even the recently idle.
    if (this.freeTop === 0 && this.sweep(nowUs, reclaimAfterUs, this.capacity) === 0) this.sweep(nowUs, 0, this.capacity);
    if (this.freeTop === 0) return EMPTY;
    const id = this.free[--this.freeTop];
    this.live[id] = 1;
    this.allocated++;
    this.cls[id] = cls;
    this.key[id] = key;
    this.head[id] = EMPTY;
    this.tail[id] = EMPTY;
    this.bytes[id] = 0;
    this.packets[id] = 0;
    this.deficit[id] = 0;
    this.where[id] = SqWhere.NONE;
    this.listNext[id] = EMPTY;
    this.lastActiveUs[id] = nowUs;
    this.tokensUs[id] = fullTokensUs;
    this.tokensAtUs[id] = nowUs;
    let i = this.slotOf(cls, key);
    while (this.index[i] !== EMPTY) i = (i + 1) & this.indexMask;
    this.index[i] = id;
    return id;
  }

  /** Frees an idle sub-queue; backward-shift deletion keeps every probe chain intact. */
  private release(id: number): void {
    let i = this.slotOf(this.cls[id], this.key[id]);
    while (this.index[i] !== id) i = (i + 1) & this.indexMask;
    let j = i;
    for (;;) {
      j = (j + 1) & this.indexMask;
      const other = this.index[j];
      if (other === EMPTY) break;
      const home = this.slotOf(this.cls[other], this.key[other]);
      // Move `other` back into the hole at i unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        this.index[i] = other;
        i = j;
      }
    }
    this.index[i] = EMPTY;
    this.live[id] = 0;
    this.allocated--;
    this.free[this.freeTop++] = id;
  }

  /**
   * Reclaims idle sub-queues (no packets, in no list, quiet for reclaimAfterUs) among the next
   * `maxVisits` ids. Returns how many were reclaimed.
   */
  sweep(nowUs: number, reclaimAfterUs: number, maxVisits: number): number {
    let reclaimed = 0;
    for (let n = 0; n < maxVisits; n++) {
      const id = this.sweepCursor;
      this.sweepCursor = id + 1 === this.capacity ? 0 : id + 1;
      if (
        this.live[id] === 1 &&
        this.packets[id] === 0 &&
        this.where[id] === SqWhere.NONE &&
        nowUs - this.lastActiveUs[id] >= reclaimAfterUs
      ) {
        this.release(id);
        reclaimed++;
      }
    }
    return reclaimed;
  }

  push(id: number, p: number, pool: PacketPool): void {
    if (this.tail[id] === EMPTY) this.head[id] = p;
    else pool.next[this.tail[id]] = p;
    this.tail[id] = p;
    this.packets[id]++;
    this.bytes[id] += pool.wireBytes[p];
  }

  /** Unlinks and returns the head packet slot, or -1 when empty. The caller releases the slot. */
  shift(id: number, pool: PacketPool): number {
    const p = this.head[id];
    if (p === EMPTY) return EMPTY;
    this.head[id] = pool.next[p];
    if (this.head[id] === EMPTY) this.tail[id] = EMPTY;
    this.packets[id]--;
    this.bytes[id] -= pool.wireBytes[p];
    return p;
  }
}
