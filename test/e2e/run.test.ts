/**
 * `sluice run` end to end, in the lab (root; without root the test fails saying so): client —
 * router — server, sluice running inside the router namespace with an egress rate of 5 Mbit/s on the
 * router's server-side interface (with -v: summaries per class from the worker's counters). The
 * client sends paced UDP at 20 Mbit/s for 4 s (the traffic generator's udpRate); the server counts
 * what arrives. The received rate over the last 3 s must be 5 Mbit/s within ±5% on the wire (the
 * shaper counts IP bytes: 28 bytes of IPv4 and UDP headers per 1200-byte datagram). After SIGTERM
 * sluice exits 0, the router's mangle table holds no SLUICE chains, and a second burst passes unshaped.
 * A second `sluice run` on the same queue meanwhile is refused in one line with exit 2.
 *
 * Traffic stays inside the lab's namespaces; every process and the lab are removed by withLab.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { goodputBps, sluiceArgv, udpRate, type Lab, type UdpRateResult } from '../../src/lab/index.js';
import { configYaml, IPV4_UDP_HEADER_BYTES, mangleRules, mbit, withLab } from './support.js';

const PAYLOAD_BYTES = 1200;
const SHAPED_BPS = 5_000_000;
const OFFERED_BPS = 20_000_000;

/** One burst of paced UDP client → server at OFFERED_BPS of payload. */
function burst(lab: Lab, durationMs: number): Promise<UdpRateResult> {
  return udpRate(lab, { from: 'client', to: 'server', rateBps: OFFERED_BPS, payloadBytes: PAYLOAD_BYTES, durationMs });
}

/** Wire (IP) bits per second over [fromMs, toMs) after the first datagram. */
function ipRateBps(r: UdpRateResult, fromMs: number, toMs: number): number {
  return (goodputBps(r, fromMs, toMs) * (PAYLOAD_BYTES + IPV4_UDP_HEADER_BYTES)) / PAYLOAD_BYTES;
}

it('sluice run shapes forwarded UDP to 5 Mbit/s egress and leaves no rules and no shaping after SIGTERM', { timeout: 90_000 }, (t) =>
  withLab('run', async ({ lab, dir, startSluice }) => {
    const dev = lab.end('router', 'server').dev;
    // No datapath section: sluice binds its default queue, 0.
    const config = dir.write('sluice.yaml', configYaml({ links: [{ interface: dev, egressBps: SHAPED_BPS }] }));
    const sluice = await startSluice('router', config, ['-v']);
    assert.match(sluice.output, new RegExp(`POSTROUTING -o ${dev} → SLUICE-EGRESS`));

    // A second sluice on the same queue is refused in one line (exit 2) and leaves the first's rules alone.
    const second = await lab.exec('router', sluiceArgv(['run', '-c', config]), { timeoutMs: 20_000, check: false });
    assert.equal(second.exitCode, 2, `${second.stdout}${second.stderr}`);
    assert.match(second.stderr, /^sluice: queue 0: (?!queue 0:)[^\n]*\n$/);
    t.diagnostic(`first: ${sluice.output.trim()} | second: ${second.stderr.trim()}`);

    const shaped = await burst(lab, 4000);
    const rate = ipRateBps(shaped, 1000, 4000);
    t.diagnostic(`shaped: ${mbit(rate)} on the wire over the last 3 s`);
    assert.ok(Math.abs(rate - SHAPED_BPS) <= SHAPED_BPS * 0.05, `shaped rate ${mbit(rate)}, want 5 ± 0.25 (bins: ${shaped.binsBytes.join(',')})`);

    assert.equal(await sluice.stop('SIGTERM'), 0, sluice.output);
    assert.doesNotMatch(sluice.output, /\n\s+at /, 'no stack trace');
    // -v: the worker's counters reach the main thread and are printed per class.
    assert.match(sluice.output, new RegExp(`\\n {2}${dev} egress default +\\S+ +rate 5mbit ceil 5mbit +backlog \\d+ pkt +drops \\d+ +delay p50 `));
    const left = await mangleRules(lab, 'router');
    assert.doesNotMatch(left, /SLUICE/, `iptables and ip6tables mangle after exit:\n${left}`);

    const unshaped = await burst(lab, 1500);
    const free = ipRateBps(unshaped, 200, 1200);
    t.diagnostic(`after SIGTERM: ${mbit(free)}`);
    assert.ok(free > 3 * SHAPED_BPS, `unshaped rate ${mbit(free)}, want well above 5 (bins: ${unshaped.binsBytes.join(',')})`);
  }));
