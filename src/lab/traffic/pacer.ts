/**
 * A constant-rate schedule with catch-up: `total` events spread evenly over `durationMs`, the first
 * at the start. A timer wakes the sender; it sends everything due by now (so a late timer, which
 * Node's millisecond timers often are, costs burstiness but never rate), then sleeps until the next
 * event is due. A sender that cannot keep up works in batches, yielding to the event loop between
 * them, and stops at its deadline all the same: the shortfall shows as fewer events than `total`.
 */

/** Most events sent in one turn of the event loop before yielding (replies and timers must run too). */
const MAX_BATCH = 256;

export class Pacer {
  /** Events per millisecond. */
  readonly perMs: number;
  private startMs = -1;

  constructor(
    /** Events the whole run calls for. */
    readonly total: number,
    readonly durationMs: number,
  ) {
    this.perMs = total / durationMs;
  }

  start(nowMs: number): void {
    this.startMs = nowMs;
  }

  elapsedMs(nowMs: number): number {
    return nowMs - this.startMs;
  }

  /** How many events should have happened by `nowMs`, counting the one at the start. */
  due(nowMs: number): number {
    return Math.min(this.total, Math.floor(this.elapsedMs(nowMs) * this.perMs) + 1);
  }

  /** Milliseconds (at least 1, Node's timer floor) until event number `done` is due. */
  waitMs(done: number, nowMs: number): number {
    const dueAt = done / this.perMs;
    return Math.max(1, Math.floor(dueAt - this.elapsedMs(nowMs)));
  }
}

export interface PacedRun {
  /** Events done. */
  done: number;
  /** performance.now() of the first and the last event. */
  firstMs: number;
  lastMs: number;
}

/**
 * Calls `send(i)` for i = 0, 1, ... on the pacer's schedule until all `total` are done or `stopAfterMs`
 * has passed since the start. `send` returns false when it cannot send now (a full socket); the run
 * then waits for the next timer. Costs one timer per wake-up, nothing per event.
 */
export function runPaced(pacer: Pacer, stopAfterMs: number, send: (i: number) => boolean): Promise<PacedRun> {
  const run: PacedRun = { done: 0, firstMs: performance.now(), lastMs: 0 };
  pacer.start(run.firstMs);
  return new Promise((resolve) => {
    const tick = (): void => {
      const nowMs = performance.now();
      const due = Math.min(pacer.due(nowMs), run.done + MAX_BATCH);
      let blocked = false;
      while (run.done < due) {
        if (!send(run.done)) {
          blocked = true;
          break;
        }
        run.done++;
        run.lastMs = performance.now();
      }
      if (run.done >= pacer.total || pacer.elapsedMs(performance.now()) >= stopAfterMs) return resolve(run);
      if (!blocked && run.done < pacer.due(performance.now())) setImmediate(tick);
      else setTimeout(tick, pacer.waitMs(run.done, nowMs));
    };
    tick();
  });
}
