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

import { C_COUNT, C_DROP_NEXT, C_DROPPING, C_FIRST_ABOVE, C_LAST_COUNT, SQ_FLOATS, SQ_INTS, type SubqueueTable } from './subqueues.js';

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

/**
 * CoDel's per-sub-queue state lives in the sub-queue's own records (subqueues.ts: C_* fields), so a
 * dequeue touches no extra cache lines for it.
 */
export class CodelState {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  /** Whether the packet the last dequeue returned must leave with CE set. */
  marked = false;
  /**
   * The time and the sub-queue's parameters for the next dequeue, set by the caller just before it,
   * µs. Fields rather than arguments: a float argument to a call V8 does not inline is boxed on the
   * heap, an allocation per packet.
   */
  nowUs = 0;
  targetUs = 0;
  intervalUs = 0;

  constructor(sqs: SubqueueTable) {
    this.i32 = sqs.i32;
    this.f64 = sqs.f64;
  }

  private controlLaw(t: number, intervalUs: number, count: number): number {
    return t + intervalUs / Math.sqrt(count);
  }

  /** RFC 8289's should_drop: has the sojourn stayed above target for an interval? */
  private okToDrop(sq: number, p: number, q: CodelQueue, mtuBytes: number): boolean {
    const f = sq * SQ_FLOATS;
    const nowUs = this.nowUs;
    const intervalUs = this.intervalUs;
    const targetUs = this.targetUs;
    const sojournUs = nowUs - q.codelEnqueuedUs(p);
    if (sojournUs < targetUs || q.codelBacklogBytes(sq) <= mtuBytes) {
      this.f64[f + C_FIRST_ABOVE] = 0;
      return false;
    }
    if (this.f64[f + C_FIRST_ABOVE] === 0) {
      this.f64[f + C_FIRST_ABOVE] = nowUs + intervalUs;
      return false;
    }
    return nowUs >= this.f64[f + C_FIRST_ABOVE];
  }

  /**
   * Pops the next packet of sq to send, dropping or marking as CoDel decides. Returns the packet
   * slot, or -1 when the sub-queue ran empty; afterwards `marked` says whether it must leave with CE
   * set. Drops per call are bounded by the packets in the sub-queue.
   */
  dequeue(sq: number, q: CodelQueue, ecn: boolean, mtuBytes: number): number {
    const nowUs = this.nowUs;
    const intervalUs = this.intervalUs;
    const i = sq * SQ_INTS;
    const f = sq * SQ_FLOATS;
    this.marked = false;
    let p = q.codelPop(sq);
    if (p < 0) {
      this.i32[i + C_DROPPING] = 0;
      return -1;
    }
    const drop = this.okToDrop(sq, p, q, mtuBytes);
    if (this.i32[i + C_DROPPING] === 1) {
      if (!drop) {
        this.i32[i + C_DROPPING] = 0;
      } else {
        while (nowUs >= this.f64[f + C_DROP_NEXT] && this.i32[i + C_DROPPING] === 1) {
          this.i32[i + C_COUNT]++;
          if (ecn && q.codelMark(p)) {
            this.marked = true;
            this.f64[f + C_DROP_NEXT] = this.controlLaw(this.f64[f + C_DROP_NEXT], intervalUs, this.i32[i + C_COUNT]);
            return p;
          }
          q.codelDrop(p);
          p = q.codelPop(sq);
          if (p < 0) {
            this.i32[i + C_DROPPING] = 0;
            return -1;
          }
          if (!this.okToDrop(sq, p, q, mtuBytes)) this.i32[i + C_DROPPING] = 0;
          else this.f64[f + C_DROP_NEXT] = this.controlLaw(this.f64[f + C_DROP_NEXT], intervalUs, this.i32[i + C_COUNT]);
        }
      }
    } else if (drop) {
      if (ecn && q.codelMark(p)) {
        this.marked = true;
      } else {
        q.codelDrop(p);
        p = q.codelPop(sq);
        // Called for its side effect: it restarts the above-target clock for the new head.
        if (p >= 0) this.okToDrop(sq, p, q, mtuBytes);
      }
      this.i32[i + C_DROPPING] = 1;
      // Resume near the previous drop rate if the last dropping episode ended recently.
      const delta = this.i32[i + C_COUNT] - this.i32[i + C_LAST_COUNT];
      this.i32[i + C_COUNT] = delta > 1 && nowUs - this.f64[f + C_DROP_NEXT] < 16 * intervalUs ? delta : 1;
      this.i32[i + C_LAST_COUNT] = this.i32[i + C_COUNT];
      this.f64[f + C_DROP_NEXT] = this.controlLaw(nowUs, intervalUs, this.i32[i + C_COUNT]);
      if (p < 0) {
        this.i32[i + C_DROPPING] = 0;
        return -1;
      }
    }
    return p;
  }
}
