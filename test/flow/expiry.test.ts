// Idle expiry on virtual time: each kind of flow goes after its own timeout, in deadline order (to
// within a slack, idle-order.ts), never before its deadline, and expire() does no more than the work
// it is allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTable } from '../../src/flow/table.js';
import { DEFAULT_FLOW_TIMEOUTS } from '../../src/flow/timeouts.js';
import { ACK, FIN, ICMP, Pkt, RST, SYN, TCP, UDP, fillV4, pkt, reverse, s, v4Scratch } from './packets.js';

/** An established TCP connection (handshake done) at time nowUs; returns its id. */
function establish(t: FlowTable, c: Pkt, nowUs: number): number {
  const id = t.lookup(pkt({ ...c, flags: SYN }), nowUs);
  t.lookup(pkt(reverse(c, SYN | ACK)), nowUs);
  t.lookup(pkt({ ...c, flags: ACK }), nowUs);
  return id;
}

const conn = (sport: number): Pkt => ({ src: '10.1.1.1', dst: '10.2.2.2', proto: TCP, sport, dport: 443 });

test('closing flows expire after the short timeout, established ones after the long one', () => {
  const t = new FlowTable({ maxFlows: 16, seed: 2 });
  const est = establish(t, conn(1), s(0));
  const fin = establish(t, conn(2), s(0));
  t.lookup(pkt({ ...conn(2), flags: FIN | ACK }), s(0));
  const rst = establish(t, conn(3), s(0));
  t.lookup(pkt(reverse(conn(3), RST)), s(0));

  assert.equal(t.expire(s(9.9), 100), 0);
  assert.equal(t.expire(s(10), 100), 2);
  assert.equal(t.isActive(fin), false);
  assert.equal(t.isActive(rst), false);
  assert.equal(t.isActive(est), true);
  assert.equal(t.expire(s(299), 100), 0);
  assert.equal(t.expire(s(300), 100), 1);
  assert.equal(t.isActive(est), false);
  assert.equal(t.size, 0);
  assert.equal(t.expired, 3);
});

test('each kind of flow has its own default timeout', () => {
  const t = new FlowTable({ maxFlows: 16, seed: 2 });
  const synOnly = t.lookup(pkt({ ...conn(1), flags: SYN }), 0);
  const stray = t.lookup(pkt({ ...conn(2), flags: ACK }), 0);
  const udp = t.lookup(pkt({ src: '10.0.0.1', dst: '10.0.0.2', proto: UDP, sport: 1, dport: 2 }), 0);
  const icmp = t.lookup(pkt({ src: '10.0.0.1', dst: '10.0.0.2', proto: ICMP }), 0);
  const est = establish(t, conn(3), 0);
  const expected: [number, number][] = [
    [synOnly, DEFAULT_FLOW_TIMEOUTS.tcpOpeningUs],
    [stray, DEFAULT_FLOW_TIMEOUTS.tcpOpeningUs],
    [udp, DEFAULT_FLOW_TIMEOUTS.udpUs],
    [icmp, DEFAULT_FLOW_TIMEOUTS.otherUs],
    [est, DEFAULT_FLOW_TIMEOUTS.tcpEstablishedUs],
  ];
  assert.deepEqual(
    [DEFAULT_FLOW_TIMEOUTS.tcpOpeningUs, DEFAULT_FLOW_TIMEOUTS.tcpEstablishedUs, DEFAULT_FLOW_TIMEOUTS.tcpClosingUs],
    [s(30), s(300), s(10)],
  );
  assert.equal(DEFAULT_FLOW_TIMEOUTS.udpUs, s(60));
  assert.equal(DEFAULT_FLOW_TIMEOUTS.otherUs, s(30));
  for (const [id, timeoutUs] of expected) {
    assert.equal(t.expiresAtUs(id), timeoutUs, `flow ${t.describe(id)!.tcpState} proto ${t.proto(id)}`);
  }
  for (const [timeoutUs, count] of [[s(30), 3], [s(60), 1], [s(300), 1]]) {
    assert.equal(t.expire(timeoutUs - 1, 100), 0);
    assert.equal(t.expire(timeoutUs, 100), count);
    for (const [id, us] of expected) assert.equal(t.isActive(id), us > timeoutUs);
  }
});

test('a younger UDP flow expires while an older established TCP flow stays', () => {
  const t = new FlowTable({ maxFlows: 16, seed: 2 });
  const est = establish(t, conn(1), s(0));
  const udp = t.lookup(pkt({ src: '10.0.0.1', dst: '10.0.0.2', proto: UDP, sport: 1, dport: 2 }), s(100));
  assert.equal(t.expire(s(161), 100), 1);
  assert.equal(t.isActive(udp), false);
  assert.equal(t.isActive(est), true);
});

test('traffic pushes the deadline back, and a state change moves the flow to its new timeout', () => {
  const t = new FlowTable({ maxFlows: 16, seed: 2 });
  const u: Pkt = { src: '10.0.0.1', dst: '10.0.0.2', proto: UDP, sport: 1, dport: 2 };
  const udp = t.lookup(pkt(u), s(0));
  t.lookup(pkt(reverse(u)), s(50));
  assert.equal(t.expire(s(100), 100), 0);
  assert.equal(t.isActive(udp), true);
  assert.equal(t.expire(s(110), 100), 1);

  const est = establish(t, conn(7), s(200));
  t.lookup(pkt({ ...conn(7), flags: FIN | ACK }), s(250));
  assert.equal(t.expiresAtUs(est), s(260));
  assert.equal(t.expire(s(260), 100), 1);
});

test('expire removes at most maxWork flows per call, earliest deadline first', () => {
  const t = new FlowTable({ maxFlows: 256, seed: 2, timeouts: { udpUs: 1000 } });
  const p = v4Scratch();
  const ids: number[] = [];
  for (let i = 0; i < 100; i++) ids.push(t.lookup(fillV4(p, 0x0a000001, 0x0a000002, UDP, 1000 + i, 53), i));
  assert.equal(t.expire(5000, 10), 10);
  assert.equal(t.size, 90);
  // The ten oldest went.
  for (let i = 0; i < 100; i++) assert.equal(t.isActive(ids[i]), i >= 10, `flow ${i}`);
  assert.equal(t.expire(5000, 0), 0);
  let calls = 0;
  while (t.expire(5000, 7) > 0) calls++;
  assert.equal(calls, Math.ceil(90 / 7));
  assert.equal(t.size, 0);
  assert.equal(t.expired, 100);
});

test('a flow seen within its slack of being linked waits, without holding up expired flows of other kinds', () => {
  // Slacks: established 1600 / 16 = 100 µs, UDP 160 / 16 = 10 µs.
  const t = new FlowTable({ maxFlows: 16, seed: 2, timeouts: { tcpEstablishedUs: 1600, udpUs: 160 } });
  const est = establish(t, conn(1), 0);
  t.lookup(pkt({ ...conn(1), flags: ACK }), 50); // within the slack: stays linked at 0, deadline 1650
  const udp = t.lookup(pkt({ src: '10.0.0.1', dst: '10.0.0.2', proto: UDP, sport: 1, dport: 2 }), 1441); // deadline 1601
  assert.equal(t.expiresAtUs(est), 1650);
  assert.equal(t.expire(1620, 10), 1);
  assert.equal(t.isActive(udp), false);
  assert.equal(t.isActive(est), true);
  assert.equal(t.expire(1649, 10), 0);
  assert.equal(t.expire(1650, 10), 1);
  assert.equal(t.isActive(est), false);
});

test('an expired flow comes back as a new flow with a new generation', () => {
  const t = new FlowTable({ maxFlows: 4, seed: 2 });
  const u: Pkt = { src: '10.0.0.1', dst: '10.0.0.2', proto: UDP, sport: 1, dport: 2 };
  const id = t.lookup(pkt(u), s(0));
  const gen = t.generation(id);
  t.classId[id] = 5;
  t.attrs[id] = { owner: 'fred' };
  assert.equal(t.expire(s(61), 10), 1);
  const again = t.lookup(pkt(u), s(62));
  assert.equal(t.lastCreated, true);
  assert.notEqual(t.generation(again), gen);
  assert.equal(t.classId[again], -1);
  assert.equal(t.attrs[again], undefined);
  assert.equal(t.origPackets(again), 1);
  assert.equal(t.firstSeenUs(again), s(62));
});

test('timeouts can be configured and are validated', () => {
  const t = new FlowTable({ maxFlows: 4, seed: 2, timeouts: { udpUs: s(5), otherUs: undefined } });
  const udp = t.lookup(pkt({ src: '10.0.0.1', dst: '10.0.0.2', proto: UDP, sport: 1, dport: 2 }), 0);
  const icmp = t.lookup(pkt({ src: '10.0.0.1', dst: '10.0.0.2', proto: ICMP }), 0);
  assert.equal(t.expiresAtUs(udp), s(5));
  assert.equal(t.expiresAtUs(icmp), s(30));
  assert.throws(() => new FlowTable({ maxFlows: 4, timeouts: { udpUs: -1 } }), RangeError);
  assert.throws(() => new FlowTable({ maxFlows: 4, timeouts: { tcpClosingUs: NaN } }), RangeError);
  assert.throws(() => new FlowTable({ maxFlows: 0 }), RangeError);
  assert.throws(() => new FlowTable({ maxFlows: 2.5 }), RangeError);
});
