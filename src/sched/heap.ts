/**
 * An indexed binary min-heap of (time, id) in typed arrays: each id is in the heap at most once and
 * its time can be changed or removed in O(log n). The scheduler keeps two: classes waiting for
 * their tokens to change mode, and sub-queues throttled by a per-flow ceiling. Nothing allocates
 * after construction. Ties in time pop in no particular order.
 */
export class IndexedMinHeap {
  private readonly times: Float64Array;
  private readonly ids: Int32Array;
  /** Position of each id in the heap, -1 when absent. */
  private readonly pos: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.times = new Float64Array(capacity);
    this.ids = new Int32Array(capacity);
    this.pos = new Int32Array(capacity).fill(-1);
  }

  has(id: number): boolean {
    return this.pos[id] >= 0;
  }

  /** Time of the earliest entry, Infinity when empty. */
  peekTime(): number {
    return this.size > 0 ? this.times[0] : Infinity;
  }

  peekId(): number {
    return this.size > 0 ? this.ids[0] : -1;
  }

  /** The id at position i of the heap (0 <= i < size), for walking every entry; not in time order. */
  idAt(i: number): number {
    return this.ids[i];
  }

  /** Inserts id at time, or moves it there if present. */
  set(id: number, time: number): void {
    let i = this.pos[id];
    if (i < 0) {
      i = this.size++;
      this.ids[i] = id;
      this.times[i] = time;
      this.pos[id] = i;
      this.up(i);
      return;
    }
    const old = this.times[i];
    this.times[i] = time;
    if (time < old) this.up(i);
    else this.down(i);
  }

  remove(id: number): void {
    const i = this.pos[id];
    if (i < 0) return;
    this.pos[id] = -1;
    const last = --this.size;
    if (i === last) return;
    this.ids[i] = this.ids[last];
    this.times[i] = this.times[last];
    this.pos[this.ids[i]] = i;
    this.up(i);
    this.down(i);
  }

  /** Removes and returns the id of the earliest entry (-1 when empty). */
  pop(): number {
    if (this.size === 0) return -1;
    const id = this.ids[0];
    this.remove(id);
    return id;
  }

  private up(i: number): void {
    const times = this.times;
    const ids = this.ids;
    const pos = this.pos;
    const t = times[i];
    const id = ids[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p] <= t) break;
      times[i] = times[p];
      ids[i] = ids[p];
      pos[ids[i]] = i;
      i = p;
    }
    times[i] = t;
    ids[i] = id;
    pos[id] = i;
  }

  private down(i: number): void {
    const times = this.times;
    const ids = this.ids;
    const pos = this.pos;
    const n = this.size;
    const t = times[i];
    const id = ids[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && times[c + 1] < times[c]) c++;
      if (times[c] >= t) break;
      times[i] = times[c];
      ids[i] = ids[c];
      pos[ids[i]] = i;
      i = c;
    }
    times[i] = t;
    ids[i] = id;
    pos[id] = i;
  }
}
