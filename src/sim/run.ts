/**
 * runScenario: the simulator's entry point. Builds a simulated datapath and the REAL engine on the
 * resolved links, the scenario's sources, finds each flow's class, runs virtual time to the end
 * (taking a counter snapshot at the warm-up) and returns the report. Pure: no clock, no I/O.
 */
import type { OwnerFacts } from '../classify/context.js';
import { ScenarioOwners } from './owners.js';
import type { ResolvedLink } from '../control/resolve.js';
import { Engine, type EngineStats } from '../engine/engine.js';
import { buildSources, largestPacketBytes } from './build-sources.js';
import { ImmediateEngine, type SimEngine } from './immediate-engine.js';
import { classOfSources } from './probe.js';
import { buildReport, type SimReport } from './report.js';
import type { Scenario } from './scenario.js';
import { Simulation } from './simulation.js';

/** A fixed flow-hash seed: the same scenario gives the same report every time. */
const FLOW_SEED = 0x5eed;

export interface RunOptions {
  /** Flow table size handed to the engine (default: enough for the scenario's flows). */
  maxFlows?: number;
  /** Run with every packet accepted at once instead of the engine (what the link does unshaped). */
  unshaped?: boolean;
}

export interface SimRun {
  sim: Simulation;
  engine: SimEngine;
}

/** Builds a ready-to-run simulation (sources started, clock at 0) without running it. */
export function prepareScenario(links: ResolvedLink[], scenario: Scenario, opts: RunOptions = {}): SimRun & { real: Engine | null } {
  const slotBytes = Math.max(largestPacketBytes(scenario), ...links.map((l) => l.mtuBytes));
  const sim = new Simulation(slotBytes);
  const sources = buildSources(links, scenario, sim);
  const maxFlows = opts.maxFlows ?? Math.max(1024, 2 * sources.length);
  const owned = sources.filter((s) => s.owner !== null).map((s) => ({ localAddress: s.localAddress, localPort: s.localPort, owner: s.owner as OwnerFacts }));
  const owners = owned.length > 0 ? new ScenarioOwners(owned) : null;
  const real = opts.unshaped ? null : new Engine(links, sim.datapath, { maxFlows, flowSeed: FLOW_SEED, owners });
  const engine: SimEngine = real ?? new ImmediateEngine(sim.datapath);
  sim.start(engine, sources);
  return { sim, engine, real };
}

export function runScenario(links: ResolvedLink[], scenario: Scenario, opts: RunOptions = {}): SimReport {
  const { sim, real } = prepareScenario(links, scenario, opts);
  const classes = real === null ? sim.sources.map(() => '') : classOfSources(real, sim.sources);
  let start: EngineStats | null = null;
  if (scenario.warmupUs > 0) {
    sim.runUntil(scenario.warmupUs);
    start = real === null ? null : real.stats(scenario.warmupUs);
    for (const s of sim.sources) s.resetCounters();
  }
  sim.runUntil(scenario.durationUs);
  const end: EngineStats = real === null ? { unparsable: 0, unparsableByReason: {}, unshaped: 0, flows: 0, owners: { requested: 0, answered: 0, timedOut: 0, waitedPackets: 0, roomFull: 0 }, l7Decided: 0, links: [] } : real.stats(scenario.durationUs);
  return buildReport({
    durationUs: scenario.durationUs,
    warmupUs: scenario.warmupUs,
    end,
    start,
    sources: sim.sources,
    classes,
    hist: sim.hist,
    linkNames: links.map((l) => l.name),
    datapath: sim.dp.counters,
  });
}
