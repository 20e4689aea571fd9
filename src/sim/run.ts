/**
 * runScenario: the simulator's entry point. Builds a simulated datapath and the REAL engine on the
 * resolved links, the scenario's sources, finds each flow's class, runs virtual time to the end
 * (taking a counter snapshot at the warm-up) and returns the report. Pure: no clock, no I/O.
 */
import type { OwnerFacts } from '../classify/context.js';
import { ScenarioOwners } from './owners.js';
import { resolveLinks, type ResolvedLink } from '../control/resolve.js';
import type { SluiceConfig } from '../control/schema.js';
import { scheduledRun, type WindowsFrom } from './schedule.js';
import { Engine, type EngineStats } from '../engine/engine.js';
import { buildSources, largestPacketBytes } from './build-sources.js';
import { ImmediateEngine, type SimEngine } from './immediate-engine.js';
import { classOfSources } from './probe.js';
import { buildReport, type SimReport } from './report.js';
import type { Scenario } from './scenario.js';
import { Simulation } from './simulation.js';

/** A fixed flow-hash seed: the same scenario gives the same report every time. */
const FLOW_SEED = 0x5eed;

/** From `atUs` on, the links run as `links` (a schedule window begins or ends). */
export interface LinksChange {
  atUs: number;
  links: ResolvedLink[];
}

export interface RunOptions {
  /** Flow table size handed to the engine (default: enough for the scenario's flows). */
  maxFlows?: number;
  /** Run with every packet accepted at once instead of the engine (what the link does unshaped). */
  unshaped?: boolean;
  /** Reloads during the run, in time order, swapped in as the daemon swaps them (queued packets kept). */
  changes?: readonly LinksChange[];
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
  const changes = opts.changes ?? [];
  let next = 0;
  // Runs virtual time to `toUs`, swapping each change in at its moment on the way.
  const runUntil = (toUs: number): void => {
    for (; next < changes.length && changes[next].atUs <= toUs; next++) {
      sim.runUntil(changes[next].atUs);
      real?.reload(changes[next].links, changes[next].atUs);
    }
    sim.runUntil(toUs);
  };
  let start: EngineStats | null = null;
  if (scenario.warmupUs > 0) {
    runUntil(scenario.warmupUs);
    start = real === null ? null : real.stats(scenario.warmupUs);
    for (const s of sim.sources) s.resetCounters();
  }
  runUntil(scenario.durationUs);
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

/**
 * A scenario against a whole configuration: from its `at:` moment of the week with the classes'
 * schedule windows (sim/schedule.ts), or on the base figures without one (windows null).
 */
export function runConfigScenario(config: SluiceConfig, scenario: Scenario): { report: SimReport; windows: WindowsFrom[] | null } {
  if (scenario.atWeekMinute === null) return { report: runScenario(resolveLinks(config), scenario), windows: null };
  const run = scheduledRun(config, scenario.atWeekMinute, scenario.durationUs);
  return { report: runScenario(run.links, scenario, { changes: run.changes }), windows: run.windows };
}
