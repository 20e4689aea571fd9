/**
 * GSO/GRO (root, in the lab): sluice does not ask the kernel for GSO super-packets (no
 * NFQA_CFG_F_GSO), so with offloads left ON — the client's TCP hands 64 KB segments to its veth and
 * the router's GRO merges what arrives — the kernel segments each super-packet before queueing it,
 * and every verdict is one wire packet. The shaped rate therefore holds on the wire: TCP goodput
 * through a 2 Mbit/s egress class is 2 Mbit/s × 1448/1500 within 3%, the same as with offloads off.
 * A scheduler that took a 64 KB super-packet for one packet's worth of tokens would overshoot.
 * (assertShapedTcp does not fit here: it checks that offloads are off and packets MTU-sized.)
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { goodputBps, tcpBulk } from '../../src/lab/index.js';
import { BULK_MS, configYaml, GOODPUT_TOLERANCE, STEADY_FROM_MS, STEADY_TO_MS, tcpWireRatio, withLab } from './support.js';

const RATE_BPS = 2_000_000;
const MTU_BYTES = 1500;
const OFFLOADS_ON = ['tso', 'on', 'gso', 'on', 'gro', 'on'];

it('with offloads on, the kernel segments before queueing and a 2 Mbit/s class holds on the wire', { timeout: 120_000 }, (t) =>
  withLab('gso', async ({ lab, dir, startSluice }) => {
    for (const [host, towards] of [['client', 'router'], ['router', 'client'], ['router', 'server'], ['server', 'router']] as const) {
      await lab.exec(host, ['ethtool', '-K', lab.end(host, towards).dev, ...OFFLOADS_ON]);
    }
    const features = await lab.exec('client', ['ethtool', '-k', lab.end('client').dev]);
    assert.match(features.stdout, /tcp-segmentation-offload: on/, 'TSO is on at the sender');
    const dev = lab.end('router', 'server').dev;
    const sluice = await startSluice('router', dir.write('sluice.yaml', configYaml({ links: [{ interface: dev, egressBps: RATE_BPS }] })));
    const r = await tcpBulk(lab, { from: 'client', to: 'server', durationMs: BULK_MS });
    const goodput = goodputBps(r, STEADY_FROM_MS, STEADY_TO_MS);
    const want = RATE_BPS * tcpWireRatio(4, MTU_BYTES);
    t.diagnostic(`goodput ${(goodput / 1e6).toFixed(4)} Mbit/s, want ${(want / 1e6).toFixed(4)} ± 3%`);
    assert.ok(Math.abs(goodput - want) <= want * GOODPUT_TOLERANCE, `goodput ${(goodput / 1e6).toFixed(4)} Mbit/s with offloads on, want ${(want / 1e6).toFixed(4)} ± 3%`);
    assert.equal(await sluice.stop('SIGTERM'), 0, sluice.output);
  }));
