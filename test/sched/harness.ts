/**
 * Drives a Scheduler in virtual time for tests: feeds that either keep their class saturated or
 * offer a constant rate, departures taken exactly when the scheduler says they are due. Checks on
 * every step that no packet is lost track of (each handle leaves or is dropped exactly once) and
 * that the scheduler never goes to sleep with packets queued.
 */
import assert from 'node:assert/strict';
import { Scheduler } from '../../src/sched/scheduler.js';
import type { ClassConfig, LinkSchedConfig } from '../../src/sched/types.js';

export const MTU = 1500;

export type ClassSpec = Partial<ClassConfig> & { path: string; rateBps: number };

/** A LinkSchedConfig with sensible defaults; `parent` may be given as a path. */
export function linkConfig(
  rateBps: number,
  classes: (ClassSpec & { parentPath?: string })[],
  over: Partial<LinkSchedConfig> = {},
): LinkSchedConfig {
  const out: ClassConfig[] = [];
  for (const k of classes) {
    const parent = k.parentPath ? out.findIndex((c) => c.path === k.parentPath) : (k.parent ?? -1);
    const ceil = k.ceilBps ?? rateBps;
    out.push({
      parent,
      ceilBps: ceil,
      burstBytes: Math.max(MTU, (k.rateBps / 8) * 0.01),
      cburstBytes: Math.max(MTU, (ceil / 8) * 0.01),
      prio: 4,
      quantumBytes: MTU,
      fairness: 'flow',
      flowCeilBps: 0,
      codel: { targetUs: 5000, intervalUs: 100000, ecn: false },
      limitPackets: 10000,
      limitBytes: 64e6,
      flowLimitPackets: 0,
      ...k,
    });
  }
  const leaves = out.filter((c, i) => !out.some((d) => d.parent === i));
  const def = out.findIndex((c) => c.path === 'default');
  return {
    rateBps,
    mtuBytes: MTU,
    classes: out,
    defaultClass: def >= 0 ? def : out.indexOf(leaves[leaves.length - 1]),
    globalLimitPackets: 100000,
    globalLimitBytes: 1e9,
    maxSubqueues: 4096,
    ...over,
  };
}

export interface Feed {
  cls: number;
  key?: number;
  bytes?: number;
  /** Offered rate in bits/s; omitted: keep `depth` packets queued at all times (saturating). */
  rateBps?: number;
  /** Packets a saturating feed keeps queued (default 16). */
  depth?: number;
  startUs?: number;
  stopUs?: number;
  ect?: boolean;
}

export interface FeedResult {
  sentBytes: number;
  sentPackets: number;
  /** Bytes sent in [measureFromUs, durationUs). */
  measuredBytes: number;
  dropped: number;
  marked: number;
  sojournsUs: number[];
}

export interface DriveOptions {
  /** Start of the window over which measuredBytes is counted (skips the initial burst). */
  measureFromUs?: number;
  /** Called after every departure. */
  onDeparture?: (feed: number, handle: number, nowUs: number) => void;
}

const FEED_BITS = 64;

export function drive(s: Scheduler, feeds: Feed[], durationUs: number, opts: DriveOptions = {}): FeedResult[] {
  const res: FeedResult[] = feeds.map(() => ({
    sentBytes: 0,
    sentPackets: 0,
    measuredBytes: 0,
    dropped: 0,
    marked: 0,
    sojournsUs: [],
  }));
  const queued = new Array<number>(feeds.length).fill(0);
  const nextArrival = feeds.map((f) => f.startUs ?? 0);
  const live = new Set<number>();
  let seq = 0;
  const measureFrom = opts.measureFromUs ?? 0;

  const offer = (f: number, now: number): void => {
    const feed = feeds[f];
    const handle = (seq++ % 2 ** 25) * FEED_BITS + f;
    live.add(handle);
    queued[f]++;
    s.enqueue(handle, feed.cls, feed.key ?? f, feed.bytes ?? MTU, feed.ect ?? false, now);
    drainDrops();
  };
  const drainDrops = (): void => {
    for (let i = 0; i < s.droppedCount; i++) {
      const h = s.dropped[i];
      assert.ok(live.delete(h), `dropped handle ${h} was not queued`);
      const f = h % FEED_BITS;
      res[f].dropped++;
      queued[f]--;
    }
    s.clearDropped();
  };
  const active = (f: number, t: number): boolean =>
    t >= (feeds[f].startUs ?? 0) && t < (feeds[f].stopUs ?? Infinity);
  const topUp = (t: number): void => {
    for (let f = 0; f < feeds.length; f++) {
      if (feeds[f].rateBps !== undefined || !active(f, t)) continue;
      const depth = feeds[f].depth ?? 16;
      while (queued[f] < depth) offer(f, t);
    }
  };

  let t = 0;
  while (t < durationUs) {
    for (let f = 0; f < feeds.length; f++) {
      const feed = feeds[f];
      if (feed.rateBps === undefined) continue;
      const gapUs = ((feed.bytes ?? MTU) * 8e6) / feed.rateBps;
      while (nextArrival[f] <= t && active(f, nextArrival[f])) {
        offer(f, t);
        nextArrival[f] += gapUs;
      }
    }
    topUp(t);
    for (;;) {
      const h = s.dequeue(t);
      drainDrops();
      if (h < 0) break;
      assert.ok(live.delete(h), `handle ${h} left twice or was never queued`);
      const f = h % FEED_BITS;
      const r = res[f];
      r.sentBytes += s.lastWireBytes;
      r.sentPackets++;
      if (t >= measureFrom) r.measuredBytes += s.lastWireBytes;
      if (s.lastMarkCE) r.marked++;
      r.sojournsUs.push(s.lastSojournUs);
      queued[f]--;
      opts.onDeparture?.(f, h, t);
      topUp(t);
    }
    if (s.totalPackets > 0) assert.ok(Number.isFinite(s.nextAtUs), 'scheduler asleep with packets queued');
    let next = s.nextAtUs;
    for (let f = 0; f < feeds.length; f++) {
      const start = feeds[f].startUs ?? 0;
      if (start > t) next = Math.min(next, start);
      if (feeds[f].rateBps !== undefined && active(f, nextArrival[f])) next = Math.min(next, nextArrival[f]);
    }
    assert.ok(next > t, `time did not advance at ${t}`);
    t = Math.min(next, durationUs);
  }
  assert.equal(s.totalPackets, live.size, 'scheduler backlog and live handles disagree');
  return res;
}

export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const sorted = Float64Array.from(xs).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function jain(xs: number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const sq = xs.reduce((a, b) => a + b * b, 0);
  return sq === 0 ? 1 : (sum * sum) / (xs.length * sq);
}
