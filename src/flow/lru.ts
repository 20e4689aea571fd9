/**
 * Several doubly linked lists threaded through the flow table's slot records: each slot's record (an
 * Int32Array of `stride` ints per slot) holds its previous and next slot and the list it is in, next
 * to the fields a lookup reads anyway, so moving a flow costs no extra cache line for itself (only
 * its neighbours' and the tail's). A slot is in at most one list, and every operation is O(1). The
 * flow table keeps one list per timeout class, in the order flows were last linked (idle-order.ts).
 */

/** List number of a slot that is in no list. */
export const NO_LIST = 255;

export class LruLists {
  /** First (least recently linked) and last slot of each list, -1 when empty. */
  readonly head: Int32Array;
  readonly tail: Int32Array;
  private readonly rec: Int32Array;
  private readonly stride: number;
  /** Offsets in a record of the previous slot, the next slot (-1 at the ends) and the list number. */
  private readonly prevAt: number;
  private readonly nextAt: number;
  private readonly listAt: number;

  /** Lists over `slots` records in rec; marks every slot as in no list. */
  constructor(rec: Int32Array, stride: number, prevAt: number, nextAt: number, listAt: number, slots: number, lists: number) {
    this.rec = rec;
    this.stride = stride;
    this.prevAt = prevAt;
    this.nextAt = nextAt;
    this.listAt = listAt;
    this.head = new Int32Array(lists).fill(-1);
    this.tail = new Int32Array(lists).fill(-1);
    for (let s = 0; s < slots; s++) rec[s * stride + listAt] = NO_LIST;
  }

  /** The list a slot is in, or NO_LIST. */
  listOf(slot: number): number {
    return this.rec[slot * this.stride + this.listAt];
  }

  /** Append a slot that is in no list to the tail of `list`. */
  push(slot: number, list: number): void {
    const rec = this.rec;
    const o = slot * this.stride;
    const t = this.tail[list];
    rec[o + this.prevAt] = t;
    rec[o + this.nextAt] = -1;
    rec[o + this.listAt] = list;
    if (t < 0) this.head[list] = slot;
    else rec[t * this.stride + this.nextAt] = slot;
    this.tail[list] = slot;
  }

  /** Take a slot out of its list. */
  unlink(slot: number): void {
    const rec = this.rec;
    const stride = this.stride;
    const o = slot * stride;
    const list = rec[o + this.listAt];
    const p = rec[o + this.prevAt];
    const n = rec[o + this.nextAt];
    if (p < 0) this.head[list] = n;
    else rec[p * stride + this.nextAt] = n;
    if (n < 0) this.tail[list] = p;
    else rec[n * stride + this.prevAt] = p;
    rec[o + this.listAt] = NO_LIST;
  }

  /** Move a listed slot to the tail of `list` (its own list or another). */
  touch(slot: number, list: number): void {
    if (this.tail[list] === slot) return;
    this.unlink(slot);
    this.push(slot, list);
  }
}
