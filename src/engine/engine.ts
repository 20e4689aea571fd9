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
 * Flow facts (classify/flow-facts.ts) are gathered only for a link direction whose rules read them:
 * - l7: every packet of an undecided flow feeds the L7Tracker; the packet that decides it makes the
 *   flow be classified again.
 * - owner: the first packet of a new flow starts a lookup (OwnerSource, the host edge) unless the
 *   kernel's uid of a locally sent packet answers every owner attribute the rules read. The flow's
 *   packets wait in a small waiting room (not in any class) until the answer comes or ownerWaitUs
 *   passes, then are classified in arrival order; a full room lets packets through unwaited, with no
 *   owner. An answer after the wait still reclassifies the flow.
 * - country: looked up for the remote address each time the flow is classified.
 * A flow is therefore classified when it is new, when its l7 is decided, when its owner is found,
 * after a reload — and at no other time (docs/rules.md).
 *
 * The scheduler is handed the engine's own slot numbers, not datapath handles: a slot remembers the
 * handle, the buffer the packet arrived in (for in-place rewrites at release) and its link and
 * direction. Slots are preallocated (one per packet any scheduler may hold), so nothing on this path
 * allocates: a rewritten packet is changed in place and released with acceptRewritten.
 */
import { Classifier, type ClassRule } from '../classify/classifier.js';
import { compileRule } from '../classify/compile.js';
import { L7_PENDING_CODE, MatchContext, NO_OWNER, type OwnerFacts } from '../classify/context.js';
import { factsRead } from '../classify/facts-read.js';
import { L7_NAMES, l7Code } from '../classify/flow-facts.js';
import { L7Tracker } from '../classify/l7/tracker.js';
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
import type { CountryAnswer, CountryLookup, OwnerAnswerSink, OwnerSource } from './facts.js';

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
/**
 * Flow ids and generations combine into one sub-queue key: id + (generation mod 16) * 2^26, so a
 * flow id's next occupant does not join a sub-queue its predecessor may still have. Below 2^30 the
 * key stays a small integer in V8; a larger one is a heap number when passed on, an allocation per
 * packet once slots have been reused 16 times.
 */
const FLOW_KEY_SPAN = 2 ** 26;
const FLOW_KEY_GENERATIONS = 16;
/** Flows the table may expire per pump: bounded work per call. */
const EXPIRE_PER_PUMP = 64;
const NO_CLASS = -1;
/** Link directions a classification stamp can tell apart; stamps are epoch * STAMP_PATHS + path. */
const STAMP_PATHS = 4096;
/** Owner lookup state per flow. */
const OWNER_UNASKED = 0;
const OWNER_WAITING = 1;
const OWNER_DONE = 2;
/** Packets the owner waiting room holds at most. */
const WAIT_CAPACITY = 256;
/** While packets wait for owners, pump() asks for answers at least this often by default, µs. */
const OWNER_POLL_US = 200;
export const DEFAULT_OWNER_WAIT_US = 5000;
/** iif/oif of an interface missing from the names table (it appeared since the edge last read them). */
const UNKNOWN_INTERFACE = 'unknown';

export interface EngineOptions {
  /** Most flows tracked at once (default 65536). */
  maxFlows?: number;
  /** Fixed flow-hash seed, for reproducible runs (the simulator); random when absent. */
  flowSeed?: number;
  /** Looks up connection owners (the host edge); without it process attributes are absent. */
  owners?: OwnerSource | null;
  /** How long a new connection's packets may wait for its owner, µs (default 5 ms). */
  ownerWaitUs?: number;
  /**
   * While packets wait for owners, how often pump() must run to collect answers, µs (default 200).
   * Infinity when the edge wakes the loop as answers arrive (an eventfd the datapath also polls).
   */
  ownerPollUs?: number;
  /** Country database for cc and country; without it they read '??'. */
  countries?: CountryLookup | null;
  /**
   * Interface names by index, for iif and oif (the edge reads them from the system). A link's own
   * interface needs no table: it is the oif of its egress packets and the iif of its ingress ones.
   */
  interfaceNames?: readonly string[];
}

/** Where a flow was last classified in one direction (Engine.flowClassified). */
export interface FlowClassified {
  direction: Direction;
  link: string;
  classPath: string;
  /** Whether the packets classified that way were the reply's (the responder's), not the initiator's. */
  reply: boolean;
  state: 'now' | 'reclassifying' | 'before-reload';
}

export interface EngineStats {
  /** Packets accepted unshaped because they could not be parsed, in all and by reason. */
  unparsable: number;
  unparsableByReason: Record<string, number>;
  /** Packets accepted at once because their link direction is not shaped. */
  unshaped: number;
  flows: number;
  /** Owner lookups: started, answered, flows whose wait ran out, packets that waited, packets let through unwaited (room full). */
  owners: { requested: number; answered: number; timedOut: number; waitedPackets: number; roomFull: number };
  /** Flows whose application protocol was decided. */
  l7Decided: number;
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
    /** Whether any rule reads the flow's counters (flow.bytes, flow.rate, ...), or interface names. */
    readonly readsFlowCounters: boolean,
    readonly readsInterfaces: boolean,
    /** Which flow facts the rules read: l7, the owner (and whether beyond what the kernel's uid/gid say), the country. */
    readonly readsL7: boolean,
    readonly readsEntropy: boolean,
    readonly readsOwner: boolean,
    readonly readsProcess: boolean,
    readonly readsCountry: boolean,
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
  const read = factsRead(rules.map((r) => r.rule));
  return new DirectionPath(
    resolved, sched, classifier, fairness, dscp, markValue, markMask, dropClass,
    read.flowCounters, read.interfaces, read.l7, read.entropy, read.owner, read.process, read.country,
  );
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

  // Flow facts, per flow id (see the header).
  private readonly maxFlows: number;
  private l7: L7Tracker | null = null;
  private readonly flowL7: Uint8Array;
  private owners: OwnerSource | null;
  private ownerWaitUs: number;
  private readonly ownerPollUs: number;
  private readonly ownerState: Uint8Array;
  private readonly ownerDeadlineUs: Float64Array;
  private readonly flowOwner: OwnerFacts[];
  private readonly onOwner: OwnerAnswerSink;
  private countries: CountryLookup | null;
  private interfaceNames: readonly string[];
  private readonly country: CountryAnswer = { cc: '??', name: 'unknown' };
  /** The country of each flow's remote address, from its last classification. */
  private readonly flowCc: string[];
  private readonly flowCountry: string[];
  private readonly ownerCounts = { requested: 0, answered: 0, timedOut: 0, waitedPackets: 0, roomFull: 0 };
  /**
   * What each flow was last classified into, per flow and direction (flow * 2 + direction), for
   * `sluice explain --flow`: the link, the flow-level class, whether those were the reply's packets,
   * and the configuration epoch (0: never). Written when a flow is classified, not per packet, and
   * kept when a reload or a new fact clears the outcome cache, so "it was in X before" can be said.
   */
  private readonly classedLink: string[];
  private readonly classedPath: string[];
  private readonly classedReply: Uint8Array;
  private readonly classedEpoch: Int32Array;

  // The owner waiting room: packets in arrival order, with what placing them later needs.
  private readonly waitHandle = new Uint32Array(WAIT_CAPACITY);
  private readonly waitBuffer: (Buffer | undefined)[] = new Array<Buffer | undefined>(WAIT_CAPACITY).fill(undefined);
  private readonly waitOffset = new Uint32Array(WAIT_CAPACITY);
  private readonly waitLength = new Uint32Array(WAIT_CAPACITY);
  private readonly waitMark = new Uint32Array(WAIT_CAPACITY);
  private readonly waitInIf = new Uint32Array(WAIT_CAPACITY);
  private readonly waitOutIf = new Uint32Array(WAIT_CAPACITY);
  private readonly waitPath = new Uint16Array(WAIT_CAPACITY);
  private readonly waitFlow = new Int32Array(WAIT_CAPACITY);
  private readonly waitGeneration = new Float64Array(WAIT_CAPACITY);
  private readonly waitIsReply = new Uint8Array(WAIT_CAPACITY);
  private readonly waitArrivalUs = new Float64Array(WAIT_CAPACITY);
  private waitCount = 0;

  constructor(links: ResolvedLink[], datapath: Datapath, opts: EngineOptions = {}) {
    this.datapath = datapath;
    const maxFlows = opts.maxFlows ?? 65536;
    this.maxFlows = maxFlows;
    this.flows = new FlowTable({ maxFlows, seed: opts.flowSeed });
    this.flowOutcome = new Int32Array(maxFlows * 4).fill(NO_CLASS);
    this.flowL7 = new Uint8Array(maxFlows);
    this.owners = opts.owners ?? null;
    this.ownerWaitUs = opts.ownerWaitUs ?? DEFAULT_OWNER_WAIT_US;
    this.ownerPollUs = opts.ownerPollUs ?? OWNER_POLL_US;
    this.ownerState = new Uint8Array(maxFlows);
    this.ownerDeadlineUs = new Float64Array(maxFlows);
    this.flowOwner = new Array<OwnerFacts>(maxFlows).fill(NO_OWNER);
    this.flowCc = new Array<string>(maxFlows).fill('??');
    this.flowCountry = new Array<string>(maxFlows).fill('unknown');
    this.classedLink = new Array<string>(maxFlows * 2).fill('');
    this.classedPath = new Array<string>(maxFlows * 2).fill('');
    this.classedReply = new Uint8Array(maxFlows * 2);
    this.classedEpoch = new Int32Array(maxFlows * 2);
    this.onOwner = (flow, generation, owner) => this.ownerFound(flow, generation, owner);
    this.countries = opts.countries ?? null;
    this.interfaceNames = opts.interfaceNames ?? [];
    this.links = links;
    this.paths = Engine.buildPaths(links, [], 0);
    this.ensureTracker();
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
    if (flows.lastCreated) this.forgetFacts(flow);
    const isReply = flows.lastIsReply;
    if (path.readsL7 && this.flowL7[flow] === L7_PENDING_CODE) {
      const l7 = this.l7 as L7Tracker;
      if (l7.feed(flow, isReply, pkt)) {
        this.flowL7[flow] = l7Code(l7.protocol(flow));
        this.reclassify(flow);
      }
    }
    if (path.readsOwner && this.ownerState[flow] !== OWNER_DONE) {
      if (this.ownerState[flow] === OWNER_UNASKED) this.askOwner(path, flow, dir, batch.uids[i], batch.gids[i], nowUs);
      if (this.ownerState[flow] === OWNER_WAITING) {
        if (this.waitCount < WAIT_CAPACITY) {
          this.park(batch, i, pathIndex, flow, isReply);
          return;
        }
        this.ownerCounts.roomFull++;
      }
    }
    this.packetContext(path, pathIndex, batch.marks[i], batch.inIfindex[i], batch.outIfindex[i]);
    this.place(path, pathIndex, flow, isReply, handle, buf, offset, batch.marks[i], nowUs);
  }

  /** The packet's own context fields beside its headers: mark, and interface names when rules read them. */
  private packetContext(path: DirectionPath, pathIndex: number, mark: number, inIfindex: number, outIfindex: number): void {
    const ctx = this.ctx;
    ctx.mark = mark;
    if (!path.readsInterfaces) return;
    const names = this.interfaceNames;
    const own = this.links[pathIndex >> 1].interface;
    if ((pathIndex & 1) === Direction.EGRESS) {
      ctx.oif = own;
      ctx.iif = inIfindex === 0 ? '' : (names[inIfindex] ?? UNKNOWN_INTERFACE);
    } else {
      ctx.iif = own;
      ctx.oif = outIfindex === 0 ? '' : (names[outIfindex] ?? UNKNOWN_INTERFACE);
    }
  }

  /** Classifies the packet in this.pkt (of `flow`, seen on path `pathIndex`) and queues or drops it. */
  private place(path: DirectionPath, pathIndex: number, flow: number, isReply: boolean, handle: number, buf: Buffer, offset: number, mark: number, nowUs: number): void {
    const pkt = this.pkt;
    const flows = this.flows;
    const dir = pathIndex & 1;
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
    let leaf: number;
    if (this.flowOutcome[cacheAt + 1] !== stamp) {
      this.fillFacts(path, flow, dir, true);
      outcome = classifier.classifyFlow(ctx);
      this.flowOutcome[cacheAt] = outcome;
      this.flowOutcome[cacheAt + 1] = stamp;
      if (dir === Direction.EGRESS || flows.classId[flow] === NO_CLASS) flows.classId[flow] = classifier.leafOf(outcome);
      const classed = flow * 2 + dir;
      this.classedLink[classed] = this.links[pathIndex >> 1].name;
      this.classedPath[classed] = path.resolved.sched.classes[classifier.leafOf(outcome)].path;
      this.classedReply[classed] = isReply ? 1 : 0;
      this.classedEpoch[classed] = this.epoch;
      leaf = classifier.needsPerPacket(outcome) ? classifier.classifyPacket(ctx, outcome) : classifier.leafOf(outcome);
    } else if (classifier.needsPerPacket(outcome)) {
      // A per-packet rule may read flow facts too (`tcp.syn or cmd == "ssh"`): this flow's, not the
      // last classified flow's.
      this.fillFacts(path, flow, dir, false);
      leaf = classifier.classifyPacket(ctx, outcome);
    } else {
      leaf = classifier.leafOf(outcome);
    }
    if (path.dropClass[leaf] === 1) {
      path.sched.countActionDrop(leaf);
      this.datapath.drop(handle);
      return;
    }

    let key = 0;
    switch (path.fairness[leaf]) {
      case FAIR_FLOW:
        key = flow + (flows.generation(flow) % FLOW_KEY_GENERATIONS) * FLOW_KEY_SPAN;
        break;
      case FAIR_SRC:
        key = flows.addrHash(flow, isReply ? 1 : 0);
        break;
      case FAIR_DST:
        key = flows.addrHash(flow, isReply ? 0 : 1);
        break;
      case FAIR_HOSTS:
        // The local side: the sender on egress, the receiver on ingress.
        key = flows.addrHash(flow, (dir === Direction.EGRESS) === isReply ? 1 : 0);
        break;
    }

    const slot = this.slotFree[--this.slotFreeTop];
    this.slotHandle[slot] = handle;
    this.slotBuffer[slot] = buf;
    this.slotOffset[slot] = offset;
    this.slotMark[slot] = mark;
    const link = this.links[pathIndex >> 1];
    const sched = path.sched;
    sched.enqueue(slot, leaf, key, wireBytes(pkt.ipBytes, link.overheadBytes, link.mpuBytes), pkt.ecn !== 0, nowUs);
    this.issueDrops(sched);
  }

  // ---- flow facts -----------------------------------------------------------------------------

  /** A new flow took this id: nothing it learned about the previous one holds. */
  private forgetFacts(flow: number): void {
    this.reclassify(flow);
    this.flowL7[flow] = L7_PENDING_CODE;
    if (this.l7 !== null) this.l7.reset(flow);
    this.ownerState[flow] = OWNER_UNASKED;
    this.flowOwner[flow] = NO_OWNER;
    this.classedEpoch[flow * 2] = 0;
    this.classedEpoch[flow * 2 + 1] = 0;
  }

  /** Makes the flow's next packet in either direction classify it afresh. */
  private reclassify(flow: number): void {
    this.flowOutcome[flow * 4 + 1] = NO_CLASS;
    this.flowOutcome[flow * 4 + 3] = NO_CLASS;
  }

  /**
   * Fills the facts the path's rules read into ctx for `flow` (pkt is its packet). The country is
   * looked up when the flow is classified (`classifying`) and kept on the flow for its per-packet
   * checks, which must not pay a database lookup per packet.
   */
  private fillFacts(path: DirectionPath, flow: number, dir: number, classifying: boolean): void {
    const ctx = this.ctx;
    if (path.readsL7) this.l7Facts(flow, ctx);
    if (path.readsOwner) ctx.owner = this.flowOwner[flow];
    if (path.readsCountry) {
      if (classifying) {
        const country = this.country;
        this.lookUpCountry(this.pkt, dir, country);
        this.flowCc[flow] = country.cc;
        this.flowCountry[flow] = country.name;
      }
      ctx.cc = this.flowCc[flow];
      ctx.country = this.flowCountry[flow];
    }
  }

  /** The flow's application facts into ctx (pending until decided, and without a tracker). */
  private l7Facts(flow: number, ctx: MatchContext): void {
    const code = this.l7 === null ? L7_PENDING_CODE : this.flowL7[flow];
    ctx.l7Code = code;
    const l7 = this.l7 as L7Tracker;
    ctx.l7Host = code === L7_PENDING_CODE ? '' : l7.host(flow);
    ctx.entropyBits = code === L7_PENDING_CODE ? -1 : l7.entropyBits(flow);
  }

  /** The country of the remote address of `pkt` going `dir` ('??' without a database). */
  private lookUpCountry(pkt: PacketInfo, dir: number, out: CountryAnswer): void {
    if (this.countries === null) {
      out.cc = '??';
      out.name = 'unknown';
    } else {
      this.countries.lookup(pkt.buf, dir === Direction.EGRESS ? pkt.dstOffset : pkt.srcOffset, pkt.ipVersion, out);
    }
  }

  /** Starts finding the owner of a new flow, or settles it at once (kernel uid, no lookup available). */
  private askOwner(path: DirectionPath, flow: number, dir: number, uid: number, gid: number, nowUs: number): void {
    const owners = this.owners;
    this.ownerState[flow] = OWNER_DONE;
    if (owners === null) return;
    if (uid >= 0 && !path.readsProcess) {
      this.flowOwner[flow] = owners.fromKernel(uid, gid);
      return;
    }
    if (owners.request(flow, this.flows.generation(flow), this.pkt, dir)) {
      this.ownerCounts.requested++;
      this.ownerState[flow] = OWNER_WAITING;
      this.ownerDeadlineUs[flow] = nowUs + this.ownerWaitUs;
    }
  }

  private ownerFound(flow: number, generation: number, owner: OwnerFacts): void {
    this.ownerCounts.answered++;
    if (!this.flows.isActive(flow) || this.flows.generation(flow) !== generation) return;
    this.flowOwner[flow] = owner;
    this.ownerState[flow] = OWNER_DONE;
    this.reclassify(flow);
  }

  private park(batch: PacketBatch, i: number, pathIndex: number, flow: number, isReply: boolean): void {
    const k = this.waitCount++;
    this.waitHandle[k] = batch.handles[i];
    this.waitBuffer[k] = batch.buffers[i];
    this.waitOffset[k] = batch.offsets[i];
    this.waitLength[k] = batch.lengths[i];
    this.waitMark[k] = batch.marks[i];
    this.waitInIf[k] = batch.inIfindex[i];
    this.waitOutIf[k] = batch.outIfindex[i];
    this.waitPath[k] = pathIndex;
    this.waitFlow[k] = flow;
    this.waitGeneration[k] = this.flows.generation(flow);
    this.waitIsReply[k] = isReply ? 1 : 0;
    this.waitArrivalUs[k] = batch.arrivalUs[i];
    this.ownerCounts.waitedPackets++;
  }

  /**
   * Places the waiting packets whose flow's owner is settled (or whose wait ran out), in arrival
   * order, keeping the rest in order; returns the earliest deadline among those still waiting.
   */
  private releaseWaiting(nowUs: number): number {
    let kept = 0;
    let nextUs = Infinity;
    for (let k = 0; k < this.waitCount; k++) {
      const flow = this.waitFlow[k];
      const buf = this.waitBuffer[k] as Buffer;
      const pathIndex = this.waitPath[k];
      const path = pathIndex < this.paths.length ? this.paths[pathIndex] : null;
      const alive = this.flows.isActive(flow) && this.flows.generation(flow) === this.waitGeneration[k];
      if (alive && this.ownerState[flow] === OWNER_WAITING) {
        const deadline = this.ownerDeadlineUs[flow];
        if (nowUs < deadline) {
          if (deadline < nextUs) nextUs = deadline;
          this.moveWaiting(k, kept++);
          continue;
        }
        this.ownerState[flow] = OWNER_DONE;
        this.ownerCounts.timedOut++;
      }
      this.waitBuffer[k] = undefined;
      // A flow gone meanwhile (evicted), or a path gone by a reload: the packet leaves unshaped.
      if (!alive || path === null || !parsePacket(buf, this.waitOffset[k], this.waitLength[k], this.pkt)) {
        this.unshapedCount++;
        this.datapath.accept(this.waitHandle[k]);
        continue;
      }
      this.packetContext(path, pathIndex, this.waitMark[k], this.waitInIf[k], this.waitOutIf[k]);
      this.place(path, pathIndex, flow, this.waitIsReply[k] === 1, this.waitHandle[k], buf, this.waitOffset[k], this.waitMark[k], this.waitArrivalUs[k]);
    }
    for (let k = kept; k < this.waitCount; k++) this.waitBuffer[k] = undefined;
    this.waitCount = kept;
    return nextUs;
  }

  private moveWaiting(from: number, to: number): void {
    if (from === to) return;
    this.waitHandle[to] = this.waitHandle[from];
    this.waitBuffer[to] = this.waitBuffer[from];
    this.waitOffset[to] = this.waitOffset[from];
    this.waitLength[to] = this.waitLength[from];
    this.waitMark[to] = this.waitMark[from];
    this.waitInIf[to] = this.waitInIf[from];
    this.waitOutIf[to] = this.waitOutIf[from];
    this.waitPath[to] = this.waitPath[from];
    this.waitFlow[to] = this.waitFlow[from];
    this.waitGeneration[to] = this.waitGeneration[from];
    this.waitIsReply[to] = this.waitIsReply[from];
    this.waitArrivalUs[to] = this.waitArrivalUs[from];
  }

  /**
   * Creates the l7 tracker once some configuration reads l7 (its stream buffers cost memory), with
   * the entropy only when a rule reads flow.entropy (it is most of a flow's detection cost); a
   * reload that starts reading it makes a new one (flows still pending start detecting afresh).
   */
  private ensureTracker(): void {
    const paths = this.paths.filter((p): p is DirectionPath => p !== null);
    if (!paths.some((p) => p.readsL7)) return;
    const entropy = paths.some((p) => p.readsEntropy);
    if (this.l7 !== null && (this.l7.computesEntropy || !entropy)) return;
    const l7 = new L7Tracker(this.maxFlows, { entropy });
    this.l7 = l7;
    // A flow's stream buffers go back to the pool when it expires, not only when its id is reused.
    this.flows.onRemove = (flow) => l7.reset(flow);
  }

  // ---- pump -----------------------------------------------------------------------------------

  /** Releases what is due at nowUs; returns when to call again, µs (Infinity when nothing is queued). */
  pump(nowUs: number): number {
    let next = Infinity;
    if (this.owners !== null) this.owners.poll(this.onOwner);
    if (this.waitCount > 0) {
      const deadline = this.releaseWaiting(nowUs);
      if (this.waitCount > 0) next = Math.min(deadline, nowUs + this.ownerPollUs);
    }
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
    // Packets waiting for owners are placed under the configuration they arrived in, then move with it.
    if (this.waitCount > 0) this.releaseWaiting(Infinity);
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
    this.ensureTracker();
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
   * table (flow counters read as zero; the owner as given, none by default): for explaining a configuration and labelling reports. null
   * when the link direction is not shaped or the packet cannot be parsed. Allocates; not for the
   * packet path.
   */
  classPathOf(link: number, direction: Direction, buf: Buffer, offset: number, length: number, owner: OwnerFacts = NO_OWNER): string | null {
    const path = this.paths[link * 2 + direction] ?? null;
    if (path === null) return null;
    const ctx = new MatchContext(new PacketInfo());
    if (!parsePacket(buf, offset, length, ctx.pkt)) return null;
    ctx.direction = direction;
    ctx.owner = owner;
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

  /** Which edge-supplied facts the current configuration's rules read (so the edge starts only what is needed). */
  factsRead(): { owner: boolean; country: boolean; l7: boolean } {
    const read = { owner: false, country: false, l7: false };
    for (const p of this.paths) {
      if (p === null) continue;
      read.owner ||= p.readsOwner;
      read.country ||= p.readsCountry;
      read.l7 ||= p.readsL7;
    }
    return read;
  }

  /** Supplies (or replaces) the owner and country sources, e.g. once a reload starts reading them. */
  useSources(sources: { owners?: OwnerSource | null; countries?: CountryLookup | null; ownerWaitUs?: number; interfaceNames?: readonly string[] }): void {
    if (sources.owners !== undefined) this.owners = sources.owners;
    if (sources.interfaceNames !== undefined) this.interfaceNames = sources.interfaceNames;
    if (sources.countries !== undefined) this.countries = sources.countries;
    if (sources.ownerWaitUs !== undefined) this.ownerWaitUs = sources.ownerWaitUs;
  }

  /**
   * What the engine knows of a flow beyond its packets, for listing it (not hot path): its owner,
   * its country (when some rule reads it, else '') and its application protocol.
   */
  flowFacts(flow: number): { owner: OwnerFacts; cc: string; country: string; l7: string; host: string } {
    const code = this.flowL7[flow];
    const decided = code !== L7_PENDING_CODE && this.l7 !== null;
    return {
      owner: this.flowOwner[flow],
      cc: this.countries === null ? '' : this.flowCc[flow],
      country: this.countries === null ? '' : this.flowCountry[flow],
      l7: this.l7 === null ? '' : L7_NAMES[code],
      host: decided ? (this.l7 as L7Tracker).host(flow) : '',
    };
  }

  /** The configuration's links as the engine runs them now (for explaining its flows). */
  get runningLinks(): readonly ResolvedLink[] {
    return this.links;
  }

  /**
   * Where a live flow was last classified, per direction it was (not hot path): the link, the
   * flow-level class, whether those were the reply's packets, and whether that still stands —
   * 'now' (its packets that way go there), 'reclassifying' (a fact found since, its owner or
   * application, makes its next packet classify it again) or 'before-reload' (under an earlier
   * configuration; its next packet classifies it under this one).
   */
  flowClassified(flow: number): FlowClassified[] {
    const out: FlowClassified[] = [];
    for (const direction of [Direction.EGRESS, Direction.INGRESS]) {
      const at = flow * 2 + direction;
      const epoch = this.classedEpoch[at];
      if (epoch === 0) continue;
      const stamp = this.flowOutcome[flow * 4 + direction * 2 + 1];
      const current = stamp !== NO_CLASS && Math.floor(stamp / STAMP_PATHS) === this.epoch;
      out.push({
        direction,
        link: this.classedLink[at],
        classPath: this.classedPath[at],
        reply: this.classedReply[at] === 1,
        state: current ? 'now' : epoch === this.epoch ? 'reclassifying' : 'before-reload',
      });
    }
    return out;
  }

  /**
   * Fills ctx, whose pkt holds a packet of `flow` going `direction`, with what the engine would
   * classify the flow by at nowUs: its counters, owner and application, and the country of the
   * remote address looked up afresh, as classifying does. For `sluice explain --flow`; not hot path.
   */
  flowContext(flow: number, direction: Direction, nowUs: number, ctx: MatchContext): void {
    const flows = this.flows;
    const bytes = flows.bytes(flow);
    const ageUs = nowUs - flows.firstSeenUs(flow);
    ctx.direction = direction;
    ctx.flowBytes = bytes;
    ctx.flowPackets = flows.packets(flow);
    ctx.flowAgeUs = ageUs;
    ctx.flowRateBps = ageUs > 0 ? (bytes * 8e6) / ageUs : 0;
    ctx.owner = this.flowOwner[flow];
    this.l7Facts(flow, ctx);
    const country: CountryAnswer = { cc: '??', name: 'unknown' };
    this.lookUpCountry(ctx.pkt, direction, country);
    ctx.cc = country.cc;
    ctx.country = country.name;
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
      owners: { ...this.ownerCounts },
      l7Decided: this.l7?.stats.decided ?? 0,
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
