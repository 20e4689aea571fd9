/**
 * CoDel, the Controlled Delay AQM of RFC 8289, one instance per sub-queue.
 *
 * CoDel looks at how long the packet at the head waited (its sojourn time). While that stays above
 * `target` for a whole `interval`, the queue is standing rather than absorbing a burst, and CoDel
 * starts dropping (or, for ECN-capable packets when enabled, marking CE) one packet, then more often:
 * the next drop comes interval/sqrt(count) later, until the sojourn falls below target. When it
 * re-enters the dropping state soon after leaving it, it resumes from the previous drop rate rather
 * than from one, as the RFC and Linux do.
 *
 * The algorithm is kept apart from the queue it works on: it takes `now` and a CodelQueue that can
 * pop, measure, drop and mark, and owns only its per-sub-queue state (typed arrays). The control law
 * costs a square root per drop, never per packet.
 */

/** What CoDel needs from the queue it manages. Implemented by the scheduler. */
export interface CodelQueue {
  /** Unlinks the head packet of sub-queue sq; -1 when empty. */
  codelPop(sq: number): number;
  /** When packet slot p was queued, µs. */
  codelEnqueuedUs(p: number): number;
  /** Bytes still queued in sq (after the pop). */
  codelBacklogBytes(sq: number): number;
  /** Drops packet slot p (already unlinked), counting it as a CoDel drop. */
  codelDrop(p: number): void;
  /** Marks packet slot p CE if it is ECN-capable; false if it is not. */
  codelMark(p: number): boolean;
}

export class CodelState {
  /** Time the sojourn first stayed above target plus interval; 0 when below target. µs. */
  readonly firstAboveUs: Float64Array;
  /** When the next drop is due while dropping, µs. */
  readonly dropNextUs: Float64Array;
  /** Drops since entering the dropping state, and the count when it was last entered. */
  readonly count: Uint32Array;
  readonly lastCount: Uint32Array;
  readonly dropping: Uint8Array;
  /** Whether the packet the last dequeue returned must leave with CE set. */
  marked = false;

  constructor(capacity: number) {
    this.firstAboveUs = new Float64Array(capacity);
    this.dropNextUs = new Float64Array(capacity);
    this.count = new Uint32Array(capacity);
    this.lastCount = new Uint32Array(capacity);
    this.dropping = new Uint8Array(capacity);
  }

  reset(sq: number): void {
    this.firstAboveUs[sq] = 0;
    this.dropNextUs[sq] = 0;
    this.count[sq] = 0;
    this.lastCount[sq] = 0;
    this.dropping[sq] = 0;
  }

  private controlLaw(t: number, intervalUs: number, count: number): number {
    return t + intervalUs / Math.sqrt(count);
  }

  /** RFC 8289's should_drop: has the sojourn stayed above target for an interval? */
  private okToDrop(
    sq: number,
    p: number,
    nowUs: number,
    q: CodelQueue,
    targetUs: number,
    intervalUs: number,
    mtuBytes: number,
  ): boolean {
    const sojournUs = nowUs - q.codelEnqueuedUs(p);
    if (sojournUs < targetUs || q.codelBacklogBytes(sq) <= mtuBytes) {
      this.firstAboveUs[sq] = 0;
      return false;
    }
    if (this.firstAboveUs[sq] === 0) {
      this.firstAboveUs[sq] = nowUs + intervalUs;
      return false;
    }
    return nowUs >= this.firstAboveUs[sq];
  }

  /**
   * Pops the next packet of sq to send, dropping or marking as CoDel decides. Returns the packet
   * slot, or -1 when the sub-queue ran empty; afterwards `marked` says whether it must leave with CE
   * set. Drops per call are bounded by the packets in the sub-queue.
   */
  dequeue(
    sq: number,
    nowUs: number,
    q: CodelQueue,
    targetUs: number,
    intervalUs: number,
    ecn: boolean,
    mtuBytes: number,
  ): number {
    this.marked = false;
    let p = q.codelPop(sq);
    if (p < 0) {
      this.dropping[sq] = 0;
      return -1;
    }
    const drop = this.okToDrop(sq, p, nowUs, q, targetUs, intervalUs, mtuBytes);
    if (this.dropping[sq] === 1) {
      if (!drop) {
        this.dropping[sq] = 0;
      } else {
        while (nowUs >= this.dropNextUs[sq] && this.dropping[sq] === 1) {
          this.count[sq]++;
          if (ecn && q.codelMark(p)) {
            this.marked = true;
            this.dropNextUs[sq] = this.controlLaw(this.dropNextUs[sq], intervalUs, this.count[sq]);
            return p;
          }
          q.codelDrop(p);
          p = q.codelPop(sq);
          if (p < 0) {
            this.dropping[sq] = 0;
            return -1;
          }
          if (!this.okToDrop(sq, p, nowUs, q, targetUs, intervalUs, mtuBytes)) this.dropping[sq] = 0;
          else this.dropNextUs[sq] = this.controlLaw(this.dropNextUs[sq], intervalUs, this.count[sq]);
        }
      }
    } else if (drop) {
      if (ecn && q.codelMark(p)) {
        this.marked = true;
      } else {
        q.codelDrop(p);
        p = q.codelPop(sq);
        // Called for its side effect: it restarts the above-target clock for the new head.
        if (p >= 0) this.okToDrop(sq, p, nowUs, q, targetUs, intervalUs, mtuBytes);
      }
      this.dropping[sq] = 1;
      // Resume near the previous drop rate if the last dropping episode ended recently.
      const delta = this.count[sq] - this.lastCount[sq];
      this.count[sq] = delta > 1 && nowUs - this.dropNextUs[sq] < 16 * intervalUs ? delta : 1;
      this.lastCount[sq] = this.count[sq];
      this.dropNextUs[sq] = this.controlLaw(nowUs, intervalUs, this.count[sq]);
      if (p < 0) {
        this.dropping[sq] = 0;
        return -1;
      }
    }
    return p;
  }
}
