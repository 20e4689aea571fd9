/**
 * Sources in isolation: run against the immediate (null) engine or small test engines that drop or
 * CE-mark chosen packets, so each behaviour is checked without the shaper in the way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Datapath, PacketBatch } from '../../src/datapath/types.js';
import { setEcnCE } from '../../src/packet/rewrite.js';
import { ImmediateEngine, type SimEngine } from '../../src/sim/immediate-engine.js';
import { InteractiveSource } from '../../src/sim/sources/interactive.js';
import { TcpSource } from '../../src/sim/sources/tcp.js';
import { scenario, simulate, standInLink } from './helpers.js';

/** Accepts everything at once, except egress data packets whose ordinal is in `drop` (dropped) or `mark` (CE). */
class PickyEngine implements SimEngine {
  egressSeen = 0;
  ingressSeen = 0;
  ingressBytes: number[] = [];
  constructor(
    private readonly dp: Datapath,
    private readonly drop: Set<number>,
    private readonly mark: Set<number> = new Set(),
  ) {}
  receive(b: PacketBatch): void {
    for (let i = 0; i < b.count; i++) {
      if (b.directions[i] === 1) {
        this.ingressSeen++;
        if (this.ingressBytes.length < 5) this.ingressBytes.push(b.lengths[i]);
        this.dp.accept(b.handles[i]);
        continue;
      }
      const n = this.egressSeen++;
      if (this.drop.has(n)) {
        this.dp.drop(b.handles[i]);
        continue;
      }
      if (this.mark.has(n)) setEcnCE(b.buffers[i], b.offsets[i]);
      this.dp.accept(b.handles[i]);
    }
  }
  pump(): number {
    return Infinity;
  }
}

const TCP_FLOW = `
duration: 10s
rtt: 20ms
sources:
  - {name: up, kind: tcp, src: 192.168.1.10, dst: 203.0.113.5, dport: 443}
`;

describe('constant-rate and on/off sources', () => {
  it('a constant source emits exactly its rate over time', () => {
    const sc = scenario(`
duration: 10s
sources:
  - {name: cbr, kind: constant, rate: 1mbit, size: 1250, src: 192.168.1.10, dst: 198.51.100.7}
`);
    const sim = simulate([standInLink(true, true)], sc, (s) => new ImmediateEngine(s.datapath));
    sim.runUntil(sc.durationUs);
    const c = sim.sources[0].counters;
    assert.equal(c.sentPackets, 1000, '1 mbit/s of 1250-byte packets is 100 per second');
    assert.equal(c.sentBytes * 8, 10_000_000);
    assert.equal(c.deliveredPackets, 1000);
  });

  it('an on/off source is silent while off', () => {
    const sc = scenario(`
duration: 10s
sources:
  - {name: burst, kind: onoff, rate: 1mbit, size: 1250, on: 1s, off: 1s, src: 192.168.1.10, dst: 198.51.100.7}
`);
    const sim = simulate([standInLink(true, true)], sc, (s) => new ImmediateEngine(s.datapath));
    sim.runUntil(1_500_000);
    assert.equal(sim.sources[0].counters.sentPackets, 100, 'one on period so far');
    sim.runUntil(sc.durationUs);
    assert.equal(sim.sources[0].counters.sentPackets, 500, 'five on periods of 100 packets');
  });
});

describe('interactive source', () => {
  it('measures the round trip: the propagation delay when nothing queues', () => {
    const sc = scenario(`
duration: 2s
rtt: 20ms
sources:
  - {name: ping, kind: interactive, proto: icmp, interval: 100ms, src: 192.168.1.10, dst: 198.51.100.7}
  - {name: far, kind: interactive, interval: 50ms, rtt: 80ms, src: 192.168.1.11, dst: 198.51.100.8}
`);
    const sim = simulate([standInLink(true, true)], sc, (s) => new ImmediateEngine(s.datapath));
    sim.runUntil(sc.durationUs);
    const [ping, far] = sim.sources as InteractiveSource[];
    assert.equal(ping.responses, 20);
    assert.equal(far.responses, 39, 'the request sent at 1.95s has no answer before 2s');
    // The histograms hold the round trip above propagation: nothing, when nothing queues.
    assert.equal(sim.hist.totals[1], 20);
    assert.equal(sim.hist.quantile(1, 0.99), 0, 'ping: no queueing');
    assert.equal(sim.hist.quantile(3, 0.99), 0, 'far: no queueing');
    assert.equal(far.path.rttUs, 80_000);
  });
});

describe('TCP-like source', () => {
  it('slow start doubles the window every round trip', () => {
    const sim = simulate([standInLink(true, true)], scenario(TCP_FLOW), (s) => new ImmediateEngine(s.datapath));
    const tcp = sim.sources[0] as TcpSource;
    sim.runUntil(1);
    assert.equal(tcp.cwnd, 10);
    assert.equal(tcp.inFlight, 10);
    for (let k = 1; k <= 4; k++) {
      sim.runUntil(k * 20_000);
      assert.equal(tcp.cwnd, 10 * 2 ** k, `after ${k} round trips`);
    }
  });

  it('the receiver window caps the congestion window', () => {
    const sc = scenario(TCP_FLOW.replace('dport: 443}', 'dport: 443, rwnd: 146000}'));
    const sim = simulate([standInLink(true, true)], sc, (s) => new ImmediateEngine(s.datapath));
    sim.runUntil(1_000_000);
    const tcp = sim.sources[0] as TcpSource;
    assert.equal(tcp.cwnd, 100);
    // 100 segments of 1460 bytes per 20 ms round trip.
    const goodputBps = (tcp.counters.deliveredBytes * 8) / 1;
    assert.ok(goodputBps > 0.9 * 58.4e6 && goodputBps <= 58.4e6, `goodput ${goodputBps}`);
  });

  it('halves the window on loss, at most once per round trip', () => {
    let engine!: PickyEngine;
    // Packets 30..32 go out together at 40 ms (third window), so their loss is known at 60 ms; 400 a few round trips later.
    const sim = simulate([standInLink(true, true)], scenario(TCP_FLOW), (s) => (engine = new PickyEngine(s.datapath, new Set([30, 31, 32, 400]))));
    const tcp = sim.sources[0] as TcpSource;
    sim.runUntil(59_999);
    const before = tcp.cwnd;
    assert.equal(tcp.reductions, 0);
    sim.runUntil(60_000);
    assert.equal(tcp.reductions, 1, 'three losses of one window, learnt one round trip after the drop, cut once');
    assert.equal(tcp.ssthresh, before / 2);
    sim.runUntil(1_000_000);
    assert.equal(tcp.reductions, 2, 'a later loss cuts again');
    assert.equal(tcp.counters.droppedPackets, 4);
    assert.ok(engine.egressSeen > 400);
  });

  it('retransmits lost segments: goodput counts each byte once and the transfer completes', () => {
    const sc = scenario(TCP_FLOW.replace('dport: 443}', 'dport: 443, bytes: 1MB}'));
    const drops = new Set([5, 50, 51, 200, 300, 301, 302, 650]);
    const sim = simulate([standInLink(true, true)], sc, (s) => new PickyEngine(s.datapath, drops));
    sim.runUntil(sc.durationUs);
    const tcp = sim.sources[0] as TcpSource;
    const segments = Math.ceil(1_000_000 / 1460);
    assert.equal(tcp.counters.deliveredBytes, segments * 1460);
    assert.equal(tcp.counters.sentPackets, segments + drops.size - [...drops].filter((d) => d >= segments + drops.size).length);
    assert.ok(tcp.counters.completedUs > 0 && tcp.counters.completedUs < 2_000_000, `completed at ${tcp.counters.completedUs}`);
  });

  it('reacts to an ECN echo like a loss, without retransmitting', () => {
    const sc = scenario(`${TCP_FLOW}ecn: true\n`);
    let engine!: PickyEngine;
    const sim = simulate([standInLink(true, true)], sc, (s) => (engine = new PickyEngine(s.datapath, new Set(), new Set([30]))));
    sim.runUntil(500_000);
    const tcp = sim.sources[0] as TcpSource;
    assert.equal(tcp.counters.ceMarked, 1);
    assert.equal(tcp.reductions, 1);
    assert.equal(tcp.counters.deliveredPackets, tcp.counters.sentPackets - tcp.inFlight);
    assert.ok(engine.egressSeen > 100);
  });

  it('sends pure ACKs through the shaper when the reverse direction is shaped, else around it', () => {
    let shapedEngine!: PickyEngine;
    const shaped = simulate([standInLink(true, true)], scenario(TCP_FLOW), (s) => (shapedEngine = new PickyEngine(s.datapath, new Set())));
    shaped.runUntil(200_000);
    assert.ok(shapedEngine.ingressSeen > 100);
    assert.deepEqual(new Set(shapedEngine.ingressBytes), new Set([40]), 'pure ACKs of IPv4 are 40 bytes');

    let bypassEngine!: PickyEngine;
    const bypass = simulate([standInLink(true, false)], scenario(TCP_FLOW), (s) => (bypassEngine = new PickyEngine(s.datapath, new Set())));
    bypass.runUntil(200_000);
    assert.equal(bypassEngine.ingressSeen, 0);
    const a = shaped.sources[0] as TcpSource;
    const b = bypass.sources[0] as TcpSource;
    assert.equal(b.cwnd, a.cwnd, 'the same window growth either way');
  });

  it('IPv6 flows use 60-byte ACKs and fill 1500-byte packets', () => {
    let engine!: PickyEngine;
    const sc = scenario(TCP_FLOW.replace('src: 192.168.1.10, dst: 203.0.113.5', 'src: "2001:db8::10", dst: "2001:db8:1::5"'));
    const sim = simulate([standInLink(true, true)], sc, (s) => (engine = new PickyEngine(s.datapath, new Set())));
    sim.runUntil(100_000);
    assert.deepEqual(new Set(engine.ingressBytes), new Set([60]));
    const tcp = sim.sources[0] as TcpSource;
    assert.equal(tcp.params.mssBytes, 1440);
    assert.equal(tcp.dataPacket.lengthBytes, 1500);
  });
});
