/**
 * What traffic does when sluice dies, end to end in the lab (root; without root the tests fail
 * saying so): client — router — server, sluice on the router shaping its interface toward the
 * server to 2 Mbit/s (a class under a 100 Mbit/s link) while the client sends paced UDP at 10 Mbit/s to the server.
 *
 *   fail-open (the default): SIGKILL leaves sluice's rules in place, stale, but `--queue-bypass`
 *   lets the packets through: within two seconds the server receives the unshaped rate. A new
 *   `sluice run` on the same file says it replaces the stale rules, installs them once (not twice)
 *   and shapes to 2 Mbit/s again; after SIGTERM no SLUICE chain is left in iptables or ip6tables.
 *
 *   fail: closed: the NFQUEUE rule has no `--queue-bypass`, so after SIGKILL nothing passes until
 *   `sluice cleanup` removes the stale rules; then the flow arrives unshaped.
 *
 * Rates are read from the server's interface counters (/proc/PID/net/dev of a process inside the
 * server's namespace, sampled every 100 ms), so they are on the test's own clock, the one the kill
 * is timed on. Traffic stays inside the lab; sluice, the agents and the lab are removed by withLab.
 */
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sluiceArgv, type Lab } from '../../src/lab/index.js';
import { udpRate } from '../../src/lab/traffic/index.js';
import { ETHERNET_HEADER_BYTES, IPV4_UDP_HEADER_BYTES, mangleRules, mbit, ProcView, queueNumber, withLab } from './support.js';

const SHAPED_BPS = 2_000_000;
const PAYLOAD_BYTES = 1200;
const OFFERED_PAYLOAD_BPS = 10_000_000;
const OFFERED_IP_BPS = (OFFERED_PAYLOAD_BPS * (PAYLOAD_BYTES + IPV4_UDP_HEADER_BYTES)) / PAYLOAD_BYTES;
/** The flow outlasts every phase (a restart may take seconds while tsx compiles); destroy() ends it. */
const FLOW_MS = 60_000;
const SHAPED_TOLERANCE = 0.1;
/** Unshaped means at least this share of what the client offers. */
const UNSHAPED_SHARE = 0.8;
/** Fail-open must let the flow through at the unshaped rate within this long of the kill. */
const BYPASS_WITHIN_MS = 2000;
const SAMPLE_MS = 100;
const TEST_TIMEOUT_MS = 120_000;

interface RxSample {
  atMs: number;
  bytes: number;
  packets: number;
}

/**
 * The receive counters of one interface inside a lab host, sampled every SAMPLE_MS on this process's
 * clock through a ProcView of that host: no process is started per sample. stop() it before the lab
 * is destroyed.
 */
class RxMeter {
  private readonly samples: RxSample[] = [];
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly host: ProcView, private readonly dev: string) {
    this.timer = setInterval(() => this.samples.push(this.read()), SAMPLE_MS);
  }

  static async start(lab: Lab, host: string, dev: string): Promise<RxMeter> {
    return new RxMeter(await ProcView.inHost(lab, host, dev, TEST_TIMEOUT_MS), dev);
  }

  private read(): RxSample {
    return { atMs: performance.now(), ...this.host.rx(this.dev) };
  }

  /** The last sample at or before atMs (the first sample if none). */
  private at(atMs: number): RxSample {
    let found = this.samples[0];
    for (const s of this.samples) if (s.atMs <= atMs) found = s;
    return found;
  }

  /** Packets received between two instants (performance.now() ms), to the nearest sample. */
  packets(fromMs: number, toMs: number): number {
    return this.at(toMs).packets - this.at(fromMs).packets;
  }

  /** IP bits per second received between two instants (the veth counts 14 bytes of Ethernet header per frame). */
  ipRateBps(fromMs: number, toMs: number): number {
    const a = this.at(fromMs);
    const b = this.at(toMs);
    if (b.atMs <= a.atMs) return 0;
    return ((b.bytes - a.bytes - (b.packets - a.packets) * ETHERNET_HEADER_BYTES) * 8 * 1000) / (b.atMs - a.atMs);
  }

  /** The first instant after fromMs whose SAMPLE_MS window carried more than rateBps, or null. */
  firstAbove(fromMs: number, rateBps: number): number | null {
    for (let i = 1; i < this.samples.length; i++) {
      const s = this.samples[i];
      if (s.atMs > fromMs && this.ipRateBps(this.samples[i - 1].atMs, s.atMs) > rateBps) return s.atMs;
    }
    return null;
  }

  /** Waits until the last SAMPLE_MS window carried more than rateBps. */
  async waitAbove(rateBps: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const now = performance.now();
      if (this.samples.length > 1 && this.ipRateBps(now - 2 * SAMPLE_MS, now) > rateBps) return;
      await sleep(SAMPLE_MS);
    }
    throw new Error(`${this.dev} did not receive more than ${rateBps / 1e6} Mbit/s within ${timeoutMs} ms`);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * The shaping lives in the class, under a fast link, with a 50 ms burst: on this shared 2-core
 * machine sluice's thread may wait tens of ms for a CPU, and tokens beyond a bucket's depth are lost
 * (docs/overload.md); a deeper bucket lets it catch up without changing the rate over a second.
 */
function config(dev: string, queue: number, fail: 'open' | 'closed'): string {
  return `datapath:
  queues: ${queue}
  fail: ${fail}
links:
  - interface: ${dev}
    egress: 100mbit
classes:
  default:
    rate: 2mbit
    ceil: 2mbit
    burst: 50ms
    cburst: 50ms
`;
}

/** Waits 2 s and asserts the rate over its second half (the first lets a restarted sluice settle) is the shaped rate. */
async function assertShaped(t: TestContext, meter: RxMeter, label: string): Promise<void> {
  const from = performance.now() + 1000;
  await sleep(2000);
  const rate = meter.ipRateBps(from, performance.now());
  t.diagnostic(`${label}: ${mbit(rate)}`);
  assert.ok(Math.abs(rate / SHAPED_BPS - 1) <= SHAPED_TOLERANCE, `${label}: ${mbit(rate)}, want ${mbit(SHAPED_BPS)} ± ${SHAPED_TOLERANCE * 100}%`);
}

/**
 * Starts a meter on the server's interface toward the router and the 10 Mbit/s flow (its promise is
 * left to reject when the lab is destroyed under it), waits until the flow arrives and runs `body`;
 * the meter is stopped afterwards, before withLab destroys the lab it reads.
 */
async function withFlow(lab: Lab, body: (meter: RxMeter) => Promise<void>): Promise<void> {
  const meter = await RxMeter.start(lab, 'server', lab.end('server', 'router').dev);
  try {
    udpRate(lab, { from: 'client', to: 'server', rateBps: OFFERED_PAYLOAD_BPS, payloadBytes: PAYLOAD_BYTES, durationMs: FLOW_MS }).catch(() => undefined);
    await meter.waitAbove(SHAPED_BPS / 2, 30_000);
    await body(meter);
  } finally {
    meter.stop();
  }
}

it('fail-open: after SIGKILL the flow passes unshaped at once; a restart replaces the stale rules and shapes again; SIGTERM leaves no rules', { timeout: TEST_TIMEOUT_MS }, (t) =>
  withLab('failopen', async ({ lab, dir, startSluice }) => {
    const dev = lab.end('router', 'server').dev;
    const queue = queueNumber();
    const file = dir.write('sluice.yaml', config(dev, queue, 'open'));
    const first = await startSluice('router', file);
    assert.match(first.output, /fail-open/);
    const installed = await mangleRules(lab, 'router');
    assert.match(installed, new RegExp(`-j NFQUEUE --queue-num ${queue} --queue-bypass`), installed);

    await withFlow(lab, async (meter) => {
      await assertShaped(t, meter, 'shaped before the kill');

      const killedAt = performance.now();
      assert.equal(await first.stop('SIGKILL'), null);
      assert.equal(await mangleRules(lab, 'router'), installed, 'SIGKILL leaves the rules as they were (stale)');
      await sleep(BYPASS_WITHIN_MS + 1000);
      const free = meter.ipRateBps(killedAt + BYPASS_WITHIN_MS, performance.now());
      const bypassAt = meter.firstAbove(killedAt, 2 * SHAPED_BPS);
      // For the record: what sluice held when it died does not come out (no burst follows the kill).
      const firstSecond = meter.packets(killedAt, killedAt + 1000);
      t.diagnostic(
        `after SIGKILL: ${mbit(free)} (offered ${mbit(OFFERED_IP_BPS)}); above 2× the shaped rate ${bypassAt === null ? 'never' : `${Math.round(bypassAt - killedAt)} ms after the kill`}; ` +
          `${firstSecond} packets in the first second (${Math.round(OFFERED_IP_BPS / 8 / (PAYLOAD_BYTES + IPV4_UDP_HEADER_BYTES))} offered)`,
      );
      assert.ok(free >= UNSHAPED_SHARE * OFFERED_IP_BPS, `after SIGKILL the flow gets ${mbit(free)}, want ≥ ${mbit(UNSHAPED_SHARE * OFFERED_IP_BPS)} (unshaped)`);
      assert.ok(bypassAt !== null && bypassAt - killedAt <= BYPASS_WITHIN_MS, `the flow took ${bypassAt === null ? 'forever' : `${Math.round(bypassAt - killedAt)} ms`} to pass unshaped`);

      const restart = await startSluice('router', file);
      assert.match(restart.output, /sluice: replacing sluice rules left by an earlier run \(\d+ chains?, ipv4 and ipv6\)\n/);
      assert.equal(await mangleRules(lab, 'router'), installed, 'the restart installs the same rules, once');
      await assertShaped(t, meter, 'shaped after the restart');

      assert.equal(await restart.stop('SIGTERM'), 0, restart.output);
      const left = await mangleRules(lab, 'router');
      assert.doesNotMatch(left, /SLUICE/, `mangle after SIGTERM:\n${left}`);
      t.diagnostic(`restart: ${restart.output.trim().replace(/\n/g, ' | ')}`);
    });
  }));

it('fail: closed: after SIGKILL nothing passes until `sluice cleanup` removes the stale rules', { timeout: TEST_TIMEOUT_MS }, (t) =>
  withLab('failclosed', async ({ lab, dir, startSluice }) => {
    const dev = lab.end('router', 'server').dev;
    const queue = queueNumber();
    const sluice = await startSluice('router', dir.write('sluice.yaml', config(dev, queue, 'closed')));
    assert.match(sluice.output, /fail-closed/);
    const installed = await mangleRules(lab, 'router');
    assert.match(installed, new RegExp(`-j NFQUEUE --queue-num ${queue}\\n`), installed);
    assert.doesNotMatch(installed, /--queue-bypass/);

    await withFlow(lab, async (meter) => {
      await assertShaped(t, meter, 'shaped before the kill');

      const killedAt = performance.now();
      assert.equal(await sluice.stop('SIGKILL'), null);
      await sleep(1500);
      // Half a second for packets already past the router; then nothing may arrive (a few stray
      // neighbour-discovery packets at most, against about 1000 datagrams a second offered).
      const passed = meter.packets(killedAt + 500, performance.now());
      t.diagnostic(`fail-closed, sluice killed: ${passed} packets arrived in the 1 s from 0.5 s after the kill`);
      assert.ok(passed <= 5, `${passed} packets passed with fail: closed and no sluice`);
      assert.match(await mangleRules(lab, 'router'), /SLUICE/, 'SIGKILL leaves the rules (stale)');

      const cleanup = await lab.exec('router', sluiceArgv(['cleanup']), { timeoutMs: 30_000, check: false });
      const cleanedAt = performance.now();
      assert.equal(cleanup.exitCode, 0, `${cleanup.stdout}${cleanup.stderr}`);
      assert.match(cleanup.stdout, /^sluice: removed /);
      t.diagnostic(`cleanup: ${cleanup.stdout.trim()}`);
      const left = await mangleRules(lab, 'router');
      assert.doesNotMatch(left, /SLUICE/, `mangle after cleanup:\n${left}`);
      await sleep(2000);
      const free = meter.ipRateBps(cleanedAt + 500, performance.now());
      t.diagnostic(`after cleanup: ${mbit(free)} (offered ${mbit(OFFERED_IP_BPS)})`);
      assert.ok(free >= UNSHAPED_SHARE * OFFERED_IP_BPS, `after cleanup the flow gets ${mbit(free)}, want ≥ ${mbit(UNSHAPED_SHARE * OFFERED_IP_BPS)} (unshaped)`);
    });
  }));
