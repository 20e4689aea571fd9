// A full table evicts: the bound holds under a flood, the flow of a kind least recently seen goes
// first (to within a slack: idle-order.ts), a flood of new flows does not push out established
// connections, and reused slots get a new generation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relinkSlackUs } from '../../src/flow/idle-order.js';
import { FlowTable } from '../../src/flow/table.js';
import { DEFAULT_FLOW_TIMEOUTS } from '../../src/flow/timeouts.js';
import { ACK, SYN, TCP, UDP, fillV4, s, v4Scratch } from './packets.js';

test('the bound holds under 10x maxFlows distinct flows and the survivors are the most recent', () => {
  const maxFlows = 1000;
  const t = new FlowTable({ maxFlows, seed: 4 });
  const p = v4Scratch();
  const ids: number[] = [];
  for (let i = 0; i < 10 * maxFlows; i++) {
    ids.push(t.lookup(fillV4(p, 0x0a000000 + i, 0xc0000201, UDP, 1024 + (i % 50000), 53), i));
    assert.ok(ids[i] >= 0 && ids[i] < maxFlows);
    assert.equal(t.size, Math.min(i + 1, maxFlows));
  }
  assert.equal(t.created, 10 * maxFlows);
  assert.equal(t.evictions, 9 * maxFlows);
  // The last maxFlows flows are exactly the ones held, each still found without creating anything.
  for (let i = 9 * maxFlows; i < 10 * maxFlows; i++) {
    assert.equal(t.lookup(fillV4(p, 0x0a000000 + i, 0xc0000201, UDP, 1024 + (i % 50000), 53), 20 * maxFlows + i), ids[i]);
    assert.equal(t.lastCreated, false);
  }
  assert.equal(t.created, 10 * maxFlows);
});

test('the evicted flows are the least recently seen when packets come a slack apart', () => {
  const t = new FlowTable({ maxFlows: 100, seed: 4 });
  const p = v4Scratch();
  // One packet a second: each is at least a slack (1 s for UDP) after its flow was linked.
  const flow = (i: number): number => t.lookup(fillV4(p, 0x0a000001, 0x0a000002, UDP, 2000 + i, 53), s(now++));
  let now = 1;
  const ids = Array.from({ length: 100 }, (_, i) => flow(i));
  // Touch the even flows again: the odd ones are now the least recently seen.
  for (let i = 0; i < 100; i += 2) flow(i);
  for (let i = 100; i < 150; i++) flow(i);
  assert.equal(t.evictions, 50);
  for (let i = 0; i < 100; i++) {
    const held = t.isActive(ids[i]) && t.initPort(ids[i]) === 2000 + i;
    assert.equal(held, i % 2 === 0, `flow ${i}`);
  }
  // One more: the oldest survivor is the even flow touched first (flow 0).
  const gen0 = t.generation(ids[0]);
  flow(150);
  assert.notEqual(t.generation(ids[0]), gen0);
  assert.equal(t.isActive(ids[2]) && t.initPort(ids[2]) === 2002, true);
});

test('a packet within a slack of its flow being linked does not reorder it, and eviction is off by less than a slack', () => {
  const t = new FlowTable({ maxFlows: 100, seed: 4 });
  const p = v4Scratch();
  const slackUs = relinkSlackUs(DEFAULT_FLOW_TIMEOUTS.udpUs);
  assert.equal(slackUs, s(1));
  const lastSeenUs: number[] = [];
  const flow = (i: number, nowUs: number): number => {
    lastSeenUs[i] = nowUs;
    return t.lookup(fillV4(p, 0x0a000001, 0x0a000002, UDP, 2000 + i, 53), nowUs);
  };
  // Flows 0..99 one millisecond apart, then the even ones again 0.5 s later (within the slack).
  const ids = Array.from({ length: 100 }, (_, i) => flow(i, i * 1000));
  for (let i = 0; i < 100; i += 2) flow(i, s(0.5) + i * 1000);
  for (let i = 100; i < 150; i++) flow(i, s(0.9) + i);
  // Lazy: the 50 first linked went, even ones included, although odd flows 51..99 were idle longer.
  for (let i = 0; i < 100; i++) assert.equal(t.isActive(ids[i]) && t.initPort(ids[i]) === 2000 + i, i >= 50, `flow ${i}`);
  // But never by more than a slack: each evicted flow was seen less than a slack after every survivor.
  const survivorsLastSeen = Math.min(...lastSeenUs.slice(50, 100));
  for (let i = 0; i < 50; i++) assert.ok(lastSeenUs[i] < survivorsLastSeen + slackUs, `flow ${i}`);
  // A packet a slack after the link does relink: flow 50 (linked at 50 ms) survives the next eviction, flow 51 goes.
  flow(50, 50_000 + slackUs);
  flow(150, s(2));
  assert.equal(t.isActive(ids[50]) && t.initPort(ids[50]) === 2050, true);
  assert.equal(t.isActive(ids[51]) && t.initPort(ids[51]) === 2051, false);
});

test('a flood of new half-open flows does not evict established connections', () => {
  const t = new FlowTable({ maxFlows: 200, seed: 4 });
  const p = v4Scratch();
  const established: number[] = [];
  for (let i = 0; i < 20; i++) {
    const client = 0xc0a80100 + i;
    established.push(t.lookup(fillV4(p, client, 0x08080808, TCP, 40000, 443, SYN), s(0)));
    t.lookup(fillV4(p, 0x08080808, client, TCP, 443, 40000, SYN | ACK), s(0));
    t.lookup(fillV4(p, client, 0x08080808, TCP, 40000, 443, ACK), s(1));
  }
  // Quiet for 100 s, then 10,000 spoofed SYNs from new sources.
  for (let i = 0; i < 10_000; i++) t.lookup(fillV4(p, 0x64000000 + i, 0x0a000001, TCP, 1024 + (i & 0x7fff), 80, SYN), s(101) + i);
  assert.equal(t.size, 200);
  for (let i = 0; i < 20; i++) {
    assert.equal(t.isActive(established[i]), true);
    assert.equal(t.describe(established[i])!.tcpState, 'established');
    assert.equal(t.describe(established[i])!.initiator, `192.168.1.${i}`);
  }
  assert.equal(t.evictions, 10_000 - 180);
});

test('an expired flow is evicted before a live one, whatever its kind', () => {
  const t = new FlowTable({ maxFlows: 2, seed: 4 });
  const p = v4Scratch();
  const est = t.lookup(fillV4(p, 1, 2, TCP, 1, 2, ACK), s(0));
  t.lookup(fillV4(p, 2, 1, TCP, 2, 1, ACK), s(0));
  const closing = t.lookup(fillV4(p, 1, 2, TCP, 3, 4, 0x11), s(0));
  // At 20 s the closing flow (10 s) has expired but the established one (300 s) has not.
  t.lookup(fillV4(p, 1, 2, UDP, 5, 6), s(20));
  assert.equal(t.isActive(est), true);
  assert.equal(t.tcpState(est), 4);
  assert.equal(t.evictions, 1);
  assert.notEqual(t.describe(closing)!.proto, TCP);
});

test('generation changes when a slot is reused, and the new flow starts clean', () => {
  const t = new FlowTable({ maxFlows: 1, seed: 4 });
  const p = v4Scratch();
  const a = t.lookup(fillV4(p, 1, 2, UDP, 10, 20, 0, 500), 1);
  const genA = t.generation(a);
  t.classId[a] = 3;
  t.attrs[a] = { l7: 'dns' };
  const b = t.lookup(fillV4(p, 1, 2, UDP, 11, 20, 0, 60), 2);
  assert.equal(b, a); // one slot: reused
  assert.equal(t.lastCreated, true);
  assert.notEqual(t.generation(b), genA);
  assert.equal(t.classId[b], -1);
  assert.equal(t.attrs[b], undefined);
  assert.equal(t.origBytes(b), 60);
  assert.equal(t.origPackets(b), 1);
  assert.equal(t.firstSeenUs(b), 2);
  // Removal alone already changes the generation, so a saved (id, generation) stops matching.
  const genB = t.generation(b);
  assert.equal(t.remove(b), true);
  assert.notEqual(t.generation(b), genB);
  assert.equal(t.remove(b), false);
  assert.equal(t.size, 0);
});
