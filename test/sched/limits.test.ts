import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler } from '../../src/sched/scheduler.js';
import { DROP_REASONS, DropReason } from '../../src/sched/types.js';
import { drive, linkConfig } from './harness.js';

const SECOND = 1e6;
const noCodel = { targetUs: Infinity, intervalUs: 100000, ecn: false };

test('over the global buffer, drops come from the lowest-priority backlogged class', () => {
  const s = new Scheduler(
    linkConfig(
      1e6,
      [
        { path: 'important', rateBps: 500e3, ceilBps: 1e6, prio: 0, codel: noCodel },
        { path: 'bulk', rateBps: 500e3, ceilBps: 1e6, prio: 7, codel: noCodel },
      ],
      { globalLimitPackets: 100 },
    ),
  );
  drive(s, [{ cls: 0, key: 1, rateBps: 800e3 }, { cls: 1, key: 2, rateBps: 800e3 }], 5 * SECOND);
  assert.equal(s.drops[0 * DROP_REASONS + DropReason.GLOBAL_LIMIT], 0, 'important lost nothing');
  assert.ok(s.drops[1 * DROP_REASONS + DropReason.GLOBAL_LIMIT] > 0, 'bulk paid for the overflow');
  assert.ok(s.totalPackets <= 100);
});

test('the class limit drops from the fattest sub-queue of that class, not from others', () => {
  const s = new Scheduler(linkConfig(1e6, [{ path: 'c', rateBps: 1e6, limitPackets: 50, codel: noCodel }]));
  const r = drive(s, [{ cls: 0, key: 1, rateBps: 2e6 }, { cls: 0, key: 2, rateBps: 100e3 }], 5 * SECOND);
  assert.ok(r[0].dropped > 0, 'the heavy flow lost packets');
  assert.equal(r[1].dropped, 0, 'the light flow lost none');
  assert.ok(s.drops[DropReason.CLASS_LIMIT] > 0);
  assert.ok(s.backlogPackets[0] <= 50);
});

test('the class byte limit holds as well as the packet limit', () => {
  const s = new Scheduler(linkConfig(1e6, [{ path: 'c', rateBps: 1e6, limitBytes: 30000, codel: noCodel }]));
  drive(s, [{ cls: 0, key: 1, rateBps: 3e6 }], 2 * SECOND);
  assert.ok(s.backlogBytes[0] <= 30000, `backlog ${s.backlogBytes[0]}`);
  assert.ok(s.drops[DropReason.CLASS_LIMIT] > 0);
});

test('the per-flow limit refuses packets beyond it and counts them', () => {
  const s = new Scheduler(linkConfig(1e6, [{ path: 'c', rateBps: 1e6, flowLimitPackets: 10, codel: noCodel }]));
  const r = drive(s, [{ cls: 0, key: 1, rateBps: 2e6 }], 2 * SECOND);
  assert.ok(r[0].dropped > 0);
  assert.equal(s.drops[DropReason.FLOW_LIMIT], r[0].dropped);
});

test('a flood of new flows beyond the sub-queue pool drops by policy and keeps memory bounded', () => {
  const s = new Scheduler(linkConfig(1e6, [{ path: 'c', rateBps: 1e6, codel: noCodel }], { maxSubqueues: 64, globalLimitPackets: 32 }));
  let refused = 0;
  for (let i = 0; i < 10000; i++) {
    if (!s.enqueue(i, 0, i, 100, false, i)) refused++;
    s.clearDropped();
  }
  assert.ok(refused > 0);
  assert.ok(s.sqs.allocated <= 64);
  assert.ok(s.totalPackets <= 32);
});

test('a packet offered to a non-leaf or unknown class goes to the default class', () => {
  const s = new Scheduler(
    linkConfig(1e6, [
      { path: 'p', rateBps: 500e3 },
      { path: 'p/c', parentPath: 'p', rateBps: 500e3 },
      { path: 'default', rateBps: 500e3 },
    ]),
  );
  s.enqueue(1, 0, 0, 100, false, 0);
  s.enqueue(2, 99, 0, 100, false, 0);
  assert.equal(s.backlogPackets[2], 2);
});
