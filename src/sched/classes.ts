/**
 * The class tree's arithmetic: per class, two token buckets kept in microseconds of sending time
 * (as the kernel's HTB does) — `tokens` at the guaranteed rate and `ctokens` at the ceiling — and
 * the mode they put the class in:
 *
 *   CAN_SEND    tokens >= 0 and ctokens >= 0: may send on its own rate;
 *   MAY_BORROW  tokens <  0 but ctokens >= 0: may send only with a lender's tokens;
 *   CANT_SEND   ctokens < 0: over its ceiling, must wait.
 *
 * Sending `b` bytes costs b * usPerByte µs of credit; credit grows by one µs per µs, up to the
 * burst. Both conversions are worked out once here, so the packet path multiplies, never divides.
 *
 * Levels order lenders as in HTB: a leaf sending on its own rate is level 0, an inner class lends at
 * 8 - depth (top-level classes 7, their children 6, ...), and the link itself lends at level 8.
 * Lower levels are served first, so guaranteed rates come before borrowing at every depth.
 */
import type { LinkSchedConfig } from './types.js';

export const enum Mode {
  CAN_SEND = 0,
  MAY_BORROW = 1,
  CANT_SEND = 2,
}

export const LINK_LEVEL = 8;
export const MAX_DEPTH = 7;
/** Groups are (level, prio) pairs: index level * 8 + prio, levels 0..8. */
export const GROUPS = (LINK_LEVEL + 1) * 8;

/** Credit within this much of zero counts as zero, so float rounding cannot leave a class stuck. */
const EPSILON_US = 1e-6;

export class ClassTree {
  readonly n: number;
  readonly parent: Int32Array;
  readonly isLeaf: Uint8Array;
  readonly level: Uint8Array;
  readonly prio: Uint8Array;
  readonly usPerByteRate: Float64Array;
  readonly usPerByteCeil: Float64Array;
  readonly burstUs: Float64Array;
  readonly cburstUs: Float64Array;
  readonly tokensUs: Float64Array;
  readonly ctokensUs: Float64Array;
  /** When the buckets were last brought up to date, µs. */
  readonly checkedUs: Float64Array;
  /** Extra room every bucket gets above its burst while the scheduler catches up on a late wake-up, µs (scheduler.ts). */
  catchUpUs = 0;
  readonly mode: Uint8Array;
  /** Leaves in depth-first order; the leaves under class c are leafOrder[subtreeStart[c] .. subtreeEnd[c]). */
  readonly leafOrder: Int32Array;
  readonly subtreeStart: Int32Array;
  readonly subtreeEnd: Int32Array;

  constructor(cfg: LinkSchedConfig) {
    const n = cfg.classes.length;
    this.n = n;
    this.parent = new Int32Array(n);
    this.isLeaf = new Uint8Array(n).fill(1);
    this.level = new Uint8Array(n);
    this.prio = new Uint8Array(n);
    this.usPerByteRate = new Float64Array(n);
    this.usPerByteCeil = new Float64Array(n);
    this.burstUs = new Float64Array(n);
    this.cburstUs = new Float64Array(n);
    this.tokensUs = new Float64Array(n);
    this.ctokensUs = new Float64Array(n);
    this.checkedUs = new Float64Array(n);
    this.mode = new Uint8Array(n);
    const depth = new Int32Array(n);
    const children: number[][] = [];
    for (let c = 0; c < n; c++) children.push([]);
    const tops: number[] = [];
    for (let c = 0; c < n; c++) {
      const k = cfg.classes[c];
      if (k.parent >= c) throw new Error(`class ${k.path}: parent must come before its children`);
      this.parent[c] = k.parent;
      if (k.parent >= 0) {
        this.isLeaf[k.parent] = 0;
        children[k.parent].push(c);
        depth[c] = depth[k.parent] + 1;
      } else {
        depth[c] = 1;
        tops.push(c);
      }
      if (depth[c] > MAX_DEPTH) throw new Error(`class ${k.path}: classes nest at most ${MAX_DEPTH} deep`);
      if (!(k.rateBps > 0) || !(k.ceilBps >= k.rateBps)) throw new Error(`class ${k.path}: need 0 < rate <= ceil`);
      this.prio[c] = Math.max(0, Math.min(7, k.prio | 0));
      this.usPerByteRate[c] = 8e6 / k.rateBps;
      this.usPerByteCeil[c] = 8e6 / k.ceilBps;
      this.burstUs[c] = Math.max(k.burstBytes, cfg.mtuBytes) * this.usPerByteRate[c];
      this.cburstUs[c] = Math.max(k.cburstBytes, cfg.mtuBytes) * this.usPerByteCeil[c];
      this.tokensUs[c] = this.burstUs[c];
      this.ctokensUs[c] = this.cburstUs[c];
    }
    for (let c = 0; c < n; c++) this.level[c] = this.isLeaf[c] ? 0 : LINK_LEVEL - depth[c];

    const order: number[] = [];
    this.subtreeStart = new Int32Array(n);
    this.subtreeEnd = new Int32Array(n);
    const visit = (c: number): void => {
      this.subtreeStart[c] = order.length;
      if (this.isLeaf[c]) order.push(c);
      for (const k of children[c]) visit(k);
      this.subtreeEnd[c] = order.length;
    };
    for (const t of tops) visit(t);
    this.leafOrder = Int32Array.from(order);
  }

  /** Brings class c's buckets up to nowUs. */
  refill(c: number, nowUs: number): void {
    const dt = nowUs - this.checkedUs[c];
    if (dt <= 0) return;
    this.checkedUs[c] = nowUs;
    const t = this.tokensUs[c] + dt;
    const cap = this.burstUs[c] + this.catchUpUs;
    this.tokensUs[c] = t > cap ? cap : t;
    const ct = this.ctokensUs[c] + dt;
    const ccap = this.cburstUs[c] + this.catchUpUs;
    this.ctokensUs[c] = ct > ccap ? ccap : ct;
  }

  /**
   * The mode class c's buckets put it in, with hysteresis (as HTB's option): a class that may send
   * keeps that mode until it is a whole burst into debt, and one that may not needs its credit back
   * to zero. Charging stays exact, so long-run rates are unchanged; what changes is that a class
   * sending above its rate flips mode about once per burst instead of once per packet, and every
   * flip costs re-filing the leaves below it.
   */
  modeOf(c: number): Mode {
    const cur = this.mode[c];
    if (this.ctokensUs[c] < (cur === Mode.CANT_SEND ? -EPSILON_US : -this.cburstUs[c])) return Mode.CANT_SEND;
    return this.tokensUs[c] >= (cur === Mode.CAN_SEND ? -this.burstUs[c] : -EPSILON_US) ? Mode.CAN_SEND : Mode.MAY_BORROW;
  }

  /**
   * µs until class c, in `mode`, improves, from its current (refilled) buckets: over its ceiling,
   * until the ceiling debt is paid; borrowing, until the rate debt is (with hysteresis a borrowing
   * class may also owe a little against its ceiling, which does not hold it back).
   */
  waitUsIn(c: number, mode: Mode): number {
    return mode === Mode.CANT_SEND ? -this.ctokensUs[c] : -this.tokensUs[c];
  }
}
