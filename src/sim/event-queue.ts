/**
 * The simulator's clock and event queue: a binary min-heap of (time µs, sequence, kind, argument) in
 * parallel typed arrays. Events at equal times pop in the order they were pushed (the sequence number
 * breaks ties), so a run is deterministic. Capacity doubles when full (amortised: no allocation per
 * event once the queue has grown to the run's working size). Pushing and popping cost O(log n).
 */

export class EventQueue {
  /** Virtual time of the event being handled, µs. */
  nowUs = 0;
  size = 0;
  private times: Float64Array;
  private seqs: Float64Array;
  private kinds: Uint8Array;
  private args: Float64Array;
  private nextSeq = 0;
  /** Kind and argument of the event popped last. */
  kind = 0;
  arg = 0;

  constructor(capacity = 1024) {
    this.times = new Float64Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.kinds = new Uint8Array(capacity);
    this.args = new Float64Array(capacity);
  }

  /** Time of the earliest event, Infinity when empty. */
  peekTime(): number {
    return this.size > 0 ? this.times[0] : Infinity;
  }

  /** Schedules an event of `kind` with a numeric argument at timeUs (never before nowUs). */
  push(timeUs: number, kind: number, arg: number): void {
    if (this.size === this.times.length) this.grow();
    const t = timeUs < this.nowUs ? this.nowUs : timeUs;
    let i = this.size++;
    const seq = this.nextSeq++;
    // Sift up, moving parents down until the new entry's place is found.
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = this.times[p];
      if (pt < t || (pt === t && this.seqs[p] < seq)) break;
      this.move(p, i);
      i = p;
    }
    this.times[i] = t;
    this.seqs[i] = seq;
    this.kinds[i] = kind;
    this.args[i] = arg;
  }

  /**
   * Removes the earliest event, sets nowUs to its time and `kind` / `arg` to its fields. Returns false
   * when the queue is empty.
   */
  pop(): boolean {
    if (this.size === 0) return false;
    this.nowUs = this.times[0];
    this.kind = this.kinds[0];
    this.arg = this.args[0];
    const last = --this.size;
    if (last === 0) return true;
    const t = this.times[last];
    const seq = this.seqs[last];
    const kind = this.kinds[last];
    const arg = this.args[last];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      let c = l;
      if (r < last && (this.times[r] < this.times[l] || (this.times[r] === this.times[l] && this.seqs[r] < this.seqs[l]))) c = r;
      const ct = this.times[c];
      if (t < ct || (t === ct && seq < this.seqs[c])) break;
      this.move(c, i);
      i = c;
    }
    this.times[i] = t;
    this.seqs[i] = seq;
    this.kinds[i] = kind;
    this.args[i] = arg;
    return true;
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from];
    this.seqs[to] = this.seqs[from];
    this.kinds[to] = this.kinds[from];
    this.args[to] = this.args[from];
  }

  private grow(): void {
    const n = this.times.length * 2;
    const times = new Float64Array(n);
    const seqs = new Float64Array(n);
    const kinds = new Uint8Array(n);
    const args = new Float64Array(n);
    times.set(this.times);
    seqs.set(this.seqs);
    kinds.set(this.kinds);
    args.set(this.args);
    this.times = times;
    this.seqs = seqs;
    this.kinds = kinds;
    this.args = args;
  }
}
