/**
 * Late wake-ups (scheduler.ts, "Late wake-ups"): a caller that calls dequeue later than the nextAtUs
 * it was given — a busy machine waking the shaper late — does not cost a backlogged class its rate;
 * what a long stall can release at once is bounded by the burst plus MAX_CATCH_UP_US (10 ms); and
 * an idle link earns nothing beyond its burst.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler } from '../../src/sched/scheduler.js';
import { linkConfig, MTU } from './harness.js';

const noCodel = { targetUs: Infinity, intervalUs: 100000, ecn: false };
const RATE_BPS = 10e6;
const LINK_BURST_US = 5000;

function scheduler(): Scheduler {
  return new Scheduler(linkConfig(RATE_BPS, [{ path: 'only', rateBps: RATE_BPS, ceilBps: RATE_BPS, codel: noCodel }]));
}

let handle = 0;
function topUp(s: Scheduler, depth: number, nowUs: number): void {
  while (s.totalPackets < depth) s.enqueue(handle++, 0, 1, MTU, false, nowUs);
}

/** Dequeues everything due at nowUs; returns the packets released. */
function drain(s: Scheduler, nowUs: number): number {
  let n = 0;
  while (s.dequeue(nowUs) >= 0) n++;
  return n;
}

for (const lateUs of [0, 4_000, 12_000]) {
  test(`a backlogged class holds its rate when every wake-up comes ${lateUs / 1000} ms late`, () => {
    const s = scheduler();
    let t = 0;
    let sent = 0;
    while (t < 11e6) {
      topUp(s, 200, t);
      const n = drain(s, t);
      if (t >= 1e6) sent += n;
      t = s.nextAtUs + lateUs;
    }
    const expected = (RATE_BPS * 10) / 8 / MTU;
    assert.ok(Math.abs(sent - expected) <= expected * 0.01 + 1, `${sent} packets in 10 s, expected ${expected} ± 1%`);
  });
}

test('a long stall releases at most the burst and 10 ms more at once', () => {
  const s = scheduler();
  let t = 0;
  while (t < 1e6) {
    topUp(s, 2000, t);
    drain(s, t);
    t = s.nextAtUs;
  }
  topUp(s, 2000, t);
  const released = drain(s, t + 1e6);
  // The class bucket (10 ms) and the link bucket (5 ms), each with up to 10 ms of catch-up.
  const most = Math.ceil(((RATE_BPS / 8) * (LINK_BURST_US + 10_000)) / 1e6 / MTU) + 1;
  assert.ok(released > 5 && released <= most, `released ${released} packets after a 1 s stall, at most ${most}`);
});

test('an idle link earns nothing beyond its burst', () => {
  const s = scheduler();
  topUp(s, 1, 0);
  drain(s, 0);
  assert.equal(s.nextAtUs, Infinity);
  topUp(s, 100, 1e6);
  const released = drain(s, 1e6);
  const most = Math.ceil((RATE_BPS / 8) * (LINK_BURST_US / 1e6) / MTU) + 1;
  assert.ok(released <= most, `released ${released} packets after 1 s idle, at most ${most}`);
});
