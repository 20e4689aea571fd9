import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler } from '../../src/sched/scheduler.js';
import { DropReason, DROP_REASONS } from '../../src/sched/types.js';
import { drive, linkConfig, quantile } from './harness.js';

const SECOND = 1e6;

test('CoDel holds a persistent queue near its target where a plain FIFO grows to the limit', () => {
  // 10.5 mbit/s offered into 10 mbit/s by an unresponsive source. (CoDel alone cannot hold a heavy
  // unresponsive overload — at 12 mbit/s the median settles near 90 ms; fairness isolates such flows.)
  const withCodel = new Scheduler(linkConfig(10e6, [{ path: 'c', rateBps: 10e6, limitPackets: 1000 }]));
  const r = drive(withCodel, [{ cls: 0, key: 1, rateBps: 10.5e6 }], 30 * SECOND);
  const late = r[0].sojournsUs.slice(Math.floor(r[0].sojournsUs.length / 2));
  const p50 = quantile(late, 0.5);
  assert.ok(p50 < 3 * 5000, `median sojourn with CoDel ${p50} us`);
  assert.ok(withCodel.drops[DropReason.CODEL] > 0, 'CoDel dropped');
  assert.equal(withCodel.drops[DropReason.CLASS_LIMIT], 0, 'the class limit was never reached');

  const fifo = new Scheduler(
    linkConfig(10e6, [{ path: 'c', rateBps: 10e6, limitPackets: 1000, codel: { targetUs: Infinity, intervalUs: 1e5, ecn: false } }]),
  );
  const rf = drive(fifo, [{ cls: 0, key: 1, rateBps: 10.5e6 }], 30 * SECOND);
  const fifoP50 = quantile(rf[0].sojournsUs.slice(Math.floor(rf[0].sojournsUs.length / 2)), 0.5);
  assert.ok(fifoP50 > 20 * p50, `FIFO median ${fifoP50} us against CoDel's ${p50} us`);
});

test('with ecn, ECN-capable packets are marked instead of dropped', () => {
  const s = new Scheduler(
    linkConfig(10e6, [{ path: 'c', rateBps: 10e6, codel: { targetUs: 5000, intervalUs: 100000, ecn: true } }]),
  );
  const r = drive(s, [{ cls: 0, key: 1, depth: 64, ect: true }], 5 * SECOND);
  assert.ok(r[0].marked > 0, 'packets left marked CE');
  assert.equal(s.drops[DropReason.CODEL], 0, 'no CoDel drops for ECN-capable traffic');
  assert.equal(s.ecnMarked[0], r[0].marked);
});

test('at low rates the CoDel target grows to 1.5 MTU times at the sub-queue rate, and the interval with it', () => {
  const s = new Scheduler(
    linkConfig(10e6, [
      { path: 'slow', rateBps: 16e3, ceilBps: 32e3 },
      { path: 'fast', rateBps: 5e6, ceilBps: 10e6 },
    ]),
  );
  const mtuAt32k = (1500 * 8e6) / 32e3;
  assert.equal(s.codelTargetUs[0], 1.5 * mtuAt32k);
  assert.ok(s.codelIntervalUs[0] >= 2 * s.codelTargetUs[0]);
  assert.equal(s.codelTargetUs[1], 5000, 'unchanged at high rate');
  // A 32 kbit/s class under a modest standing queue is not shot to pieces.
  const r = drive(s, [{ cls: 0, key: 1, depth: 3 }], 60 * SECOND);
  const drops = s.drops[0 * DROP_REASONS + DropReason.CODEL];
  assert.ok(drops < r[0].sentPackets / 4, `${drops} CoDel drops for ${r[0].sentPackets} sent`);
});
