/**
 * The counter snapshot: the one format in which counters leave the hot path. The NFQUEUE worker
 * (datapath/nfqueue/worker/) posts one every second or so to the main thread, which prints, serves
 * and stores them; the quota, daemon and statistics issues read this format and nothing else.
 *
 * A snapshot is plain data (it survives structured clone): counters since the engine started,
 * never reset, so a reader takes differences between two snapshots for rates over its own window.
 *   classes   one entry per link × direction × class path (inner classes count their subtree)
 *   topFlows  the flows that offered the most bytes since the previous snapshot, busiest first, with
 *             their addresses, ports, state and the class each direction was classified to
 *   engine    packets accepted unshaped (unparsable, or on an unshaped direction), flow-table counts,
 *             owner lookups and flows whose l7 was decided
 *   datapath  the datapath's own counters (e.g. NfqueueCounters plus the kernel's queue counters)
 *
 * Building one allocates (objects, strings) and walks every active flow: it runs off the per-packet
 * path, between two batches, a few times a second at most.
 */
import type { OwnerFacts } from '../classify/context.js';
import type { Engine, EngineStats } from './engine.js';
import type { FlowDescription } from '../flow/describe.js';
import { DROP_REASON_NAMES, type ClassStats } from '../sched/types.js';

export const SNAPSHOT_VERSION = 1;
/** Flows listed in topFlows by default. */
export const TOP_FLOWS = 20;

export type DropReasonName = (typeof DROP_REASON_NAMES)[number];

/** One class of one link direction: the scheduler's counters (sched/types.ts ClassStats), drops named. */
export interface ClassCounters extends Omit<ClassStats, 'dropped'> {
  link: string;
  direction: 'egress' | 'ingress';
  /** Packets dropped since start, by reason (`action`: by the class's `drop: true`). */
  drops: Record<DropReasonName, number>;
}

/**
 * One busy flow: the flow table's description (flow/describe.ts; its byte and packet counts are IP
 * bytes counted as packets arrive at the shaper, so what a class later drops is included), where it
 * was classified, and its bytes since the previous snapshot.
 */
export interface FlowCounters extends Omit<FlowDescription, 'id' | 'generation' | 'classId' | 'expiresAtUs'> {
  /** "proto initiator:port > responder:port", stable for the flow's life: a key across snapshots. */
  key: string;
  /** The link it was seen on and the class each direction was classified to (null: none yet). */
  link: string | null;
  egressClass: string | null;
  ingressClass: string | null;
  /** Bytes both ways since the previous snapshot, and that as bits/s over the interval. */
  intervalBytes: number;
  rateBps: number;
}

export interface EngineCounters {
  unparsable: number;
  unparsableByReason: Record<string, number>;
  unshaped: number;
  flows: number;
  flowsCreated: number;
  flowsEvicted: number;
  flowsExpired: number;
  /** Owner lookups since start (engine.ts EngineStats.owners), and flows whose l7 was decided. */
  owners: EngineStats['owners'];
  l7Decided: number;
}

/**
 * One live flow for `sluice flows`: the flow table's description, where it was classified, what
 * sluice knows of it (owner, country, application) and its rate each way since the previous
 * listing (since the flow began, on its first).
 */
export interface FlowRow extends FlowCounters {
  id: number;
  /** The owning process as far as it is known (found false: none, e.g. forwarded traffic). */
  owner: OwnerFacts;
  cc: string;
  country: string;
  l7: string;
  host: string;
  origRateBps: number;
  replyRateBps: number;
  ageUs: number;
}

export interface CounterSnapshot {
  version: typeof SNAPSHOT_VERSION;
  /** When it was taken, µs on the producer's monotonic clock; and µs since the previous one. */
  atUs: number;
  intervalUs: number;
  classes: ClassCounters[];
  topFlows: FlowCounters[];
  engine: EngineCounters;
  /** The datapath's counters, by name (numbers, or a nested record of numbers). */
  datapath: Record<string, number | Record<string, number>>;
}

/**
 * Builds snapshots of one engine. Keeps, per flow slot, the bytes seen at the previous snapshot (and
 * the flow's generation, so a reused slot starts from zero) to rank flows by recent bytes.
 */
export class SnapshotBuilder {
  private readonly engine: Engine;
  private readonly topCount: number;
  private readonly prevBytes: Float64Array;
  private readonly prevGeneration: Float64Array;
  private lastAtUs = -1;
  /** The same marks for flowRows(), kept apart so listings and snapshots do not disturb each other. */
  private readonly listOrig: Float64Array;
  private readonly listReply: Float64Array;
  private readonly listGeneration: Float64Array;
  private lastListUs = -1;

  constructor(engine: Engine, topCount = TOP_FLOWS) {
    this.engine = engine;
    this.topCount = topCount;
    this.prevBytes = new Float64Array(engine.flows.maxFlows);
    this.prevGeneration = new Float64Array(engine.flows.maxFlows).fill(-1);
    this.listOrig = new Float64Array(engine.flows.maxFlows);
    this.listReply = new Float64Array(engine.flows.maxFlows);
    this.listGeneration = new Float64Array(engine.flows.maxFlows).fill(-1);
  }

  build(nowUs: number, datapath: CounterSnapshot['datapath'] = {}): CounterSnapshot {
    const engine = this.engine;
    const stats = engine.stats(nowUs);
    const classes: ClassCounters[] = [];
    for (const link of stats.links) {
      for (const d of link.directions) {
        for (const c of d.classes) {
          const { dropped, ...counters } = c;
          const drops = {} as Record<DropReasonName, number>;
          DROP_REASON_NAMES.forEach((name, r) => (drops[name] = dropped[r]));
          classes.push({ link: link.name, direction: d.direction, ...counters, drops });
        }
      }
    }
    const intervalUs = this.lastAtUs < 0 ? 0 : nowUs - this.lastAtUs;
    const topFlows = this.topFlows(intervalUs);
    this.lastAtUs = nowUs;
    const flows = engine.flows;
    return {
      version: SNAPSHOT_VERSION,
      atUs: nowUs,
      intervalUs,
      classes,
      topFlows,
      engine: {
        unparsable: stats.unparsable,
        unparsableByReason: stats.unparsableByReason,
        unshaped: stats.unshaped,
        flows: stats.flows,
        flowsCreated: flows.created,
        flowsEvicted: flows.evictions,
        flowsExpired: flows.expired,
        owners: stats.owners,
        l7Decided: stats.l7Decided,
      },
      datapath,
    };
  }

  /** Every live flow (allocates per flow: for `sluice flows`, not the per-second snapshot). */
  flowRows(nowUs: number): FlowRow[] {
    const flows = this.engine.flows;
    const rows: FlowRow[] = [];
    const sinceUs = this.lastListUs < 0 ? -1 : nowUs - this.lastListUs;
    for (let id = flows.nextActive(-1); id >= 0; id = flows.nextActive(id)) {
      const f = flows.describe(id);
      if (f === undefined) continue;
      const generation = flows.generation(id);
      const seen = this.listGeneration[id] === generation && sinceUs > 0;
      const windowUs = seen ? sinceUs : Math.max(1, nowUs - f.firstSeenUs);
      const origBytes = seen ? f.origBytes - this.listOrig[id] : f.origBytes;
      const replyBytes = seen ? f.replyBytes - this.listReply[id] : f.replyBytes;
      this.listGeneration[id] = generation;
      this.listOrig[id] = f.origBytes;
      this.listReply[id] = f.replyBytes;
      const facts = this.engine.flowFacts(id);
      const { generation: _g, classId: _c, expiresAtUs: _e, ...flow } = f;
      rows.push({
        key: `${f.proto} ${endpoint(f.initiator, f.initiatorPort, f.ipVersion)} > ${endpoint(f.responder, f.responderPort, f.ipVersion)}`,
        ...flow,
        ...this.engine.flowPlace(id),
        intervalBytes: origBytes + replyBytes,
        rateBps: ((origBytes + replyBytes) * 8e6) / windowUs,
        owner: facts.owner,
        cc: facts.cc,
        country: facts.country,
        l7: facts.l7,
        host: facts.host,
        origRateBps: (origBytes * 8e6) / windowUs,
        replyRateBps: (replyBytes * 8e6) / windowUs,
        ageUs: nowUs - f.firstSeenUs,
      });
    }
    this.lastListUs = nowUs;
    return rows;
  }

  /** The topCount flows by bytes since the previous call, busiest first; updates the per-slot marks. */
  private topFlows(intervalUs: number): FlowCounters[] {
    const flows = this.engine.flows;
    // A small sorted list of (bytes, id): topCount is tiny, insertion beats sorting every flow.
    const best: { bytes: number; id: number }[] = [];
    for (let id = flows.nextActive(-1); id >= 0; id = flows.nextActive(id)) {
      const bytes = flows.bytes(id);
      const generation = flows.generation(id);
      const recent = this.prevGeneration[id] === generation ? bytes - this.prevBytes[id] : bytes;
      this.prevBytes[id] = bytes;
      this.prevGeneration[id] = generation;
      if (recent <= 0) continue;
      if (best.length === this.topCount && recent <= best[best.length - 1].bytes) continue;
      let at = best.length;
      while (at > 0 && best[at - 1].bytes < recent) at--;
      best.splice(at, 0, { bytes: recent, id });
      if (best.length > this.topCount) best.pop();
    }
    return best.map(({ bytes, id }) => {
      const f = flows.describe(id);
      if (f === undefined) throw new Error(`flow ${id} vanished while building a snapshot`);
      const { id: _id, generation: _g, classId: _c, expiresAtUs: _e, ...flow } = f;
      return {
        key: `${f.proto} ${endpoint(f.initiator, f.initiatorPort, f.ipVersion)} > ${endpoint(f.responder, f.responderPort, f.ipVersion)}`,
        ...flow,
        ...this.engine.flowPlace(id),
        intervalBytes: bytes,
        rateBps: intervalUs > 0 ? (bytes * 8e6) / intervalUs : 0,
      };
    });
  }
}

function endpoint(addr: string, port: number, ipVersion: number): string {
  return ipVersion === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}
