// Reading the table off the hot path: iterating active flows and describing one in plain values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTable } from '../../src/flow/table.js';
import { SYN, TCP, UDP, pkt, s } from './packets.js';

test('nextActive visits exactly the active flows, in slot order', () => {
  const t = new FlowTable({ maxFlows: 32, seed: 6 });
  assert.equal(t.nextActive(-1), -1);
  const ids = Array.from({ length: 10 }, (_, i) => t.lookup(pkt({ src: '10.0.0.1', dst: '10.0.0.2', proto: UDP, sport: i + 1, dport: 9 }), i));
  t.remove(ids[0]);
  t.remove(ids[4]);
  t.remove(ids[9]);
  const seen: number[] = [];
  for (let id = t.nextActive(-1); id >= 0; id = t.nextActive(id)) seen.push(id);
  const expected = ids.filter((_, i) => ![0, 4, 9].includes(i)).sort((x, y) => x - y);
  assert.deepEqual(seen, expected);
  assert.equal(seen.length, t.size);
});

test('describe gives text addresses, ports, state, counters and expiry time', () => {
  const t = new FlowTable({ maxFlows: 8, seed: 6 });
  const id = t.lookup(pkt({ src: '2001:db8:0:0:1::5', dst: '2001:db8::1:0:0:9', proto: TCP, sport: 40000, dport: 22, flags: SYN, bytes: 80 }), s(3));
  t.classId[id] = 2;
  assert.deepEqual(t.describe(id), {
    id,
    generation: 0,
    proto: TCP,
    ipVersion: 6,
    initiator: '2001:db8::1:0:0:5',
    initiatorPort: 40000,
    responder: '2001:db8::1:0:0:9',
    responderPort: 22,
    tcpState: 'syn_sent',
    classId: 2,
    firstSeenUs: s(3),
    lastSeenUs: s(3),
    expiresAtUs: s(33),
    origBytes: 80,
    origPackets: 1,
    replyBytes: 0,
    replyPackets: 0,
  });
  const v4 = t.lookup(pkt({ src: '203.0.113.250', dst: '10.0.0.1', proto: UDP, sport: 123, dport: 123 }), s(4));
  assert.equal(t.describe(v4)!.initiator, '203.0.113.250');
  assert.equal(t.describe(v4)!.responder, '10.0.0.1');
  assert.equal(t.describe(5), undefined);
  assert.equal(t.describe(-1), undefined);
  assert.equal(t.describe(100), undefined);
  assert.equal(t.isActive(1.5), false);
});
