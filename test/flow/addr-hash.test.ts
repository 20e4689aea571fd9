// addrHash: one value per address in a table, whichever flow, side, port or protocol it appears in,
// so the scheduler can key per-host sub-queues on it; and the flow hash is symmetric.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTable } from '../../src/flow/table.js';
import { flowHashKeys, hashFlowKey, hashFlowV4 } from '../../src/flow/hash.js';
import { ACK, ICMP, SYN, TCP, UDP, pkt } from './packets.js';

test('addrHash is equal for the same address across flows and sides', () => {
  const t = new FlowTable({ maxFlows: 64, seed: 5 });
  const host = '192.168.1.20';
  const a = t.lookup(pkt({ src: host, dst: '8.8.8.8', proto: UDP, sport: 5000, dport: 53 }), 1);
  const b = t.lookup(pkt({ src: host, dst: '1.1.1.1', proto: TCP, sport: 40000, dport: 443, flags: SYN }), 2);
  const c = t.lookup(pkt({ src: '203.0.113.9', dst: host, proto: TCP, sport: 50000, dport: 22, flags: SYN }), 3);
  const d = t.lookup(pkt({ src: host, dst: '9.9.9.9', proto: ICMP }), 4);
  // First seen at its SYN+ACK: the table swaps sides, and the hashes follow the addresses.
  const e = t.lookup(pkt({ src: '1.0.0.1', dst: host, proto: TCP, sport: 443, dport: 40001, flags: SYN | ACK }), 5);
  const h = t.addrHash(a, 0);
  assert.equal(t.addrHash(b, 0), h);
  assert.equal(t.addrHash(c, 1), h);
  assert.equal(t.addrHash(d, 0), h);
  assert.equal(t.describe(e)!.initiator, host);
  assert.equal(t.addrHash(e, 0), h);
  // Other addresses hash differently (these five certainly; collisions are possible in general).
  const others = [t.addrHash(a, 1), t.addrHash(b, 1), t.addrHash(c, 0), t.addrHash(d, 1), t.addrHash(e, 1)];
  assert.equal(new Set([h, ...others]).size, 6);
  for (const x of [h, ...others]) assert.ok(Number.isInteger(x) && x >= 0 && x <= 0xffffffff);
});

test('addrHash of IPv6 addresses, and of an IPv4 address and its v4-mapped form', () => {
  const t = new FlowTable({ maxFlows: 64, seed: 5 });
  const a = t.lookup(pkt({ src: '2001:db8::7', dst: '2001:db8::53', proto: UDP, sport: 1, dport: 53 }), 1);
  const b = t.lookup(pkt({ src: '2001:db8::99', dst: '2001:db8::7', proto: TCP, sport: 2, dport: 80, flags: ACK }), 2);
  assert.equal(t.addrHash(a, 0), t.addrHash(b, 1));
  assert.notEqual(t.addrHash(a, 0), t.addrHash(a, 1));
  // The IP version is part of the flow key, but an address hashes the same in both forms.
  const v4 = t.lookup(pkt({ src: '10.0.0.1', dst: '10.0.0.2', proto: UDP, sport: 1, dport: 2 }), 3);
  const mapped = t.lookup(pkt({ src: '::ffff:a00:1', dst: '::ffff:a00:2', proto: UDP, sport: 1, dport: 2 }), 4);
  assert.notEqual(v4, mapped);
  assert.equal(t.addrHash(v4, 0), t.addrHash(mapped, 0));
});

test('the flow hash is symmetric in its endpoints and depends on every field', () => {
  const keys = flowHashKeys(11);
  const words = (src: number[], dst: number[]): Int32Array => Int32Array.from([...src, ...dst]);
  const a = [0x20010db8, 0, 0, 1];
  const b = [0x20010db8, 0, 0, 2];
  const base = hashFlowKey(keys, words(a, b), 1000, 443, 6 | (6 << 8));
  assert.equal(hashFlowKey(keys, words(b, a), 443, 1000, 6 | (6 << 8)), base);
  const variants = [
    hashFlowKey(flowHashKeys(12), words(a, b), 1000, 443, 6 | (6 << 8)),
    hashFlowKey(keys, words(a, b), 1000, 443, 17 | (6 << 8)),
    hashFlowKey(keys, words(a, b), 1000, 443, 6 | (4 << 8)),
    hashFlowKey(keys, words([0x20010db8, 0, 1, 1], b), 1000, 443, 6 | (6 << 8)),
    hashFlowKey(keys, words([0x20010db9, 0, 0, 1], b), 1000, 443, 6 | (6 << 8)),
    hashFlowKey(keys, words(a, b), 1001, 443, 6 | (6 << 8)),
    // Ports swapped but not addresses (the same flow as addresses swapped but not ports).
    hashFlowKey(keys, words(a, b), 443, 1000, 6 | (6 << 8)),
  ];
  assert.equal(new Set([base, ...variants]).size, 8);
  // Same address both sides: ordered by port, still symmetric.
  assert.equal(hashFlowKey(keys, words(a, a), 5, 7, 17), hashFlowKey(keys, words(a, a), 7, 5, 17));
});

test('the IPv4 shortcut hashes like the full v4-mapped words', () => {
  const keys = flowHashKeys(0x1234567);
  for (const [src, dst] of [[0, 1], [0x0a000001, 0x0a000002], [0x7fffffff, -1], [-0x3f57fe00, 0x08080808]]) {
    const words = Int32Array.from([0, 0, 0xffff, src, 0, 0, 0xffff, dst]);
    assert.equal(hashFlowV4(keys, src, dst, 40000, 443, 6 | (4 << 8)), hashFlowKey(keys, words, 40000, 443, 6 | (4 << 8)));
  }
});

test('the flow hash spreads one busy host\'s flows evenly over the buckets', () => {
  const keys = flowHashKeys(99);
  const buckets = new Uint32Array(1024);
  const n = 64 * 1024;
  for (let i = 0; i < n; i++) {
    // One LAN host, sequential source ports, a handful of servers: the low-entropy case.
    const w = Int32Array.from([0, 0, 0xffff, 0xc0a80114, 0, 0, 0xffff, 0x5db8d800 + (i & 7)]);
    buckets[hashFlowKey(keys, w, 32768 + (i >> 3), 443, 6 | (4 << 8)) & 1023]++;
  }
  const mean = n / buckets.length;
  const chi2 = buckets.reduce((acc, c) => acc + (c - mean) ** 2 / mean, 0);
  // 1023 degrees of freedom: mean 1023, sd ~45; a poor hash lands far above.
  assert.ok(chi2 < 1023 + 6 * 45, `chi-square ${chi2.toFixed(0)}`);
});

test('tables with different seeds hash differently; equal seeds agree', () => {
  const p = pkt({ src: '192.0.2.1', dst: '192.0.2.2', proto: UDP, sport: 1, dport: 2 });
  const hashes = [1, 2, 3].map((seed) => {
    const t = new FlowTable({ maxFlows: 4, seed });
    return t.addrHash(t.lookup(p, 0), 0);
  });
  assert.equal(new Set(hashes).size, 3);
  const again = new FlowTable({ maxFlows: 4, seed: 2 });
  assert.equal(again.addrHash(again.lookup(p, 0), 0), hashes[1]);
});
