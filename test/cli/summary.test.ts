/**
 * `sluice run -v` lines (src/cli/summary.ts): rates and drops are differences over the window between
 * two snapshots; they are debug events, written only when the log's level is debug, with their figures
 * as fields in json.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summaryOf, SummaryPrinter } from '../../src/cli/summary.js';
import { Logger, type LogFlags } from '../../src/control/log.js';
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
  const { head, rows } = summaryOf(prev, cur);
  assert.equal(head.msg, '5.0 s: 1000 packets received, 3 held, 4 flows, 7 passed unshaped by the kernel (queue or socket full) since start');
  assert.deepEqual(head.fields, { windowUs: 5e6, receivedPackets: 1000, heldPackets: 3, flows: 4, kernelPassedPackets: 7 });
  assert.equal(rows[0].text, '  wan egress web  2mbit  rate 2mbit ceil 10mbit  backlog 7 pkt  drops 4  delay p50 1.5ms p99 12ms');
  assert.deepEqual(rows[0].fields, {
    link: 'wan', direction: 'egress', class: 'web', sentBps: 2e6, rateBps: 2e6, ceilBps: 10e6, backlogPackets: 7, drops: 4, sojournP50Us: 1500, sojournP99Us: 12000,
  });
});

test('owner lookups in the window are counted on the first line, with the flows that went on without one', () => {
  const prev = snap(1e6, [], 100, { requested: 10, answered: 10, timedOut: 1, waitedPackets: 12, roomFull: 0 });
  const cur = snap(6e6, [], 1100, { requested: 25, answered: 24, timedOut: 2, waitedPackets: 30, roomFull: 3 });
  assert.match(summaryOf(prev, cur).head.msg, /; 15 owner lookups, 18 packets waited, 1 flows went on without an owner, 3 packets did not wait \(waiting room full\)$/);
  assert.doesNotMatch(summaryOf(cur, snap(7e6, [], 1200, cur.engine.owners)).head.msg, /owner/, 'nothing said in a window without lookups');
});

function printer(fromFile: { level?: 'info' | 'debug'; format?: 'json' } | undefined, flags: LogFlags = {}): { p: SummaryPrinter; log: Logger; out: () => string } {
  let out = '';
  const log = new Logger({ out: (t) => (out += t), err: () => undefined }, fromFile, flags);
  return { p: new SummaryPrinter(log, 5e6), log, out: () => out };
}

test('the printer prints only once a window has passed, against the snapshot it last printed', () => {
  const { p, out } = printer(undefined, { verbose: true });
  p.offer(snap(1e6, [klass({ sentBytes: 0 })], 0));
  p.offer(snap(3e6, [klass({ sentBytes: 500_000 })], 0));
  assert.equal(out(), '');
  p.offer(snap(6e6, [klass({ sentBytes: 1_250_000 })], 0));
  assert.match(out(), /^sluice: 5\.0 s: /);
  assert.match(out(), /\n {2}wan egress web {2}2mbit {2}rate/, 'the class row without the sluice: tag, as before levels');
});

test('at info level nothing is printed, but the windows go on: debug turned on later prints the last window only', () => {
  const { p, log, out } = printer({ level: 'info' });
  p.offer(snap(1e6, [klass({ sentBytes: 0 })], 0));
  p.offer(snap(6e6, [klass({ sentBytes: 1_250_000 })], 0));
  p.offer(snap(11e6, [klass({ sentBytes: 2_500_000 })], 0));
  assert.equal(out(), '');
  log.configure({ level: 'debug' });
  p.offer(snap(16e6, [klass({ sentBytes: 5_000_000 })], 0));
  assert.match(out(), /^sluice: 5\.0 s: /);
  assert.match(out(), /wan egress web {2}4mbit {2}rate/, '2.5 MB over the last 5 s, not 5 MB over 15');
});

test('in json each class is an event of its own with its figures as fields', () => {
  const { p, out } = printer({ level: 'debug', format: 'json' });
  p.offer(snap(1e6, [klass({ sentBytes: 0 })], 0));
  p.offer(snap(6e6, [klass({ sentBytes: 1_250_000, backlogPackets: 3 })], 0));
  const events = out().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(events.length, 2);
  assert.equal(events[0].level, 'debug');
  assert.match(String(events[0].msg), /^5\.0 s: 0 packets received/);
  assert.equal(events[1].msg, 'wan egress web 2mbit rate 2mbit ceil 10mbit backlog 3 pkt drops 0 delay p50 0us p99 0us');
  assert.deepEqual([events[1].link, events[1].class, events[1].sentBps, events[1].backlogPackets], ['wan', 'web', 2e6, 3]);
});
