import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler } from '../../src/sched/scheduler.js';
import { drive, linkConfig, MTU } from './harness.js';

const noCodel = { targetUs: Infinity, intervalUs: 100000, ecn: false };
const SECOND = 1e6;

/** Sent bits over [1 s, 11 s) must be within ±max(0.5%, one MTU) of rate × 10 s. */
function assertRate(measuredBytes: number, rateBps: number, what: string): void {
  const expected = (rateBps * 10) / 8;
  const tol = Math.max(0.005 * expected, MTU);
  assert.ok(
    Math.abs(measuredBytes - expected) <= tol,
    `${what}: sent ${measuredBytes} B in 10 s, expected ${expected} ± ${tol}`,
  );
}

for (const rateBps of [64e3, 1e6, 10e6, 100e6, 1e9]) {
  test(`a saturated class holds its rate of ${rateBps / 1e3} kbit/s within max(0.5%, one MTU)`, () => {
    const s = new Scheduler(linkConfig(10e9, [{ path: 'only', rateBps, ceilBps: rateBps, codel: noCodel }]));
    const [r] = drive(s, [{ cls: 0, depth: 4 }], 11 * SECOND, { measureFromUs: SECOND });
    assertRate(r.measuredBytes, rateBps, 'class-limited');
  });

  test(`the link caps a class whose ceiling is higher, at ${rateBps / 1e3} kbit/s`, () => {
    const s = new Scheduler(linkConfig(rateBps, [{ path: 'only', rateBps: rateBps / 2, ceilBps: rateBps * 4, codel: noCodel }]));
    const [r] = drive(s, [{ cls: 0, depth: 4 }], 11 * SECOND, { measureFromUs: SECOND });
    assertRate(r.measuredBytes, rateBps, 'link-limited');
  });
}

test('small packets are paced by bytes, not by packets', () => {
  const s = new Scheduler(linkConfig(10e9, [{ path: 'only', rateBps: 1e6, ceilBps: 1e6, codel: noCodel }]));
  const [r] = drive(s, [{ cls: 0, bytes: 64, depth: 8 }], 11 * SECOND, { measureFromUs: SECOND });
  assertRate(r.measuredBytes, 1e6, '64-byte packets');
});
