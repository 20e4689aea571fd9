/**
 * Egress goodput of `sluice run` in the lab (root; without root the tests fail saying so): client —
 * router — server, sluice on the router shaping egress toward the server (POSTROUTING -o) at 1, 10
 * and 100 Mbit/s over IPv4 and at 10 Mbit/s over IPv6 (through ip6tables' POSTROUTING); one TCP bulk
 * flow client → server for 10 s. The goodput from 2 s to 10 s must be within 3% of the rate ×
 * payload/wire: 1448/1500 over IPv4, 1428/1500 over IPv6 (40 bytes of IPv6 header, 32 of TCP with
 * timestamps at MTU 1500; support.ts checks that against the receiving interface's counters).
 *
 * The sender negotiates ECN (net.ipv4.tcp_ecn=1 in its namespace), so sluice's CoDel marks instead
 * of dropping. This machine's TCP is BBR, which heeds neither marks nor drops; at 1 Mbit/s its
 * standing queue keeps CoDel dropping about one segment in seven, and the occasional 200 ms
 * retransmission timeout after a lost tail — not the shaper — then decides the goodput (one full
 * run measured −4.2%). With marks the goodput shows the shaper's accuracy.
 *
 * Traffic stays inside the lab's namespaces; sluice, the agents and the lab are removed by withLab.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { assertShapedTcp, configYaml, ONE_FLOW_TIMEOUT_MS, queueNumber, summaryBlocks, withLab } from './support.js';

const CASES: ReadonlyArray<{ family: 4 | 6; rateBps: number }> = [
  { family: 4, rateBps: 1_000_000 },
  { family: 4, rateBps: 10_000_000 },
  { family: 4, rateBps: 100_000_000 },
  { family: 6, rateBps: 10_000_000 },
];

for (const { family, rateBps } of CASES) {
  const mbit = rateBps / 1e6;
  const ip = family === 6 ? 'IPv6 ' : '';
  it(`a ${mbit} Mbit/s egress link delivers ${ip}TCP goodput within 3% of rate × payload/wire`, { timeout: ONE_FLOW_TIMEOUT_MS }, (t) =>
    withLab(family === 6 ? 'ipv6' : 'goodput', async ({ lab, dir, startSluice }) => {
      const dev = lab.end('router', 'server').dev;
      await lab.exec('client', ['sysctl', '-q', '-w', 'net.ipv4.tcp_ecn=1']);
      const config = dir.write('sluice.yaml', configYaml({ queue: queueNumber(), links: [{ interface: dev, egressBps: rateBps }] }));
      const sluice = await startSluice('router', config, ['-v']);
      assert.match(sluice.output, new RegExp(`POSTROUTING -o ${dev} → SLUICE-EGRESS`));
      if (family === 6) {
        const jumps = await lab.exec('router', ['ip6tables', '-w', '-t', 'mangle', '-S', 'POSTROUTING']);
        assert.match(jumps.stdout, new RegExp(`-A POSTROUTING -o ${dev} .*-j SLUICE-EGRESS`), 'ip6tables has the egress jump');
      }
      await assertShapedTcp(t, lab, { from: 'client', to: 'server', family, rateBps, label: `${ip}egress ${mbit} Mbit/s`, shaper: sluice });
      assert.equal(await sluice.stop('SIGTERM'), 0, sluice.output);
      for (const block of summaryBlocks(sluice.output)) t.diagnostic(block);
    }));
}
