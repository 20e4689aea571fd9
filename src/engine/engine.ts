/**
 * The engine: the loop that joins the datapath to the shaping core, the same code for the kernel
 * datapath and the simulator.
 *
 *   receive(batch)  parse → flow table → classifier (once per flow, per packet only where a rule
 *                   needs it) → sub-queue key by the class's fairness → scheduler.enqueue
 *   pump(now)       scheduler.dequeue until nothing is due → rewrite (CE, DSCP) → datapath.accept;
 *                   drops → datapath.drop; returns when to call pump again.
 *
 * Packets sluice cannot shape — unparsable ones, or ones on a link direction that has no rate — are
 * accepted at once and counted: a confused shaper never silently eats traffic.
 *
 * The scheduler is handed the engine's own slot numbers, not datapath handles: a slot remembers the
 * handle, the buffer the packet arrived in (for in-place rewrites at release) and its link and
 * direction. Slots are preallocated (one per packet any scheduler may hold), so nothing on this path
 * allocates: a rewritten packet is changed in place and released with acceptRewritten.
 */
import { FLOW_COUNTER_ATTRIBUTES } from '../classify/attributes.js';
import { Classifier, type ClassRule } from '../classify/classifier.js';
import { compileRule } from '../classify/compile.js';
import { MatchContext } from '../classify/context.js';
import type { ResolvedDirection, ResolvedLink } from '../control/resolve.js';
import { Direction, type Datapath, type PacketBatch } from '../datapath/types.js';
import { FlowTable } from '../flow/table.js';
import { parsePacket } from '../packet/parse.js';
import { setDscp, setEcnCE } from '../packet/rewrite.js';
import { PacketInfo, UNPARSABLE_REASONS } from '../packet/types.js';
import { wireBytes } from '../packet/wire.js';
import { rebuildScheduler } from '../sched/reload.js';
import { Scheduler } from '../sched/scheduler.js';
import { classStats } from '../sched/stats.js';
import type { ClassStats, Fairness } from '../sched/types.js';

const FAIR_FLOW = 0;
const FAIR_SRC = 1;
const FAIR_DST = 2;
const FAIR_HOSTS = 3;
const FAIR_NONE = 4;
const FAIRNESS_CODES: Record<Fairness, number> = {
  flow: FAIR_FLOW,
  'src-host': FAIR_SRC,
  'dst-host': FAIR_DST,
  hosts: FAIR_HOSTS,
  none: FAIR_NONE,
};
/** Flow ids and generations combine into one sub-queue key: id + (generation mod 2^26) * 2^26, a safe integer. */
const FLOW_KEY_SPAN = 2 ** 26;
/** Flows the table may expire per pump: bounded work per call. */
const EXPIRE_PER_PUMP = 64;
const NO_CLASS = -1;
/** Link directions a classification stamp can tell apart; stamps are epoch * STAMP_PATHS + path. */
const STAMP_PATHS = 4096;

export interface EngineOptions {
  /** Most flows tracked at once (default 65536). */
  maxFlows?: number;
  /** Fixed flow-hash seed, for reproducible runs (the simulator); random when absent. */
  flowSeed?: number;
}

export interface EngineStats {
  /** Packets accepted unshaped because they could not be parsed, in all and by reason. */
  unparsable: number;
  unparsableByReason: Record<string, number>;
  /** Packets accepted at once because their link direction is not shaped. */
  unshaped: number;
  flows: number;
  links: {
    name: string;
    directions: { direction: 'egress' | 'ingress'; rateBps: number; classes: ClassStats[] }[];
  }[];
}

/** One shaped direction of one link: its scheduler, classifier and per-class release actions. */
class DirectionPath {
  constructor(
    readonly resolved: ResolvedDirection,
    readonly sched: Scheduler,
    readonly classifier: Classifier,
    /** FAIR_* per class. */
    readonly fairness: Uint8Array,
    /** DSCP to set at release per class, -1 for none. */
    readonly setDscp: Int16Array,
    /** Mark bits to set at release per class (markMask 0: leave the mark alone). */
    readonly markValue: Uint32Array,
    readonly markMask: Uint32Array,
    /** 1 for a class whose packets are dropped on arrival (`drop: true`). */
    readonly dropClass: Uint8Array,
    /** Whether any rule reads the flow's counters (flow.bytes, flow.rate, ...). */
    readonly readsFlowCounters: boolean,
  ) {}
}

function buildPath(resolved: ResolvedDirection, previous: Scheduler | null, nowUs: number): DirectionPath {
  const classes = resolved.sched.classes;
  const rules: ClassRule[] = classes.map((k, i) => {
    const r = resolved.classes[i];
    return {
      path: k.path,
      parent: k.parent,
      isLeaf: !classes.some((c) => c.parent === i),
      rule: r.match === null ? null : compileRule(r.match, r.matchOrigin ?? { label: `classes.${k.path}.match` }),
    };
  });
  const classifier = new Classifier(rules, resolved.sched.defaultClass);
  const fairness = Uint8Array.from(classes, (k) => FAIRNESS_CODES[k.fairness]);
  const dscp = Int16Array.from(resolved.classes, (r) => r.setDscp);
  const markValue = Uint32Array.from(resolved.classes, (r) => r.setMark?.value ?? 0);
  const markMask = Uint32Array.from(resolved.classes, (r) => r.setMark?.mask ?? 0);
  const dropClass = Uint8Array.from(resolved.classes, (r) => (r.drop ? 1 : 0));
  const sched = previous ? rebuildScheduler(resolved.sched, previous, nowUs) : new Scheduler(resolved.sched);
  const readsFlowCounters = rules.some((r) => r.rule !== null && [...r.rule.attributes].some((a) => FLOW_COUNTER_ATTRIBUTES.has(a)));
  return new DirectionPath(resolved, sched, classifier, fairness, dscp, markValue, markMask, dropClass, readsFlowCounters);
}

export class Engine {
  private links: ResolvedLink[];
  /** paths[link * 2 + direction], null when that direction is not shaped. */
  private paths: (DirectionPath | null)[];
  readonly flows: FlowTable;
  private readonly datapath: Datapath;
  private readonly pkt = new PacketInfo();
  private readonly ctx = new MatchContext(this.pkt);

  /**
   * The classifier's flow-level outcome, cached per flow and direction with the stamp it was made
   * under (configuration epoch and link direction): [outcome, stamp] pairs, both directions of a
   * flow in one 16-byte record, so the cache costs one memory access per packet.
   */
  private readonly flowOutcome: Int32Array;
  private epoch = 1;

  // Slots: what the engine remembers of each packet a scheduler holds.
  private slotHandle: Uint32Array;
  private slotBuffer: (Buffer | undefined)[];
  private slotOffset: Uint32Array;
  /** The mark each held packet arrived with (set_mark changes only its mask bits). */
  private slotMark: Uint32Array;
  private slotFree: Int32Array;
  private slotFreeTop: number;

  private unparsableCount = 0;
  private readonly unparsableReasons: Float64Array = new Float64Array(UNPARSABLE_REASONS.length);
  private unshapedCount = 0;

  constructor(links: ResolvedLink[], datapath: Datapath, opts: EngineOptions = {}) {
    this.datapath = datapath;
    const maxFlows = opts.maxFlows ?? 65536;
    this.flows = new FlowTable({ maxFlows, seed: opts.flowSeed });
    this.flowOutcome = new Int32Array(maxFlows * 4).fill(NO_CLASS);
    this.links = links;
    this.paths = Engine.buildPaths(links, [], 0);
    const slots = this.slotCapacity(this.paths);
    this.slotHandle = new Uint32Array(slots);
    this.slotBuffer = new Array<Buffer | undefined>(slots).fill(undefined);
    this.slotOffset = new Uint32Array(slots);
    this.slotMark = new Uint32Array(slots);
    this.slotFree = new Int32Array(slots);
    for (let i = 0; i < slots; i++) this.slotFree[i] = slots - 1 - i;
    this.slotFreeTop = slots;
  }

  /** paths for `links`, carrying each surviving link direction's queue over from `old`. */
  private static buildPaths(
    links: ResolvedLink[],
    old: (DirectionPath | null)[],
    nowUs: number,
    oldLinks: ResolvedLink[] = [],
  ): (DirectionPath | null)[] {
    const paths: (DirectionPath | null)[] = [];
    for (const link of links) {
      const before = oldLinks.findIndex((l) => l.name === link.name);
      const dirs = [link.egress, link.ingress];
      for (let d = 0; d < 2; d++) {
        const resolved = dirs[d];
        const prev = before >= 0 ? old[before * 2 + d] : null;
        paths.push(resolved ? buildPath(resolved, prev?.sched ?? null, nowUs) : null);
      }
    }
    return paths;
  }

  /** One slot per packet any scheduler may hold, plus the one being offered while it is full. */
  private slotCapacity(paths: (DirectionPath | null)[]): number {
    let n = 1;
    for (const p of paths) if (p) n += p.sched.pool.capacity;
    return n;
  }

  // ---- receive --------------------------------------------------------------------------------

  receive(batch: PacketBatch): void {
    for (let i = 0; i < batch.count; i++) this.receiveOne(batch, i);
    this.datapath.flush();
  }

  private receiveOne(batch: PacketBatch, i: number): void {
    const handle = batch.handles[i];
    const link = batch.links[i];
    const dir = batch.directions[i];
    const pathIndex = link * 2 + dir;
    const path = pathIndex < this.paths.length ? this.paths[pathIndex] : null;
    if (path === null) {
      this.unshapedCount++;
      this.datapath.accept(handle);
      return;
    }
    const pkt = this.pkt;
    const buf = batch.buffers[i];
    const offset = batch.offsets[i];
    const length = batch.lengths[i];
    if (!parsePacket(buf, offset, length, pkt)) {
      this.unparsableCount++;
      this.unparsableReasons[pkt.error]++;
      this.datapath.accept(handle);
      return;
    }
    const nowUs = batch.arrivalUs[i];
    const flows = this.flows;
    const flow = flows.lookup(pkt, nowUs);
    const ctx = this.ctx;
    ctx.direction = dir;
    // Flow counters cost several memory accesses: read them only for rules that use them.
    if (path.readsFlowCounters) {
      const bytes = flows.bytes(flow);
      const ageUs = nowUs - flows.firstSeenUs(flow);
      ctx.flowBytes = bytes;
      ctx.flowPackets = flows.packets(flow);
      ctx.flowAgeUs = ageUs;
      ctx.flowRateBps = ageUs > 0 ? (bytes * 8e6) / ageUs : 0;
    }

    const classifier = path.classifier;
    const cacheAt = flow * 4 + dir * 2;
    const stamp = this.epoch * STAMP_PATHS + pathIndex;
    let outcome = this.flowOutcome[cacheAt];
    if (flows.lastCreated || this.flowOutcome[cacheAt + 1] !== stamp) {
      outcome = classifier.classifyFlow(ctx);
      this.flowOutcome[cacheAt] = outcome;
      this.flowOutcome[cacheAt + 1] = stamp;
      if (dir === Direction.EGRESS || flows.classId[flow] === NO_CLASS) flows.classId[flow] = classifier.leafOf(outcome);
    }
    const leaf = classifier.needsPerPacket(outcome) ? classifier.classifyPacket(ctx, outcome) : classifier.leafOf(outcome);
    if (path.dropClass[leaf] === 1) {
      path.sched.countActionDrop(leaf);
      this.datapath.drop(handle);
      return;
    }

    let key = 0;
    switch (path.fairness[leaf]) {
      case FAIR_FLOW:
        key = flow + (flows.generation(flow) % FLOW_KEY_SPAN) * FLOW_KEY_SPAN;
        break;
      case FAIR_SRC:
        key = flows.addrHash(flow, flows.lastIsReply ? 1 : 0);
        break;
      case FAIR_DST:
        key = flows.addrHash(flow, flows.lastIsReply ? 0 : 1);
        break;
      case FAIR_HOSTS:
        // The local side: the sender on egress, the receiver on ingress.
        key = flows.addrHash(flow, (dir === Direction.EGRESS) === flows.lastIsReply ? 1 : 0);
        break;
    }

    const slot = this.slotFree[--this.slotFreeTop];
    this.slotHandle[slot] = handle;
    this.slotBuffer[slot] = buf;
    this.slotOffset[slot] = offset;
    this.slotMark[slot] = batch.marks[i];
    const link0 = this.links[link];
    const sched = path.sched;
    sched.enqueue(slot, leaf, key, wireBytes(pkt.ipBytes, link0.overheadBytes, link0.mpuBytes), pkt.ecn !== 0, nowUs);
    this.issueDrops(sched);
  }

  // ---- pump -----------------------------------------------------------------------------------

  /** Releases what is due at nowUs; returns when to call again, µs (Infinity when nothing is queued). */
  pump(nowUs: number): number {
    let next = Infinity;
    for (let p = 0; p < this.paths.length; p++) {
      const path = this.paths[p];
      if (path === null) continue;
      const sched = path.sched;
      for (;;) {
        const slot = sched.dequeue(nowUs);
        this.issueDrops(sched);
        if (slot < 0) break;
        this.release(slot, path, sched.lastClass, sched.lastMarkCE);
      }
      if (sched.nextAtUs < next) next = sched.nextAtUs;
    }
    this.flows.expire(nowUs, EXPIRE_PER_PUMP);
    this.datapath.flush();
    return next;
  }

  private release(slot: number, path: DirectionPath, cls: number, markCE: boolean): void {
    const buf = this.slotBuffer[slot] as Buffer;
    const offset = this.slotOffset[slot];
    let rewritten = markCE && setEcnCE(buf, offset);
    const dscp = path.setDscp[cls];
    if (dscp >= 0 && setDscp(buf, offset, dscp)) rewritten = true;
    const mask = path.markMask[cls];
    if (mask !== 0) {
      const mark = ((this.slotMark[slot] & ~mask) | path.markValue[cls]) >>> 0;
      if (rewritten) this.datapath.acceptRewritten(this.slotHandle[slot], mark);
      else this.datapath.accept(this.slotHandle[slot], mark);
    } else if (rewritten) {
      this.datapath.acceptRewritten(this.slotHandle[slot]);
    } else {
      this.datapath.accept(this.slotHandle[slot]);
    }
    this.freeSlot(slot);
  }

  private issueDrops(sched: Scheduler): void {
    const n = sched.droppedCount;
    if (n === 0) return;
    for (let i = 0; i < n; i++) {
      const slot = sched.dropped[i];
      this.datapath.drop(this.slotHandle[slot]);
      this.freeSlot(slot);
    }
    sched.clearDropped();
  }

  private freeSlot(slot: number): void {
    this.slotBuffer[slot] = undefined;
    this.slotFree[this.slotFreeTop++] = slot;
  }

  // ---- configuration and counters -------------------------------------------------------------

  /**
   * Swaps in a new configuration between two batches. Queued packets keep their place in classes
   * that still exist (same link name, direction and class path); those of vanished classes go to the
   * new default class; those of a link or direction no longer shaped are released at once. Every
   * flow is classified afresh on its next packet. Compiling the rules may throw (RuleError): the
   * caller validates first; nothing changes when it throws.
   */
  reload(links: ResolvedLink[], nowUs: number): void {
    const paths = Engine.buildPaths(links, this.paths, nowUs, this.links);
    for (let l = 0; l < this.links.length; l++) {
      const kept = links.findIndex((k) => k.name === this.links[l].name);
      for (let d = 0; d < 2; d++) {
        const old = this.paths[l * 2 + d];
        if (old !== null && (kept < 0 || paths[kept * 2 + d] === null)) this.flushUnshaped(old.sched);
      }
    }
    const capacity = this.slotCapacity(paths);
    if (capacity > this.slotHandle.length) this.growSlots(capacity);
    this.links = links;
    this.paths = paths;
    this.epoch = (this.epoch + 1) % (2 ** 31 / STAMP_PATHS) || 1;
    for (const p of paths) if (p) this.issueDrops(p.sched);
    this.datapath.flush();
  }

  /** Releases every packet a scheduler that is going away still holds. */
  private flushUnshaped(sched: Scheduler): void {
    for (let c = 0; c < sched.classCount; c++) {
      if (!sched.isLeaf(c)) continue;
      sched.forEachQueued(c, (slot) => {
        this.datapath.accept(this.slotHandle[slot]);
        this.freeSlot(slot);
      });
    }
  }

  private growSlots(capacity: number): void {
    const old = this.slotHandle.length;
    const grow = <T extends Uint32Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(capacity);
      b.set(a);
      return b;
    };
    this.slotHandle = grow(this.slotHandle, (n) => new Uint32Array(n));
    this.slotOffset = grow(this.slotOffset, (n) => new Uint32Array(n));
    this.slotMark = grow(this.slotMark, (n) => new Uint32Array(n));
    this.slotBuffer.length = capacity;
    const free = new Int32Array(capacity);
    free.set(this.slotFree.subarray(0, this.slotFreeTop));
    let top = this.slotFreeTop;
    for (let i = capacity - 1; i >= old; i--) free[top++] = i;
    this.slotFree = free;
    this.slotFreeTop = top;
  }

  /**
   * The class a packet would be queued in, by its path, without queueing it or touching the flow
   * table (flow counters read as zero): for explaining a configuration and labelling reports. null
   * when the link direction is not shaped or the packet cannot be parsed. Allocates; not for the
   * packet path.
   */
  classPathOf(link: number, direction: Direction, buf: Buffer, offset: number, length: number): string | null {
    const path = this.paths[link * 2 + direction] ?? null;
    if (path === null) return null;
    const ctx = new MatchContext(new PacketInfo());
    if (!parsePacket(buf, offset, length, ctx.pkt)) return null;
    ctx.direction = direction;
    return path.resolved.sched.classes[path.classifier.classify(ctx)].path;
  }

  /**
   * The link a flow was seen on and the class path each direction was classified to under the
   * current configuration (null where none yet), from the flow-outcome cache. Not hot path.
   */
  flowPlace(flow: number): { link: string | null; egressClass: string | null; ingressClass: string | null } {
    const place = { link: null as string | null, egressClass: null as string | null, ingressClass: null as string | null };
    for (const dir of [Direction.EGRESS, Direction.INGRESS]) {
      const at = flow * 4 + dir * 2;
      const stamp = this.flowOutcome[at + 1];
      if (stamp === NO_CLASS || Math.floor(stamp / STAMP_PATHS) !== this.epoch) continue;
      const pathIndex = stamp % STAMP_PATHS;
      const path = this.paths[pathIndex];
      if (!path) continue;
      place.link = this.links[pathIndex >> 1].name;
      const classPath = path.resolved.sched.classes[path.classifier.leafOf(this.flowOutcome[at])].path;
      if (dir === Direction.EGRESS) place.egressClass = classPath;
      else place.ingressClass = classPath;
    }
    return place;
  }

  /** Packets held across all schedulers. */
  get queuedPackets(): number {
    let n = 0;
    for (const p of this.paths) if (p) n += p.sched.totalPackets;
    return n;
  }

  /** The scheduler of a link direction (for tests, status and the simulator's reports). */
  scheduler(link: number, direction: Direction): Scheduler | null {
    return this.paths[link * 2 + direction]?.sched ?? null;
  }

  stats(nowUs: number): EngineStats {
    const byReason: Record<string, number> = {};
    UNPARSABLE_REASONS.forEach((name, i) => {
      if (this.unparsableReasons[i] > 0) byReason[name] = this.unparsableReasons[i];
    });
    return {
      unparsable: this.unparsableCount,
      unparsableByReason: byReason,
      unshaped: this.unshapedCount,
      flows: this.flows.size,
      links: this.links.map((link, l) => ({
        name: link.name,
        directions: ([Direction.EGRESS, Direction.INGRESS] as const).flatMap((d) => {
          const path = this.paths[l * 2 + d];
          if (path === null) return [];
          return [
            {
              direction: d === Direction.EGRESS ? ('egress' as const) : ('ingress' as const),
              rateBps: path.resolved.sched.rateBps,
              classes: classStats(path.sched, nowUs),
            },
          ];
        }),
      })),
    };
  }
}
