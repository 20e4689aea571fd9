import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler } from '../../src/sched/scheduler.js';
import { classStats } from '../../src/sched/stats.js';
import { drive, linkConfig, MTU } from './harness.js';

const SECOND = 1e6;
const noCodel = { targetUs: Infinity, intervalUs: 100000, ecn: false };
const mbit = (bytes: number, seconds: number): number => (bytes * 8) / seconds / 1e6;

function near(actual: number, expected: number, relTol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= expected * relTol, `${what}: ${actual.toFixed(3)} vs ${expected} (±${relTol * 100}%)`);
}

test('under contention each class gets its rate; an idle sibling lets the other reach its ceiling', () => {
  const cfg = linkConfig(10e6, [
    { path: 'a', rateBps: 3e6, ceilBps: 10e6, codel: noCodel },
    { path: 'b', rateBps: 7e6, ceilBps: 10e6, codel: noCodel },
  ]);
  const both = drive(new Scheduler(cfg), [{ cls: 0 }, { cls: 1 }], 11 * SECOND, { measureFromUs: SECOND });
  near(mbit(both[0].measuredBytes, 10), 3, 0.01, 'a with b busy');
  near(mbit(both[1].measuredBytes, 10), 7, 0.01, 'b with a busy');
  const alone = drive(new Scheduler(cfg), [{ cls: 0 }], 11 * SECOND, { measureFromUs: SECOND });
  near(mbit(alone[0].measuredBytes, 10), 10, 0.01, 'a alone reaches its ceiling');
});

test('a ceiling below the link holds even with the link idle', () => {
  const cfg = linkConfig(100e6, [
    { path: 'capped', rateBps: 1e6, ceilBps: 2.4e6, codel: noCodel },
    { path: 'other', rateBps: 1e6, ceilBps: 100e6, codel: noCodel },
  ]);
  const [r] = drive(new Scheduler(cfg), [{ cls: 0 }], 11 * SECOND, { measureFromUs: SECOND });
  near(mbit(r.measuredBytes, 10), 2.4, 0.005, 'capped');
});

test('excess goes first by prio, then by weight among equal prio', () => {
  const cls = (path: string, prio: number, quantumBytes: number) => ({
    path,
    rateBps: 1e6,
    ceilBps: 10e6,
    prio,
    quantumBytes,
    codel: noCodel,
  });
  const cfg = linkConfig(10e6, [cls('x', 3, MTU), cls('y', 3, 3 * MTU), cls('z', 1, MTU)]);
  const withZ = drive(new Scheduler(cfg), [{ cls: 0 }, { cls: 1 }, { cls: 2 }], 11 * SECOND, { measureFromUs: SECOND });
  near(mbit(withZ[2].measuredBytes, 10), 8, 0.01, 'z (prio 1) takes all excess');
  near(mbit(withZ[0].measuredBytes, 10), 1, 0.01, 'x keeps its rate');
  near(mbit(withZ[1].measuredBytes, 10), 1, 0.01, 'y keeps its rate');
  const noZ = drive(new Scheduler(cfg), [{ cls: 0 }, { cls: 1 }], 11 * SECOND, { measureFromUs: SECOND });
  // 8 mbit/s of excess split 1:3 by quantum on top of 1 mbit/s each.
  near(mbit(noZ[0].measuredBytes, 10), 3, 0.02, 'x: rate + 1/4 of excess');
  near(mbit(noZ[1].measuredBytes, 10), 7, 0.02, 'y: rate + 3/4 of excess');
});

test('children share their parent ceiling; higher-prio excess demand leaves them their guarantees', () => {
  const cfg = linkConfig(20e6, [
    { path: 'torrents', rateBps: 512e3, ceilBps: 2.4e6, prio: 6, codel: noCodel },
    { path: 'torrents/fred', parentPath: 'torrents', rateBps: 16e3, ceilBps: 32e3, prio: 6, codel: noCodel },
    { path: 'torrents/rest', parentPath: 'torrents', rateBps: 496e3, ceilBps: 2.4e6, prio: 6, codel: noCodel },
    { path: 'web', rateBps: 8e6, ceilBps: 20e6, prio: 2, codel: noCodel },
  ]);
  const quiet = drive(new Scheduler(cfg), [{ cls: 1, depth: 4 }, { cls: 2 }], 21 * SECOND, { measureFromUs: SECOND });
  near(mbit(quiet[0].measuredBytes, 20), 0.032, 0.05, 'fred at his ceiling');
  near(mbit(quiet[0].measuredBytes + quiet[1].measuredBytes, 20), 2.4, 0.01, 'torrents together at the parent ceiling');

  const busy = drive(new Scheduler(cfg), [{ cls: 1, depth: 4 }, { cls: 2 }, { cls: 3 }], 21 * SECOND, {
    measureFromUs: SECOND,
  });
  near(mbit(busy[0].measuredBytes, 20), 0.016, 0.05, 'fred keeps his rate');
  near(mbit(busy[1].measuredBytes, 20), 0.496, 0.01, 'the rest keeps its rate');
  near(mbit(busy[2].measuredBytes, 20), 20 - 0.512, 0.01, 'web (prio 2) takes all the excess');
});

test('flow_ceil caps each sub-queue while the class could give more', () => {
  const cfg = linkConfig(100e6, [{ path: 't', rateBps: 10e6, ceilBps: 10e6, flowCeilBps: 400e3, codel: noCodel }]);
  const s = new Scheduler(cfg);
  const r = drive(s, [{ cls: 0, key: 1 }, { cls: 0, key: 2 }, { cls: 0, key: 3 }], 11 * SECOND, { measureFromUs: SECOND });
  for (const f of r) near(mbit(f.measuredBytes, 10), 0.4, 0.01, 'one flow');
});

test('flow_ceil cannot be escaped by a flow that empties its queue between packets', () => {
  // Offer 1 mbit/s in single packets: each arrives to an empty sub-queue.
  const cfg = linkConfig(100e6, [{ path: 't', rateBps: 10e6, ceilBps: 10e6, flowCeilBps: 400e3, codel: noCodel }]);
  const r = drive(new Scheduler(cfg), [{ cls: 0, key: 7, rateBps: 1e6 }], 11 * SECOND, { measureFromUs: SECOND });
  near(mbit(r[0].measuredBytes, 10), 0.4, 0.02, 'sparse-but-fast flow');
});

test('many flows with flow_ceil are still held to the class ceiling', () => {
  const cfg = linkConfig(100e6, [{ path: 't', rateBps: 1e6, ceilBps: 2.4e6, flowCeilBps: 400e3, codel: noCodel }]);
  const feeds = Array.from({ length: 12 }, (_, i) => ({ cls: 0, key: i + 1, depth: 4 }));
  const r = drive(new Scheduler(cfg), feeds, 11 * SECOND, { measureFromUs: SECOND });
  const total = r.reduce((a, f) => a + f.measuredBytes, 0);
  near(mbit(total, 10), 2.4, 0.01, 'class total');
  for (const f of r) assert.ok(mbit(f.measuredBytes, 10) <= 0.4 * 1.01, 'no flow above flow_ceil');
});

test('counters: sent bytes, own vs borrowed and lent add up', () => {
  const cfg = linkConfig(10e6, [
    { path: 'p', rateBps: 4e6, ceilBps: 10e6, codel: noCodel },
    { path: 'p/a', parentPath: 'p', rateBps: 1e6, ceilBps: 10e6, codel: noCodel },
    { path: 'q', rateBps: 6e6, ceilBps: 10e6, codel: noCodel },
  ]);
  const s = new Scheduler(cfg);
  const r = drive(s, [{ cls: 1 }], 5 * SECOND);
  const st = classStats(s, 5 * SECOND);
  const a = st.find((c) => c.path === 'p/a')!;
  const p = st.find((c) => c.path === 'p')!;
  assert.equal(a.sentBytes, r[0].sentBytes);
  assert.equal(p.sentBytes, a.sentBytes, 'inner class counts its subtree');
  assert.equal(a.ownBytes + a.borrowedBytes, a.sentBytes);
  near(mbit(a.ownBytes, 5), 1, 0.05, 'a sent about its rate on its own tokens');
  assert.ok(p.lentBytes > 0, 'parent lent to its child');
  near(a.currentBps / 1e6, 10, 0.05, 'current rate estimate');
});
