/**
 * `sluice run` over IPv6 in the lab (root; without root the test fails saying so): client — router —
 * server, sluice on the router shaping egress toward the server at 10 Mbit/s through ip6tables'
 * POSTROUTING; one TCP bulk flow client → server over IPv6 for 10 s. The goodput from 2 s to 10 s
 * must be within 3% of 10 Mbit/s × 1428/1500 (40 bytes of IPv6 header, 32 of TCP with timestamps).
 *
 * Traffic stays inside the lab's namespaces; sluice, the agents and the lab are removed in `finally`.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Lab, NEED_ROOT, SluiceProcess } from '../../src/lab/index.js';
import { assertShapedTcp, configYaml, ONE_FLOW_TIMEOUT_MS, queueNumber, summaryBlocks, TempDir } from './support.js';

const RATE_BPS = 10_000_000;

it('a 10 Mbit/s egress link delivers IPv6 TCP goodput within 3% of rate × payload/wire', { timeout: ONE_FLOW_TIMEOUT_MS }, async (t) => {
  assert.equal(process.getuid?.(), 0, NEED_ROOT);
  const dir = TempDir.create('ipv6');
  let lab: Lab | null = null;
  let sluice: SluiceProcess | null = null;
  try {
    lab = await Lab.line({ name: 'ipv6' });
    const dev = lab.end('router', 'server').dev;
    const config = dir.write('sluice.yaml', configYaml({ queue: queueNumber(), links: [{ interface: dev, egressBps: RATE_BPS }] }));
    sluice = await SluiceProcess.start(lab, 'router', config, ['-v']);
    const jumps = await lab.exec('router', ['ip6tables', '-w', '-t', 'mangle', '-S', 'POSTROUTING']);
    assert.match(jumps.stdout, new RegExp(`-A POSTROUTING -o ${dev} .*-j SLUICE-EGRESS`), 'ip6tables has the egress jump');
    await assertShapedTcp(t, lab, { from: 'client', to: 'server', family: 6, rateBps: RATE_BPS, label: 'IPv6 egress 10 Mbit/s', shaper: sluice });
    assert.equal(await sluice.stop('SIGTERM'), 0, sluice.output);
    for (const block of summaryBlocks(sluice.output)) t.diagnostic(block);
  } finally {
    if (sluice !== null) await sluice.stop('SIGKILL').catch(() => undefined);
    if (lab !== null) await lab.destroy();
    dir.remove();
  }
});
