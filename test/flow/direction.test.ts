// Both directions of a connection are one flow; anything that differs in the 5-tuple (or IP version)
// is another flow; counters are kept per direction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { FlowTable } from '../../src/flow/table.js';
import { ACK, ICMP, Pkt, SYN, TCP, UDP, pkt, reverse, s } from './packets.js';

const table = (): FlowTable => new FlowTable({ maxFlows: 64, seed: 1 });

test('both directions of an IPv4 TCP connection map to one flow', () => {
  const t = table();
  const fwd: Pkt = { src: '192.0.2.10', dst: '198.51.100.7', proto: TCP, sport: 40000, dport: 443, flags: SYN };
  const id = t.lookup(pkt(fwd), 1);
  assert.equal(t.lastCreated, true);
  assert.equal(t.lastIsReply, false);
  assert.equal(t.lookup(pkt(reverse(fwd, SYN | ACK)), 2), id);
  assert.equal(t.lastCreated, false);
  assert.equal(t.lastIsReply, true);
  assert.equal(t.lookup(pkt({ ...fwd, flags: ACK }), 3), id);
  assert.equal(t.lastIsReply, false);
  assert.equal(t.size, 1);
  assert.equal(t.created, 1);
});

test('both directions of an IPv6 UDP flow map to one flow', () => {
  const t = table();
  const fwd: Pkt = { src: '2001:db8::1', dst: '2001:db8:0:1::53', proto: UDP, sport: 5353, dport: 53 };
  const id = t.lookup(pkt(fwd), 1);
  assert.equal(t.lookup(pkt(reverse(fwd)), 2), id);
  assert.equal(t.lastIsReply, true);
  assert.equal(t.lookup(pkt(fwd), 3), id);
  assert.equal(t.lastIsReply, false);
  assert.equal(t.size, 1);
  const d = t.describe(id)!;
  assert.equal(d.initiator, '2001:db8::1');
  assert.equal(d.responder, '2001:db8:0:1::53');
  assert.equal(d.initiatorPort, 5353);
  assert.equal(d.responderPort, 53);
  assert.equal(d.ipVersion, 6);
});

test('a different port, protocol, address or IP version is a different flow', () => {
  const t = table();
  const base: Pkt = { src: '10.0.0.1', dst: '10.0.0.2', proto: UDP, sport: 1000, dport: 2000 };
  const variants: Pkt[] = [
    base,
    { ...base, sport: 1001 },
    { ...base, dport: 2001 },
    { ...base, proto: TCP },
    { ...base, proto: 132 },
    { ...base, src: '10.0.0.3' },
    { ...base, dst: '10.0.0.4' },
    // The ports swapped but not the addresses: not the reply direction of base.
    { ...base, sport: 2000, dport: 1000 },
    // The same addresses, v4-mapped, in an IPv6 packet.
    { ...base, src: '::ffff:a00:1', dst: '::ffff:a00:2' },
  ];
  const ids = variants.map((p, i) => t.lookup(pkt(p), i));
  assert.equal(new Set(ids).size, variants.length);
  assert.equal(t.size, variants.length);
  // Each still finds its own flow, in both directions.
  variants.forEach((p, i) => {
    assert.equal(t.lookup(pkt(p), 100 + i), ids[i]);
    assert.equal(t.lookup(pkt(reverse(p)), 200 + i), ids[i]);
  });
  assert.equal(t.size, variants.length);
});

test('bytes and packets are counted per direction, with first and last seen times', () => {
  const t = table();
  const fwd: Pkt = { src: '192.0.2.1', dst: '192.0.2.2', proto: UDP, sport: 5000, dport: 6000, bytes: 100 };
  const id = t.lookup(pkt(fwd), s(1));
  t.lookup(pkt(fwd), s(2));
  t.lookup(pkt(reverse(fwd, undefined, 1500)), s(3));
  t.lookup(pkt(fwd), s(4));
  t.lookup(pkt(reverse(fwd, undefined, 1400)), s(5));
  assert.equal(t.origPackets(id), 3);
  assert.equal(t.origBytes(id), 300);
  assert.equal(t.replyPackets(id), 2);
  assert.equal(t.replyBytes(id), 2900);
  assert.equal(t.firstSeenUs(id), s(1));
  assert.equal(t.lastSeenUs(id), s(5));
});

test('packets without ports key on protocol and addresses', () => {
  const t = table();
  const ping: Pkt = { src: '192.0.2.1', dst: '192.0.2.2', proto: ICMP };
  const id = t.lookup(pkt(ping), 1);
  assert.equal(t.lookup(pkt(reverse(ping)), 2), id);
  assert.equal(t.lastIsReply, true);
  // A non-first UDP fragment (ports 0) is a flow of its own, apart from the ported UDP flow.
  const udp = t.lookup(pkt({ ...ping, proto: UDP, sport: 53, dport: 9999 }), 3);
  const frag = t.lookup(pkt({ ...ping, proto: UDP }), 4);
  assert.notEqual(frag, udp);
  assert.notEqual(frag, id);
  assert.equal(t.describe(frag)!.initiatorPort, 0);
});

test('a TCP flow first seen at its SYN+ACK takes the SYN+ACK receiver as initiator', () => {
  const t = table();
  const synAck: Pkt = { src: '198.51.100.7', dst: '192.0.2.10', proto: TCP, sport: 443, dport: 40000, flags: SYN | ACK, bytes: 60 };
  const id = t.lookup(pkt(synAck), 1);
  assert.equal(t.lastCreated, true);
  assert.equal(t.lastIsReply, true);
  const d = t.describe(id)!;
  assert.equal(d.initiator, '192.0.2.10');
  assert.equal(d.initiatorPort, 40000);
  assert.equal(d.responder, '198.51.100.7');
  assert.equal(d.responderPort, 443);
  assert.equal(d.replyBytes, 60);
  assert.equal(d.origBytes, 0);
  assert.equal(t.lookup(pkt(reverse(synAck, ACK)), 2), id);
  assert.equal(t.lastIsReply, false);
  assert.equal(t.describe(id)!.tcpState, 'established');
});

test('lookup allocates nothing per packet', async () => {
  const t = new FlowTable({ maxFlows: 1024, seed: 3 });
  const pkts = Array.from({ length: 512 }, (_, i) =>
    pkt({ src: `10.0.${i >> 8}.${i & 255}`, dst: '2.2.2.2', proto: UDP, sport: 1000 + i, dport: 53 }),
  );
  const v6 = pkt({ src: '2001:db8::1', dst: '2001:db8::2', proto: TCP, sport: 1, dport: 2 });
  let now = 0;
  const run = (): void => {
    for (let r = 0; r < 200; r++) {
      for (const p of pkts) t.lookup(p, now++);
      t.lookup(v6, now++);
    }
  };
  run(); // warm up: JIT compile before measuring
  const gcStartsMs: number[] = [];
  const obs = new PerformanceObserver((list) => gcStartsMs.push(...list.getEntries().map((e) => e.startTime)));
  obs.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  const startMs = performance.now();
  run();
  const endMs = performance.now();
  const grownBytes = process.memoryUsage().heapUsed - before;
  await new Promise((resolve) => setTimeout(resolve, 20));
  obs.disconnect();
  // 100k lookups: a string key or an object per lookup would grow the heap by megabytes or force
  // a garbage collection during the run.
  assert.ok(grownBytes < 400_000, `heap grew by ${grownBytes} bytes over 100k lookups`);
  const gcsDuringRun = gcStartsMs.filter((ms) => ms >= startMs && ms <= endMs).length;
  assert.equal(gcsDuringRun, 0, 'garbage collections during the run');
});
