import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler } from '../../src/sched/scheduler.js';
import { rng } from '../support/rng.js';
import { linkConfig } from './harness.js';


test('random traffic over a random tree: every handle leaves or is dropped exactly once, and the scheduler never sleeps with work', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const r = rng(seed);
    const classes = [
      { path: 'a', rateBps: 1e6 + r() * 4e6, ceilBps: 10e6, prio: Math.floor(r() * 8) },
      { path: 'a/x', parentPath: 'a', rateBps: 5e5, ceilBps: 2e6 + r() * 8e6, prio: Math.floor(r() * 8), flowCeilBps: r() < 0.5 ? 3e5 : 0 },
      { path: 'a/y', parentPath: 'a', rateBps: 5e5, ceilBps: 10e6, prio: Math.floor(r() * 8), fairness: 'none' as const },
      { path: 'b', rateBps: 1e6, ceilBps: 3e6, prio: Math.floor(r() * 8), limitPackets: 20 },
      { path: 'default', rateBps: 1e6, ceilBps: 10e6, codel: { targetUs: 5000, intervalUs: 100000, ecn: true } },
    ];
    const s = new Scheduler(linkConfig(10e6, classes, { globalLimitPackets: 150, maxSubqueues: 64 }));
    const live = new Set<number>();
    let handle = 0;
    let t = 0;
    for (let step = 0; step < 20000; step++) {
      if (r() < 0.55) {
        const leaf = [1, 2, 3, 4][Math.floor(r() * 4)];
        const h = handle++;
        live.add(h);
        s.enqueue(h, leaf, Math.floor(r() * 40), 40 + Math.floor(r() * 1460), r() < 0.5, t);
      } else {
        const h = s.dequeue(t);
        if (h >= 0) assert.ok(live.delete(h), `seed ${seed}: ${h} left twice`);
        else if (s.totalPackets > 0) assert.ok(Number.isFinite(s.nextAtUs) && s.nextAtUs >= t, `seed ${seed}: asleep with work`);
      }
      for (let i = 0; i < s.droppedCount; i++) assert.ok(live.delete(s.dropped[i]), `seed ${seed}: bad drop`);
      s.clearDropped();
      assert.equal(s.totalPackets, live.size);
      t += r() * 2000;
    }
    // Drain: everything left must come out in finite time.
    for (let guard = 0; s.totalPackets > 0 && guard < 100000; guard++) {
      const h = s.dequeue(t);
      for (let i = 0; i < s.droppedCount; i++) live.delete(s.dropped[i]);
      s.clearDropped();
      if (h >= 0) live.delete(h);
      else t = s.nextAtUs;
    }
    assert.equal(live.size, 0, `seed ${seed}: ${live.size} packets stuck`);
  }
});
