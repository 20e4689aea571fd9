/**
 * Ingress goodput of `sluice run` in the lab (root; without root the tests fail saying so), through
 * both hooks ingress uses: FORWARD, on a router shaping what arrives from the client (client —
 * router — server, `ingress: 10mbit` on the router's client-side interface), and INPUT, on the
 * receiver itself (client — server, sluice on the server shaping what arrives on its interface). In
 * both, one TCP bulk flow client → server for 10 s must deliver goodput from 2 s to 10 s within 3%
 * of 10 Mbit/s × 1448/1500 (see support.ts).
 *
 * Traffic stays inside the lab's namespaces; sluice, the agents and the lab are removed by withLab.
 */
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { Lab } from '../../src/lab/index.js';
import { assertShapedTcp, configYaml, type LabSession, ONE_FLOW_TIMEOUT_MS, queueNumber, summaryBlocks, withLab } from './support.js';

const RATE_BPS = 10_000_000;

/** Starts sluice in `host` shaping ingress on `dev`, checks the hook it installed, runs the flow. */
async function ingressCase(t: TestContext, { lab, dir, startSluice }: LabSession, host: string, dev: string, hook: string): Promise<void> {
  const config = dir.write('sluice.yaml', configYaml({ queue: queueNumber(), links: [{ interface: dev, ingressBps: RATE_BPS }] }));
  const sluice = await startSluice(host, config, ['-v']);
  assert.match(sluice.output, new RegExp(`${hook} -i ${dev} → SLUICE-INGRESS`));
  await assertShapedTcp(t, lab, { from: 'client', to: 'server', family: 4, rateBps: RATE_BPS, label: `ingress ${hook}`, shaper: sluice });
  assert.equal(await sluice.stop('SIGTERM'), 0, sluice.output);
  for (const block of summaryBlocks(sluice.output)) t.diagnostic(block);
  // The counters name the ingress direction of the shaped link: the flow went through it, not around it.
  assert.match(sluice.output, new RegExp(`\\n {2}${dev} ingress default +\\S+ +rate 10mbit ceil 10mbit`));
}

it('ingress at 10 Mbit/s on a router (FORWARD) delivers TCP goodput within 3% of rate × payload/wire', { timeout: ONE_FLOW_TIMEOUT_MS }, (t) =>
  withLab('ingress', (s) => ingressCase(t, s, 'router', s.lab.end('router', 'client').dev, 'FORWARD')));

it('ingress at 10 Mbit/s on the receiving host (INPUT) delivers TCP goodput within 3% of rate × payload/wire', { timeout: ONE_FLOW_TIMEOUT_MS }, (t) =>
  withLab('ingress', (s) => ingressCase(t, s, 'server', s.lab.end('server').dev, 'INPUT'), (name) => Lab.pair({ name })));
