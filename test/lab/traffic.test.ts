/**
 * The traffic generator in a real lab (root; without root every test fails saying so): bulk TCP whose
 * receiver gets every byte the sender counted, at a high rate over an unshaped veth; constant-rate
 * UDP measured at its rate with nothing lost; idle round trips well under a millisecond over UDP and
 * TCP; probes toward a silent port counted lost in bounded time; bulk and probe side by side; a flood
 * that delivers the requested count to ports nobody listens on; IPv6 through a router; and failures
 * (a port in use, nothing listening) as one line with no process left behind.
 *
 * The figures are printed with t.diagnostic. All traffic stays between the lab's own namespaces;
 * every lab is destroyed in after() or finally.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { Lab, NEED_ROOT } from '../../src/lab/index.js';
import {
  goodputBps, latencyProbe, READY_TIMEOUT_MS, runAgent, startAgent, tcpBulk, udpFlood, udpRate, type LatencyResult,
} from '../../src/lab/traffic/index.js';

function mbit(bps: number): string {
  return `${(bps / 1e6).toFixed(2)} Mbit/s`;
}

function rtts(r: LatencyResult): string {
  return `p50 ${r.p50Us} µs, p90 ${r.p90Us} µs, p99 ${r.p99Us} µs, max ${r.maxUs} µs, ${r.rttsUs.length}/${r.sent} answered`;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** UDP datagrams this host's stack received for ports nobody listens on (the `Udp: NoPorts` counter). */
async function udpNoPorts(lab: Lab, host: string): Promise<number> {
  const snmp = (await lab.exec(host, ['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Udp: '));
  const names = snmp[0].split(/\s+/);
  return Number(snmp[1].split(/\s+/)[names.indexOf('NoPorts')]);
}

describe('traffic generator', () => {
  before(() => {
    assert.equal(process.getuid?.(), 0, NEED_ROOT);
  });

  describe('over one unshaped veth pair', () => {
    let lab: Lab;
    before(async () => {
      lab = await Lab.pair({ name: 'traffic' });
    });
    after(async () => {
      await lab?.destroy();
    });

    it('tcp-bulk: the receiver gets every byte the sender sent, over all streams, fast', { timeout: 60_000 }, async (t) => {
      const r = await tcpBulk(lab, { from: 'client', to: 'server', durationMs: 3000, streams: 2 });
      const rateBps = goodputBps(r, 1000, 3000);
      t.diagnostic(`unshaped TCP, 2 streams: ${(rateBps / 1e9).toFixed(2)} Gbit/s; CPU sender ${(r.senderCpuUs / 1e6).toFixed(2)} s, receiver ${(r.receiverCpuUs / 1e6).toFixed(2)} s`);
      assert.equal(r.flushed, true);
      assert.equal(r.connections, 2);
      assert.ok(r.bytes > 0);
      assert.equal(r.sentBytes, r.bytes, 'bytes sent and received');
      assert.ok(rateBps > 200e6, `goodput ${mbit(rateBps)}, want well over 200 Mbit/s`);
      assert.ok(r.senderDurationMs >= 2990 && r.senderDurationMs < 3500, `sender ran ${r.senderDurationMs} ms`);
      assert.ok(r.binsBytes.length >= 30 && r.binsBytes.length <= 36, `receiver bins: ${r.binsBytes.length}`);
      assert.ok(r.binsBytes[0] > 0, 'the first bin starts at the first byte');
      assert.equal(r.binsBytes.reduce((a, b) => a + b, 0), r.bytes);
    });

    it('udp-rate: 20 Mbit/s is measured as 20 Mbit/s, nothing lost or out of order', { timeout: 60_000 }, async (t) => {
      const r = await udpRate(lab, { from: 'client', to: 'server', rateBps: 20e6, payloadBytes: 1200, durationMs: 3000 });
      const rateBps = goodputBps(r, 500, 2500);
      t.diagnostic(`UDP at 20 Mbit/s: measured ${mbit(rateBps)} (${((rateBps / 20e6 - 1) * 100).toFixed(2)}%), sent ${r.sent}, received ${r.received}`);
      assert.equal(r.wanted, 6250); // 20e6 / 8 / 1200 * 3
      assert.equal(r.sent, r.wanted);
      assert.equal(r.received, r.sent);
      assert.equal(r.lost, 0);
      assert.equal(r.reordered, 0);
      assert.equal(r.duplicates, 0);
      assert.equal(r.bytes, r.sent * 1200);
      assert.ok(Math.abs(rateBps - 20e6) <= 20e6 * 0.02, `measured ${mbit(rateBps)}, want 20 ± 2%`);
      assert.ok(Math.abs(r.senderDurationMs - 3000) < 50, `sender ran ${r.senderDurationMs} ms`);
    });

    it('latency probe: idle round trips well under 1 ms, every probe answered, over UDP and TCP', { timeout: 60_000 }, async (t) => {
      for (const proto of ['udp', 'tcp'] as const) {
        const r = await latencyProbe(lab, { from: 'client', to: 'server', proto, intervalMs: 10, durationMs: 1500 });
        t.diagnostic(`idle ${proto}: ${rtts(r)}`);
        assert.equal(r.sent, 150);
        assert.equal(r.lost, 0);
        assert.equal(r.rttsUs.length, 150);
        assert.ok(r.rttsUs.every((us) => us > 0 && us < 1_000_000));
        assert.ok(r.p50Us < 1000, `${proto} p50 ${r.p50Us} µs`);
        assert.ok(r.p50Us <= r.p90Us && r.p90Us <= r.p99Us && r.p99Us <= r.maxUs);
      }
    });

    it('a probe toward a port where nothing answers counts every probe lost, in bounded time', { timeout: 60_000 }, async () => {
      const started = Date.now();
      const r = await runAgent(lab, 'client', 'rr-probe', {
        host: lab.address('server', 4), port: 5999, tag: 1, intervalMs: 50, durationMs: 500, timeoutMs: 300,
      });
      assert.equal(r.sent, 10);
      assert.equal(r.lost, 10);
      assert.deepEqual(r.rttsUs, []);
      assert.ok(Date.now() - started < READY_TIMEOUT_MS, `took ${Date.now() - started} ms`);
    });

    it('bulk TCP and a latency probe run side by side on the same hosts', { timeout: 60_000 }, async (t) => {
      const [bulk, probe] = await Promise.all([
        tcpBulk(lab, { from: 'client', to: 'server', durationMs: 2000 }),
        latencyProbe(lab, { from: 'client', to: 'server', intervalMs: 20, durationMs: 2000 }),
      ]);
      t.diagnostic(`beside bulk TCP (${(goodputBps(bulk, 500, 2000) / 1e9).toFixed(2)} Gbit/s): ${rtts(probe)}`);
      assert.equal(bulk.sentBytes, bulk.bytes);
      assert.ok(goodputBps(bulk, 500, 2000) > 100e6);
      assert.equal(probe.lost, 0);
      assert.equal(probe.rttsUs.length, 100);
    });

    it('udp-flood sends the requested count (at least 99% on a starved machine), all of it arriving at ports nobody listens on', { timeout: 60_000 }, async (t) => {
      const before = await udpNoPorts(lab, 'server');
      const r = await udpFlood(lab, { from: 'client', to: 'server', packetsPerSecond: 20_000, durationMs: 1000 });
      const arrived = (await udpNoPorts(lab, 'server')) - before;
      t.diagnostic(`flood: sent ${r.sent} of ${r.wanted} in ${r.durationMs} ms, ${arrived} arrived at closed ports, CPU ${(r.cpuUs / 1e6).toFixed(2)} s`);
      assert.equal(r.wanted, 20_000);
      // A sender starved of CPU stops at its deadline a few packets short (CI once sent 19,995).
      assert.ok(r.sent >= r.wanted * 0.99 && r.sent <= r.wanted, `sent ${r.sent} of ${r.wanted}`);
      assert.equal(r.errors, 0);
      assert.ok(r.durationMs > 950 && r.durationMs < 1100, `flood ran ${r.durationMs} ms`);
      assert.ok(arrived >= r.sent * 0.99 && arrived <= r.sent, `${arrived} of ${r.sent} arrived`);
    });

    it('a server whose port is taken fails in one line before it is ready, and is gone', { timeout: 60_000 }, async () => {
      const first = startAgent(lab, 'server', 'tcp-sink', { port: 5998, lifetimeMs: 30_000 });
      try {
        await first.ready;
        const second = startAgent(lab, 'server', 'tcp-sink', { port: 5998, lifetimeMs: 30_000 });
        await assert.rejects(second.ready, /^Error: traffic agent tcp-sink on server exited \(status 1\) before it was ready: cannot listen on \[0\.0\.0\.0\]:5998: EADDRINUSE$/);
        await assert.rejects(second.result, /failed \(status 1\): cannot listen/);
        await exited(second.child);
        first.stop();
        const r = await first.result;
        assert.equal(r.connections, 0);
        assert.deepEqual(r.binsBytes, []);
      } finally {
        first.kill();
      }
    });

    it('a sender with nothing to connect to fails in one line', { timeout: 60_000 }, async () => {
      const host = lab.address('server', 4);
      await assert.rejects(
        runAgent(lab, 'client', 'tcp-bulk', { host, port: 5997, durationMs: 1000 }),
        new RegExp(`^Error: traffic agent tcp-bulk on client failed \\(status 1\\): cannot connect to \\[${host.replaceAll('.', '\\.')}\\]:5997: ECONNREFUSED$`),
      );
    });
  });

  it('IPv6 through a router: tcp-bulk and udp-rate', { timeout: 90_000 }, async (t) => {
    const lab = await Lab.line({ name: 'traffic6' });
    try {
      const bulk = await tcpBulk(lab, { from: 'client', to: 'server', family: 6, durationMs: 2000 });
      const tcpBps = goodputBps(bulk, 500, 2000);
      const udp = await udpRate(lab, { from: 'client', to: 'server', family: 6, rateBps: 10e6, payloadBytes: 1000, durationMs: 2000 });
      const udpBps = goodputBps(udp, 500, 1500);
      t.diagnostic(`IPv6 routed: TCP ${(tcpBps / 1e9).toFixed(2)} Gbit/s, UDP at 10 Mbit/s measured ${mbit(udpBps)}`);
      assert.equal(bulk.flushed, true);
      assert.equal(bulk.sentBytes, bulk.bytes);
      assert.ok(tcpBps > 100e6, `IPv6 TCP ${mbit(tcpBps)}`);
      assert.equal(udp.sent, 2500);
      assert.equal(udp.lost, 0);
      assert.ok(Math.abs(udpBps - 10e6) <= 10e6 * 0.03, `IPv6 UDP ${mbit(udpBps)}, want 10 ± 3%`);
    } finally {
      await lab.destroy();
    }
  });
});
