import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventQueue } from '../../src/sim/event-queue.js';

describe('EventQueue', () => {
  it('pops in time order, equal times in push order, and grows past its capacity', () => {
    const q = new EventQueue(4);
    const times = [50, 10, 30, 10, 20, 50, 10, 40, 30, 0];
    times.forEach((t, i) => q.push(t, i % 7, i));
    const popped: [number, number][] = [];
    while (q.pop()) popped.push([q.nowUs, q.arg]);
    const expected = times.map((t, i) => [t, i] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    assert.deepEqual(popped, expected);
  });

  it('keeps order over many random events and never schedules into the past', () => {
    const q = new EventQueue(2);
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 5000; i++) q.push(Math.floor(rand() * 100), 0, i);
    let lastT = -1;
    let lastArg = -1;
    let pushedAt = -1;
    let latePoppedAt = -1;
    while (q.pop()) {
      assert.ok(q.nowUs > lastT || (q.nowUs === lastT && q.arg > lastArg));
      lastT = q.nowUs;
      lastArg = q.arg;
      if (q.arg === 10) {
        pushedAt = q.nowUs;
        q.push(q.nowUs - 50, 1, 1e6);
      }
      if (q.arg === 1e6) latePoppedAt = q.nowUs;
    }
    assert.equal(latePoppedAt, pushedAt, 'an event pushed into the past runs at the current time');
  });

  it('carries kind and argument with each event', () => {
    const q = new EventQueue();
    q.push(5, 3, 1.5);
    q.push(1, 2, 7);
    assert.equal(q.peekTime(), 1);
    assert.ok(q.pop());
    assert.deepEqual([q.nowUs, q.kind, q.arg], [1, 2, 7]);
    assert.ok(q.pop());
    assert.deepEqual([q.nowUs, q.kind, q.arg], [5, 3, 1.5]);
    assert.equal(q.pop(), false);
    assert.equal(q.peekTime(), Infinity);
  });
});
