/**
 * Several doubly linked lists threaded through the flow table's slots, in typed arrays: a slot is in
 * at most one list, and every operation is O(1). The flow table keeps one list per timeout class and
 * moves a flow to its list's tail on every packet, so each list runs from least to most recently
 * seen (given a clock that does not go backwards).
 */

/** Value of listOf for a slot that is in no list. */
export const NO_LIST = 255;

export class LruLists {
  /** Previous / next slot in the slot's list, -1 at the ends. */
  readonly prev: Int32Array;
  readonly next: Int32Array;
  /** The list each slot is in, or NO_LIST. */
  readonly listOf: Uint8Array;
  /** First (least recently touched) and last slot of each list, -1 when empty. */
  readonly head: Int32Array;
  readonly tail: Int32Array;

  constructor(slots: number, lists: number) {
    this.prev = new Int32Array(slots).fill(-1);
    this.next = new Int32Array(slots).fill(-1);
    this.listOf = new Uint8Array(slots).fill(NO_LIST);
    this.head = new Int32Array(lists).fill(-1);
    this.tail = new Int32Array(lists).fill(-1);
  }

  /** Append a slot that is in no list to the tail of `list`. */
  push(slot: number, list: number): void {
    const t = this.tail[list];
    this.prev[slot] = t;
    this.next[slot] = -1;
    this.listOf[slot] = list;
    if (t < 0) this.head[list] = slot;
    else this.next[t] = slot;
    this.tail[list] = slot;
  }

  /** Take a slot out of its list. */
  unlink(slot: number): void {
    const list = this.listOf[slot];
    const p = this.prev[slot];
    const n = this.next[slot];
    if (p < 0) this.head[list] = n;
    else this.next[p] = n;
    if (n < 0) this.tail[list] = p;
    else this.prev[n] = p;
    this.listOf[slot] = NO_LIST;
  }

  /** Move a listed slot to the tail of `list` (its own list or another). */
  touch(slot: number, list: number): void {
    if (this.listOf[slot] === list && this.tail[list] === slot) return;
    this.unlink(slot);
    this.push(slot, list);
  }
}
