/**
 * Helpers for the simulator tests: a scenario from YAML text, stand-in links for source tests that
 * run without the engine (only the link's name and which directions are shaped matter there), and a
 * simulation wired to any SimEngine.
 */
import assert from 'node:assert/strict';
import type { ResolvedDirection, ResolvedLink } from '../../src/control/resolve.js';
import { buildSources, largestPacketBytes } from '../../src/sim/build-sources.js';
import type { SimEngine } from '../../src/sim/immediate-engine.js';
import { parseScenario, type Scenario } from '../../src/sim/scenario.js';
import { Simulation } from '../../src/sim/simulation.js';

export function scenario(yaml: string): Scenario {
  const r = parseScenario(yaml, 'test.scenario.yaml');
  if (!r.ok) assert.fail(r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  return r.scenario;
}

/** A link named `wan` shaping the given directions (the direction objects are never read by sources). */
export function standInLink(egress: boolean, ingress: boolean): ResolvedLink {
  const dir = {} as ResolvedDirection;
  return { name: 'wan', interface: 'eth0', overheadBytes: 0, mpuBytes: 0, mtuBytes: 1500, egress: egress ? dir : null, ingress: ingress ? dir : null };
}

export function simulate(links: ResolvedLink[], sc: Scenario, engine: (sim: Simulation) => SimEngine): Simulation {
  const sim = new Simulation(largestPacketBytes(sc));
  sim.start(engine(sim), buildSources(links, sc, sim));
  return sim;
}
