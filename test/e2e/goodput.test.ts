/**
 * Egress goodput of `sluice run` in the lab (root; without root the tests fail saying so): client —
 * router — server, sluice on the router shaping egress toward the server (POSTROUTING -o) at 1, 10
 * and 100 Mbit/s; one TCP bulk flow client → server for 10 s. The goodput from 2 s to 10 s must be
 * within 3% of the rate × 1448/1500 (full IPv4 segments with timestamps at MTU 1500; support.ts
 * checks that against the receiving interface's counters).
 *
 * Traffic stays inside the lab's namespaces; sluice, the agents and the lab are removed in `finally`.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Lab, NEED_ROOT, SluiceProcess } from '../../src/lab/index.js';
import { assertShapedTcp, configYaml, summaryBlocks, ONE_FLOW_TIMEOUT_MS, queueNumber, TempDir } from './support.js';

for (const rateBps of [1_000_000, 10_000_000, 100_000_000]) {
  const mbit = rateBps / 1e6;
  it(`a ${mbit} Mbit/s egress link delivers TCP goodput within 3% of rate × payload/wire`, { timeout: ONE_FLOW_TIMEOUT_MS }, async (t) => {
    assert.equal(process.getuid?.(), 0, NEED_ROOT);
    const dir = TempDir.create('goodput');
    let lab: Lab | null = null;
    let sluice: SluiceProcess | null = null;
    try {
      lab = await Lab.line({ name: 'goodput' });
      const dev = lab.end('router', 'server').dev;
      const config = dir.write('sluice.yaml', configYaml({ queue: queueNumber(), links: [{ interface: dev, egressBps: rateBps }] }));
      sluice = await SluiceProcess.start(lab, 'router', config, ['-v']);
      assert.match(sluice.output, new RegExp(`POSTROUTING -o ${dev} → SLUICE-EGRESS`));
      await assertShapedTcp(t, lab, { from: 'client', to: 'server', family: 4, rateBps, label: `egress ${mbit} Mbit/s`, shaper: sluice });
      assert.equal(await sluice.stop('SIGTERM'), 0, sluice.output);
      for (const block of summaryBlocks(sluice.output)) t.diagnostic(block);
    } finally {
      if (sluice !== null) await sluice.stop('SIGKILL').catch(() => undefined);
      if (lab !== null) await lab.destroy();
      dir.remove();
    }
  });
}
