/**
 * GSO/GRO (root, in the lab): sluice does not ask the kernel for GSO super-packets (no
 * NFQA_CFG_F_GSO), so with offloads left ON — the client's TCP hands 64 KB segments to its veth and
 * the router's GRO merges what arrives — the kernel segments each super-packet before queueing it,
 * and every verdict is one wire packet. The shaped rate therefore holds on the wire: TCP goodput
 * through a 2 Mbit/s egress class is 2 Mbit/s × 1448/1500 within 3%, the same as with offloads off.
 * A scheduler that took a 64 KB super-packet for one packet's worth of tokens would overshoot.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { goodputBps, Lab, NEED_ROOT, SluiceProcess, tcpBulk } from '../../src/lab/index.js';

const RATE_BPS = 2_000_000;
/** IPv4 + TCP with timestamps: 1448 payload bytes in 1500 on the wire (what sluice counts). */
const PAYLOAD_RATIO = 1448 / 1500;
const OFFLOADS_ON = ['tso', 'on', 'gso', 'on', 'gro', 'on'];

it('with offloads on, the kernel segments before queueing and a 2 Mbit/s class holds on the wire', { timeout: 120_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, NEED_ROOT);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-e2e-gso-'));
  let lab: Lab | null = null;
  let sluice: SluiceProcess | null = null;
  try {
    lab = await Lab.line({ name: 'gso' });
    for (const [host, towards] of [['client', 'router'], ['router', 'client'], ['router', 'server'], ['server', 'router']] as const) {
      await lab.exec(host, ['ethtool', '-K', lab.end(host, towards).dev, ...OFFLOADS_ON]);
    }
    const features = await lab.exec('client', ['ethtool', '-k', lab.end('client').dev]);
    assert.match(features.stdout, /tcp-segmentation-offload: on/, 'TSO is on at the sender');
    const dev = lab.end('router', 'server').dev;
    const config = join(dir, 'sluice.yaml');
    writeFileSync(config, `links:\n  - interface: ${dev}\n    egress: 2mbit\nclasses:\n  default:\n    rate: 100%\n`);
    sluice = await SluiceProcess.start(lab, 'router', config);
    const r = await tcpBulk(lab, { from: 'client', to: 'server', durationMs: 10_000 });
    const goodput = goodputBps(r, 2000, 10_000);
    const want = RATE_BPS * PAYLOAD_RATIO;
    t.diagnostic(`goodput ${(goodput / 1e6).toFixed(4)} Mbit/s, want ${(want / 1e6).toFixed(4)} ± 3%`);
    assert.ok(Math.abs(goodput - want) <= want * 0.03, `goodput ${(goodput / 1e6).toFixed(4)} Mbit/s with offloads on, want ${(want / 1e6).toFixed(4)} ± 3%`);
    assert.equal(await sluice.stop('SIGTERM'), 0, sluice.output);
  } finally {
    if (sluice !== null) await sluice.stop('SIGKILL').catch(() => undefined);
    if (lab !== null) await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
