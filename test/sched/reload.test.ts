import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rebuildScheduler } from '../../src/sched/reload.js';
import { Scheduler } from '../../src/sched/scheduler.js';
import { DropReason } from '../../src/sched/types.js';
import { linkConfig } from './harness.js';

const noCodel = { targetUs: Infinity, intervalUs: 100000, ecn: false };

function drain(s: Scheduler, fromUs: number): { handles: number[]; classes: string[] } {
  const handles: number[] = [];
  const classes: string[] = [];
  let t = fromUs;
  for (let guard = 0; guard < 100000 && s.totalPackets > 0; guard++) {
    const h = s.dequeue(t);
    if (h < 0) {
      t = s.nextAtUs;
      continue;
    }
    handles.push(h);
    classes.push(s.cfg.classes[s.lastClass].path);
  }
  return { handles, classes };
}

test('a reload keeps queued packets in order in surviving classes and hands the rest to default', () => {
  const before = linkConfig(1e6, [
    { path: 'web', rateBps: 500e3, codel: noCodel },
    { path: 'gone', rateBps: 400e3, codel: noCodel },
    { path: 'default', rateBps: 100e3, codel: noCodel },
  ]);
  const s = new Scheduler(before);
  for (let i = 0; i < 10; i++) s.enqueue(100 + i, 0, 1, 1000, false, 0);
  for (let i = 0; i < 5; i++) s.enqueue(200 + i, 1, 2, 1000, false, 0);
  // Let some time pass and some packets leave so that counters have something in them.
  let sent = 0;
  for (let t = 0; sent < 3; t += 1000) if (s.dequeue(t) >= 0) sent++;
  const sentWeb = s.sentBytes[0];

  const after = linkConfig(2e6, [
    { path: 'voip', rateBps: 500e3, codel: noCodel },
    { path: 'web', rateBps: 1e6, codel: noCodel },
    { path: 'default', rateBps: 500e3, codel: noCodel },
  ]);
  const next = rebuildScheduler(after, s, 50_000);
  assert.equal(next.droppedCount, 0);
  assert.equal(next.totalPackets, s.totalPackets, 'nothing lost');
  assert.equal(next.sentBytes[next.classIndex('web')], sentWeb, 'counters continue');
  const out = drain(next, 50_000);
  const web = out.handles.filter((h, i) => out.classes[i] === 'web');
  assert.deepEqual(web, [...web].sort((a, b) => a - b), 'order kept within a flow');
  const moved = out.handles.filter((h) => h >= 200);
  assert.ok(moved.length > 0 && moved.every((h) => out.classes[out.handles.indexOf(h)] === 'default'));
});

test('a reload to smaller limits drops what no longer fits and reports the handles', () => {
  const s = new Scheduler(linkConfig(1e6, [{ path: 'c', rateBps: 1e6, codel: noCodel }]));
  for (let i = 0; i < 40; i++) s.enqueue(i, 0, 1, 1000, false, 0);
  const next = rebuildScheduler(linkConfig(1e6, [{ path: 'c', rateBps: 1e6, limitPackets: 10, codel: noCodel }]), s, 0);
  assert.equal(next.totalPackets, 10);
  assert.equal(next.droppedCount, 30);
  assert.equal(next.drops[DropReason.CLASS_LIMIT], 30);
});

test('a reload does not grant a class that used its burst a fresh one', () => {
  const cfg = linkConfig(100e6, [{ path: 'c', rateBps: 1e6, ceilBps: 1e6, codel: noCodel }]);
  const s = new Scheduler(cfg);
  for (let i = 0; i < 20; i++) s.enqueue(i, 0, 1, 1500, false, 0);
  while (s.dequeue(0) >= 0);
  const next = rebuildScheduler(cfg, s, 0);
  for (let i = 0; i < 5; i++) next.enqueue(100 + i, 0, 1, 1500, false, 0);
  assert.equal(next.dequeue(0), -1, 'still in debt after the reload');
  assert.ok(next.nextAtUs > 0 && Number.isFinite(next.nextAtUs));
});

test('a reload does not refill the link bucket either', () => {
  // The class has a burst far larger than the link's: only the link holds packets back.
  const cfg = linkConfig(1e6, [{ path: 'c', rateBps: 1e6, burstBytes: 1e6, cburstBytes: 1e6, codel: noCodel }]);
  const s = new Scheduler(cfg);
  for (let i = 0; i < 10; i++) s.enqueue(i, 0, 1, 1500, false, 1_000_000);
  while (s.dequeue(1_000_000) >= 0);
  assert.ok(s.totalPackets > 0, 'the link stopped the burst');
  const next = rebuildScheduler(cfg, s, 1_000_000);
  assert.equal(next.dequeue(1_000_000), -1, 'the link is still in debt after the reload');
});
