/**
 * What a simulation found, per class (per link and direction) and per flow (source instance):
 * throughput, share of the configured rate, queueing delay percentiles (from the sources' measured
 * per-packet sojourn in the shaper, and from the scheduler's own histograms), drops by reason, ECN
 * marks, and Jain's fairness index among the flows of each leaf class. Counters are taken over the
 * measured window (after the warm-up): engine counters at the end minus those at the warm-up.
 * Plain data, JSON-ready (absent figures are null).
 */
import { DROP_REASON_NAMES, type ClassStats } from '../sched/types.js';
import { SojournHistograms, HIST_BUCKETS } from '../sched/histogram.js';
import type { EngineStats } from '../engine/engine.js';
import type { SimDatapathCounters } from './datapath.js';
import type { Source } from './sources/source.js';
import { InteractiveSource } from './sources/interactive.js';

export type DropCounts = Record<(typeof DROP_REASON_NAMES)[number], number>;

export interface ClassReport {
  path: string;
  isLeaf: boolean;
  rateBps: number;
  ceilBps: number;
  prio: number;
  /** Bits/s the class sent over the measured window (every packet of the class, ACKs included). */
  throughputBps: number;
  /** throughputBps / rateBps. */
  shareOfRate: number;
  /** Sojourn percentiles measured by the class's flows, µs (null when the class has no flow). */
  delayP50Us: number | null;
  delayP99Us: number | null;
  /** Sojourn percentiles the scheduler recorded (whole run), µs. */
  schedDelayP50Us: number;
  schedDelayP99Us: number;
  drops: DropCounts;
  ecnMarks: number;
  /** Source instances whose data lands in this class, and Jain's index of their throughputs. */
  flows: number;
  jain: number | null;
}

export interface DirectionReport {
  direction: 'egress' | 'ingress';
  rateBps: number;
  throughputBps: number;
  classes: ClassReport[];
}

export interface LinkReport {
  name: string;
  directions: DirectionReport[];
}

export interface FlowReport {
  name: string;
  kind: string;
  link: string;
  direction: 'egress' | 'ingress';
  /** The flow's LAN-side address. */
  local: string;
  /** Class path of the flow's data packets ('' when that direction is not shaped). */
  class: string;
  /** Data delivered to the receiver, bits/s (TCP: goodput, unique payload). */
  throughputBps: number;
  /** Sojourn in the shaper of the flow's packets, µs (null when none passed the shaper). */
  delayP50Us: number | null;
  delayP99Us: number | null;
  drops: number;
  ecnMarks: number;
  /** Interactive sources: request-to-response round trip, µs. */
  rttP50Us: number | null;
  rttP99Us: number | null;
  /** Byte-limited TCP transfers: when they completed, µs from the start (null if not). */
  completedUs: number | null;
}

export interface SimReport {
  durationUs: number;
  /** Length of the measured window (duration minus warm-up), µs. */
  measuredUs: number;
  links: LinkReport[];
  flows: FlowReport[];
  /** Packets the engine could not parse. */
  unparsable: number;
  datapath: { received: number; accepted: number; dropped: number; ceMarked: number; unknownVerdicts: number };
}

export interface ReportInput {
  durationUs: number;
  warmupUs: number;
  /** Engine counters at the end and at the warm-up (null when there was none). */
  end: EngineStats;
  start: EngineStats | null;
  sources: Source[];
  /** Class path of each source's data (parallel to sources). */
  classes: string[];
  /** Sojourn (row 2i) and round trip above propagation (row 2i+1) histograms of source i. */
  hist: SojournHistograms;
  linkNames: string[];
  datapath: SimDatapathCounters;
}

/** Jain's fairness index of a set of throughputs: (Σx)² / (n Σx²); 1 when all equal, 1/n when one takes all. */
export function jainIndex(xs: readonly number[]): number {
  let sum = 0;
  let squares = 0;
  for (const x of xs) {
    sum += x;
    squares += x * x;
  }
  return squares === 0 ? 1 : (sum * sum) / (xs.length * squares);
}

export function buildReport(input: ReportInput): SimReport {
  const measuredUs = Math.max(1, input.durationUs - input.warmupUs);
  const perSecond = 8e6 / measuredUs;
  const flows: FlowReport[] = input.sources.map((s, i) => {
    const c = s.counters;
    const hasRtt = s instanceof InteractiveSource && input.hist.totals[2 * i + 1] > 0;
    const hasDelay = input.hist.totals[2 * i] > 0 && input.classes[i] !== '';
    return {
      name: s.name,
      kind: s.kind,
      link: input.linkNames[s.path.link],
      direction: s.path.dataDirection === 0 ? 'egress' : 'ingress',
      local: s.localAddress,
      class: input.classes[i],
      throughputBps: c.deliveredBytes * perSecond,
      delayP50Us: hasDelay ? input.hist.quantile(2 * i, 0.5) : null,
      delayP99Us: hasDelay ? input.hist.quantile(2 * i, 0.99) : null,
      drops: c.droppedPackets,
      ecnMarks: c.ceMarked,
      rttP50Us: hasRtt ? s.path.rttUs + input.hist.quantile(2 * i + 1, 0.5) : null,
      rttP99Us: hasRtt ? s.path.rttUs + input.hist.quantile(2 * i + 1, 0.99) : null,
      completedUs: Number.isNaN(c.completedUs) ? null : c.completedUs,
    };
  });

  const links: LinkReport[] = input.end.links.map((l, li) => ({
    name: l.name,
    directions: l.directions.map((d, di) => {
      const startDir = input.start?.links[li]?.directions[di];
      const classes = d.classes.map((cs, ci) => {
        const before = startDir?.classes[ci];
        const members: number[] = [];
        input.sources.forEach((s, i) => {
          const dir = s.path.dataDirection === 0 ? 'egress' : 'ingress';
          if (input.linkNames[s.path.link] === l.name && dir === d.direction && input.classes[i] === cs.path) members.push(i);
        });
        return classReport(cs, before, perSecond, members, flows, input.hist);
      });
      const topBytes = classes.filter((_, ci) => !d.classes[ci].path.includes('/')).reduce((n, c) => n + c.throughputBps, 0);
      return { direction: d.direction, rateBps: d.rateBps, throughputBps: topBytes, classes };
    }),
  }));

  const dp = input.datapath;
  return {
    durationUs: input.durationUs,
    measuredUs,
    links,
    flows,
    unparsable: input.end.unparsable,
    datapath: {
      received: dp.received, accepted: dp.accepted, dropped: dp.dropped,
      ceMarked: dp.ceMarked, unknownVerdicts: dp.unknownVerdicts,
    },
  };
}

function classReport(
  cs: ClassStats, before: ClassStats | undefined, perSecond: number, members: number[], flows: FlowReport[], hist: SojournHistograms,
): ClassReport {
  const throughputBps = (cs.sentBytes - (before?.sentBytes ?? 0)) * perSecond;
  const drops = {} as DropCounts;
  DROP_REASON_NAMES.forEach((name, r) => {
    drops[name] = cs.dropped[r] - (before?.dropped[r] ?? 0);
  });
  const merged = new SojournHistograms(1);
  for (const i of members) {
    const row = hist.counts.subarray(2 * i * HIST_BUCKETS, (2 * i + 1) * HIST_BUCKETS);
    for (let b = 0; b < HIST_BUCKETS; b++) merged.counts[b] += row[b];
    merged.totals[0] += hist.totals[2 * i];
  }
  const hasDelay = merged.totals[0] > 0;
  return {
    path: cs.path,
    isLeaf: cs.isLeaf,
    rateBps: cs.rateBps,
    ceilBps: cs.ceilBps,
    prio: cs.prio,
    throughputBps,
    shareOfRate: cs.rateBps > 0 ? throughputBps / cs.rateBps : 0,
    delayP50Us: hasDelay ? merged.quantile(0, 0.5) : null,
    delayP99Us: hasDelay ? merged.quantile(0, 0.99) : null,
    schedDelayP50Us: cs.sojournP50Us,
    schedDelayP99Us: cs.sojournP99Us,
    drops,
    ecnMarks: cs.ecnMarked - (before?.ecnMarked ?? 0),
    flows: members.length,
    jain: members.length > 0 ? jainIndex(members.map((i) => flows[i].throughputBps)) : null,
  };
}
