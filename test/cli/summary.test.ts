/** `sluice run -v` lines (src/cli/summary.ts): rates and drops are differences over the window between two snapshots. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summaryLines, SummaryPrinter } from '../../src/cli/summary.js';
import type { ClassCounters, CounterSnapshot } from '../../src/engine/snapshot.js';

function klass(over: Partial<ClassCounters>): ClassCounters {
  return {
    link: 'wan', direction: 'egress', path: 'web', isLeaf: true, rateBps: 2e6, ceilBps: 10e6, prio: 1,
    sentBytes: 0, sentPackets: 0, drops: { codel: 0, class_limit: 0, global_limit: 0, flow_limit: 0, action: 0 }, ecnMarked: 0,
    backlogPackets: 0, backlogBytes: 0, currentBps: 0, activeSubqueues: 0, ownBytes: 0, borrowedBytes: 0, lentBytes: 0, sojournP50Us: 0, sojournP99Us: 0,
    ...over,
  };
}

const NO_OWNERS = { requested: 0, answered: 0, timedOut: 0, waitedPackets: 0, roomFull: 0 };

function snap(atUs: number, classes: ClassCounters[], received: number, owners = NO_OWNERS): CounterSnapshot {
  return {
    version: 1, atUs, intervalUs: 1e6, classes, topFlows: [],
    engine: { unparsable: 0, unparsableByReason: {}, unshaped: 0, flows: 4, flowsCreated: 4, flowsEvicted: 0, flowsExpired: 0, owners, l7Decided: 0 },
    // 3 held, 2 more waiting in the socket (queueTotal 5), 7 passed by the kernel.
    datapath: { received, held: 3, failOpen: 1, kernel: { queueTotal: 5, queueDropped: 0, userDropped: 0, idSequence: received - 3 + 5 + 7 } },
  };
}

test('a class line shows what it sent over the window against its rate and ceiling, its backlog, new drops and delay', () => {
  const prev = snap(1e6, [klass({ sentBytes: 1_000_000, drops: { codel: 2, class_limit: 0, global_limit: 0, flow_limit: 0, action: 0 } })], 100);
  const cur = snap(6e6, [klass({ sentBytes: 2_250_000, backlogPackets: 7, drops: { codel: 5, class_limit: 1, global_limit: 0, flow_limit: 0, action: 0 }, sojournP50Us: 1500, sojournP99Us: 12000 })], 1100);
  const lines = summaryLines(prev, cur);
  assert.equal(lines[0], 'sluice: 5.0 s: 1000 packets received, 3 held, 4 flows, 7 passed unshaped by the kernel (queue or socket full) since start');
  assert.equal(lines[1], '  wan egress web  2mbit  rate 2mbit ceil 10mbit  backlog 7 pkt  drops 4  delay p50 1.5ms p99 12ms');
});

test('owner lookups in the window are counted on the first line, with the flows that went on without one', () => {
  const prev = snap(1e6, [], 100, { requested: 10, answered: 10, timedOut: 1, waitedPackets: 12, roomFull: 0 });
  const cur = snap(6e6, [], 1100, { requested: 25, answered: 24, timedOut: 2, waitedPackets: 30, roomFull: 3 });
  assert.match(summaryLines(prev, cur)[0], /; 15 owner lookups, 18 packets waited, 1 flows went on without an owner, 3 packets did not wait \(waiting room full\)$/);
  assert.doesNotMatch(summaryLines(cur, snap(7e6, [], 1200, cur.engine.owners))[0], /owner/, 'nothing said in a window without lookups');
});

test('the printer prints only once a window has passed, against the snapshot it last printed', () => {
  let out = '';
  const p = new SummaryPrinter({ out: (t) => (out += t), err: () => undefined }, 5e6);
  p.offer(snap(1e6, [klass({ sentBytes: 0 })], 0));
  p.offer(snap(3e6, [klass({ sentBytes: 500_000 })], 0));
  assert.equal(out, '');
  p.offer(snap(6e6, [klass({ sentBytes: 1_250_000 })], 0));
  assert.match(out, /^sluice: 5\.0 s: /);
  assert.match(out, /wan egress web {2}2mbit {2}rate/);
});
