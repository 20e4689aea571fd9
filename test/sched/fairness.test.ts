import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler } from '../../src/sched/scheduler.js';
import { drive, jain, linkConfig, quantile } from './harness.js';

const SECOND = 1e6;

test("8 equal bulk flows in one class get Jain's index >= 0.99", () => {
  const s = new Scheduler(linkConfig(10e6, [{ path: 'bulk', rateBps: 10e6 }]));
  const feeds = Array.from({ length: 8 }, (_, i) => ({ cls: 0, key: 100 + i }));
  const r = drive(s, feeds, 11 * SECOND, { measureFromUs: SECOND });
  const idx = jain(r.map((f) => f.measuredBytes));
  assert.ok(idx >= 0.99, `Jain ${idx}`);
});

test('fairness is by bytes: small-packet and large-packet flows get equal byte shares', () => {
  const s = new Scheduler(linkConfig(10e6, [{ path: 'bulk', rateBps: 10e6 }]));
  const r = drive(s, [{ cls: 0, key: 1, bytes: 1500 }, { cls: 0, key: 2, bytes: 300, depth: 80 }], 11 * SECOND, {
    measureFromUs: SECOND,
  });
  const ratio = r[0].measuredBytes / r[1].measuredBytes;
  assert.ok(ratio > 0.97 && ratio < 1.03, `byte ratio ${ratio}`);
});

function sparseDelayP99(fairness: 'flow' | 'none'): number {
  const s = new Scheduler(linkConfig(10e6, [{ path: 'c', rateBps: 10e6, fairness }]));
  const bulkKey = (i: number) => (fairness === 'none' ? 0 : 10 + i);
  const feeds = [
    ...Array.from({ length: 8 }, (_, i) => ({ cls: 0, key: bulkKey(i), depth: 32 })),
    // a ping-like flow: 100-byte packets every 10 ms
    { cls: 0, key: fairness === 'none' ? 0 : 999, bytes: 100, rateBps: 80e3 },
  ];
  const r = drive(s, feeds, 10 * SECOND);
  return quantile(r[8].sojournsUs.slice(100), 0.99);
}

test('a sparse flow waits < 2 ms at p99 behind saturating bulk flows with fairness, far longer without', () => {
  const fair = sparseDelayP99('flow');
  const unfair = sparseDelayP99('none');
  assert.ok(fair < 2000, `p99 with fairness ${fair} us`);
  assert.ok(unfair > 10 * fair && unfair > 10000, `p99 without fairness ${unfair} us (with: ${fair} us)`);
});

test('hosts fairness: one sub-queue per key gives each host an equal share however many flows it has', () => {
  // Keys stand for host hashes: host A has 1 flow, host B 6 flows, all in one key each by host.
  const s = new Scheduler(linkConfig(10e6, [{ path: 'web', rateBps: 10e6, fairness: 'hosts' }]));
  const feeds = [{ cls: 0, key: 0xa }, ...Array.from({ length: 6 }, () => ({ cls: 0, key: 0xb, depth: 4 }))];
  const r = drive(s, feeds, 11 * SECOND, { measureFromUs: SECOND });
  const hostB = r.slice(1).reduce((a, f) => a + f.measuredBytes, 0);
  const ratio = r[0].measuredBytes / hostB;
  assert.ok(ratio > 0.97 && ratio < 1.03, `host A / host B = ${ratio}`);
});
