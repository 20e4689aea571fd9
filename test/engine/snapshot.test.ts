/**
 * The counter snapshot (src/engine/snapshot.ts): per class counters keyed by link, direction and
 * path; the top flows ranked by bytes since the previous snapshot, with the class each was put in;
 * plain data that survives the structured clone between threads.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SnapshotBuilder } from '../../src/engine/snapshot.js';
import { buildPacket, type PacketSpec } from '../../src/packet/build.js';
import { Proto } from '../../src/packet/types.js';
import { batchOf, engineFor, RecordingDatapath } from './helpers.js';

const CONFIG = `
links:
  - interface: eth0
    egress: 10mbit
classes:
  web:
    rate: 5mbit
    match: rport in [80, 443]
  default:
    rate: 5mbit
`;

const tcp = (sport: number, dport: number): PacketSpec => ({
  ipVersion: 4,
  src: '192.168.1.10',
  dst: '203.0.113.5',
  proto: Proto.TCP,
  sport,
  dport,
  payloadBytes: 1000,
});
const IP_BYTES = 1040;

let handle = 1;
/** Sends `count` packets of each flow at time atUs and releases them all. */
function send(engine: ReturnType<typeof engineFor>, flows: [PacketSpec, number][], atUs: number): number {
  const packets = flows.flatMap(([spec, count]) => Array.from({ length: count }, () => ({ handle: handle++, buf: buildPacket(spec), atUs })));
  engine.receive(batchOf(packets));
  let t = atUs;
  while (engine.queuedPackets > 0 && t < atUs + 10e6) t = engine.pump(t);
  return t;
}

test('a snapshot counts per link, direction and class, and ranks flows by bytes since the previous one', () => {
  const engine = engineFor(CONFIG, new RecordingDatapath());
  const builder = new SnapshotBuilder(engine);
  const web = tcp(40000, 443);
  const other = tcp(40001, 5000);
  send(engine, [[web, 10], [other, 3]], 0);
  const first = builder.build(1_000_000, { received: 13 });
  assert.equal(first.version, 1);
  assert.equal(first.atUs, 1_000_000);
  assert.deepEqual(first.datapath, { received: 13 });
  const webClass = first.classes.find((c) => c.path === 'web');
  assert.ok(webClass);
  assert.equal(webClass.link, 'eth0');
  assert.equal(webClass.direction, 'egress');
  assert.equal(webClass.sentPackets, 10);
  assert.equal(first.classes.find((c) => c.path === 'default')?.sentPackets, 3);
  assert.deepEqual(first.topFlows.map((f) => [f.responderPort, f.egressClass, f.link, f.intervalBytes]), [
    [443, 'web', 'eth0', 10 * IP_BYTES],
    [5000, 'default', 'eth0', 3 * IP_BYTES],
  ]);
  assert.equal(first.topFlows[0].key, '6 192.168.1.10:40000 > 203.0.113.5:443');
  assert.equal(first.engine.flows, 2);

  send(engine, [[other, 5]], 1_500_000);
  const second = builder.build(2_000_000);
  assert.equal(second.intervalUs, 1_000_000);
  assert.equal(second.topFlows.length, 1, 'the web flow sent nothing since the first snapshot');
  const f = second.topFlows[0];
  assert.equal(f.responderPort, 5000);
  assert.equal(f.intervalBytes, 5 * IP_BYTES);
  assert.equal(f.origBytes, 8 * IP_BYTES, 'cumulative counts stay cumulative');
  assert.equal(f.rateBps, 5 * IP_BYTES * 8);
  assert.deepEqual(structuredClone(second), second, 'plain data: it crosses threads unchanged');
});

test('only the busiest flows are listed, busiest first', () => {
  const engine = engineFor(CONFIG, new RecordingDatapath());
  const builder = new SnapshotBuilder(engine, 2);
  send(engine, [[tcp(1, 5000), 2], [tcp(2, 5000), 7], [tcp(3, 5000), 1], [tcp(4, 5000), 5], [tcp(5, 5000), 3]], 0);
  const s = builder.build(1_000_000);
  assert.deepEqual(s.topFlows.map((f) => f.initiatorPort), [2, 4]);
});
