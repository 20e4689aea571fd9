/**
 * The scheduler of one direction of one link: which held packet leaves next, and when.
 *
 * Principles. The link is a hard cap: a token bucket at the link's rate gates every departure, so
 * sluice, not the modem, holds the queue. Below it, a tree of classes with HTB semantics (see
 * classes.ts): each class has a guaranteed rate and a ceiling, leaves sending within their own rate
 * are served first, then leaves borrowing from the nearest ancestor that has tokens to lend, lower
 * (level, prio) groups first and deficit round robin by quantum within a group. Unlike HTB, every
 * ancestor's ceiling is hard: "all torrents together at most 2.4 mbit" holds even when the
 * children's own rates would allow more.
 *
 * Inside a leaf, packets wait in sub-queues (one per flow, per host, or one, by the class's
 * fairness) served by deficit round robin on bytes, newly active sub-queues ahead of bulk ones, as
 * fq_codel and CAKE do, so a ping waits behind at most one quantum of a bulk transfer. Each
 * sub-queue runs CoDel (codel.ts), may be capped by a per-flow ceiling (flow_ceil; a capped
 * sub-queue is parked in a timer heap until it may send again), and is bounded by the class limit,
 * the per-flow limit and one global buffer. Over a limit, sluice drops from the head of the fattest
 * sub-queue — of the same class for a class limit, of the lowest-priority backlogged class for the
 * global one — in small batches so finding the fattest is paid once per several drops.
 *
 * Late wake-ups. A user-space shaper is woken by the kernel, sometimes late (a busy machine, a
 * thread descheduled for a few ms). Buckets capped at their burst would lose the tokens of the time
 * overslept, and a backlogged class would fall short of its rate for good. So when dequeue is called
 * later than the nextAtUs it promised, every bucket refilled while catching up may hold up to its
 * burst plus the time overslept (at most MAX_CATCH_UP_US, 10 ms): the packets that should have left
 * meanwhile leave now. Only a promise made with packets queued counts, so an idle link earns nothing, and the
 * burst a stall can cause is bounded.
 *
 * Nothing here reads a clock or does I/O: every call takes `nowUs`. (Inside, the time travels in a
 * field rather than as an argument: a float passed to a call V8 does not inline is boxed on the heap,
 * which would be an allocation per packet.) Mode changes are events: a class
 * over its rate or ceiling is put in a timer heap at the time its credit returns, and only the
 * leaves under a class whose mode changed are re-filed into their groups, so a dequeue costs
 * O(tree depth + log classes), not a scan of all classes. Drops are reported in `dropped`
 * (handles), which the caller must drain after every enqueue and dequeue.
 */
import { ClassTree, LINK_LEVEL, Mode } from './classes.js';
import { CodelState, type CodelQueue } from './codel.js';
import { LeafGroups } from './groups.js';
import { IndexedMinHeap } from './heap.js';
import { SojournHistograms } from './histogram.js';
import { PacketPool } from './packets.js';
import {
  F_BYTES,
  F_DEFICIT,
  F_KEY,
  F_LAST_ACTIVE,
  F_TOKENS,
  F_TOKENS_AT,
  I_CLS,
  I_HEAD,
  I_LIST_NEXT,
  I_PACKETS,
  I_WHERE,
  SQ_FLOATS,
  SQ_INTS,
  SqWhere,
  SubqueueTable,
} from './subqueues.js';
import { DROP_REASONS, DropReason, type LinkSchedConfig } from './types.js';

// Enum members copied into module constants: tsx compiles file by file, so an imported const enum
// member would be a property load on every use in the packet path.
const DROP_CLASS_LIMIT = DropReason.CLASS_LIMIT;
const DROP_CODEL = DropReason.CODEL;
const DROP_FLOW_LIMIT = DropReason.FLOW_LIMIT;
const DROP_GLOBAL_LIMIT = DropReason.GLOBAL_LIMIT;
const DROP_ACTION = DropReason.ACTION;
const CANT_SEND = Mode.CANT_SEND;
const CAN_SEND = Mode.CAN_SEND;
const SQ_NEW = SqWhere.NEW;
const SQ_NONE = SqWhere.NONE;
const SQ_OLD = SqWhere.OLD;
const SQ_THROTTLED = SqWhere.THROTTLED;
const NONE = -1;
const LEVELS = LINK_LEVEL + 1;
const EPSILON_US = 1e-6;
/**
 * The most overslept time buckets may make up after a late wake-up, µs (see the header). What is
 * made up leaves as a burst into the next hop's buffer (a modem's, when shaping just below its
 * rate), where it drains only at the difference of the two rates: with 50 ms, a call behind a busy
 * uplink went from 2 to 18 ms median in the lab demo on a loaded machine. 10 ms keeps that burst
 * within two link buckets and still covers the usual late wake-up.
 */
const MAX_CATCH_UP_US = 10_000;
/** Packets dropped at least per overflow (when the fattest sub-queue has them), amortising the search. */
const DROP_BATCH = 8;
/** Sub-queue ids the idle sweep visits per enqueue, once more than half the pool is in use. */
const SWEEP_PER_ENQUEUE = 4;
/** Shortest interval between current-rate folds, µs, and the smoothing per such window (≈1 s time constant). */
const RATE_WINDOW_US = 250_000;
const RATE_ALPHA = 1 - Math.exp(-RATE_WINDOW_US / 1_000_000);

export class Scheduler implements CodelQueue {
  readonly cfg: LinkSchedConfig;
  readonly tree: ClassTree;
  readonly pool: PacketPool;
  readonly sqs: SubqueueTable;
  readonly codel: CodelState;
  private readonly classWake: IndexedMinHeap;
  private readonly throttled: IndexedMinHeap;
  private readonly pathIndex = new Map<string, number>();

  // Per leaf: its new and old sub-queue lists, the sub-queues holding packets, backlog, DRR state.
  private readonly newHead: Int32Array;
  private readonly newTail: Int32Array;
  private readonly oldHead: Int32Array;
  private readonly oldTail: Int32Array;
  readonly backlogPackets: Int32Array;
  readonly backlogBytes: Float64Array;
  private readonly listed: Uint8Array;
  /** Room for one leaf's sub-queue ids (see collectSubqueues). */
  private readonly scratch: Int32Array;
  /**
   * DRR deficit of each leaf at each level it may send at (index leaf * LEVELS + level), as HTB keeps
   * one per level: what a leaf spends alone on its own rate must not count against its share when
   * it competes for excess.
   */
  private readonly classDeficit: Float64Array;
  private readonly quantumBytes: Float64Array;
  /** Listed leaves filed by the (level, prio) group they may send in (groups.ts). */
  private readonly groups: LeafGroups;

  // Per leaf, worked out once: CoDel parameters (after the low-rate adjustment), per-flow ceiling.
  readonly codelTargetUs: Float64Array;
  readonly codelIntervalUs: Float64Array;
  private readonly ecn: Uint8Array;
  private readonly flowUsPerByte: Float64Array;
  private readonly flowBurstUs: Float64Array;
  private readonly limitPackets: Float64Array;
  private readonly limitBytes: Float64Array;
  private readonly flowLimitPackets: Float64Array;
  private readonly flowQuantumBytes: number;
  private readonly reclaimAfterUs: number;
  private readonly sweepAbove: number;
  private readonly mtuBytes: number;
  private readonly globalLimitPackets: number;
  private readonly globalLimitBytes: number;

  // The link's own bucket.
  private readonly linkUsPerByte: number;
  private readonly linkBurstUs: number;
  linkTokensUs = 0;
  private linkCheckedUs = 0;

  totalPackets = 0;
  totalBytes = 0;
  private nowUs = 0;

  // Counters, per class (inner classes count what their subtree sent).
  readonly sentBytes: Float64Array;
  readonly sentPackets: Float64Array;
  /** Drops by reason: index class * DROP_REASONS + reason. */
  readonly drops: Float64Array;
  readonly ecnMarked: Float64Array;
  readonly ownBytes: Float64Array;
  readonly borrowedBytes: Float64Array;
  readonly lentBytes: Float64Array;
  readonly rateBps: Float64Array;
  readonly rateMarkBytes: Float64Array;
  readonly rateSinceUs: Float64Array;
  readonly sojourn: SojournHistograms;

  /** Handles dropped by the last calls; drain after each enqueue/dequeue and reset droppedCount. */
  dropped: Uint32Array;
  droppedCount = 0;
  /** After dequeue returned -1: when the next packet becomes eligible, µs (Infinity: nothing queued). */
  nextAtUs = Infinity;
  /** Time overslept past nextAtUs that buckets may still make up, µs (see the header); 0 when on time. */
  catchUpUs = 0;
  /** After dequeue returned a handle: its class, whether it must leave marked CE, its sojourn. */
  lastClass = NONE;
  lastMarkCE = false;
  lastSojournUs = 0;
  lastWireBytes = 0;
  /** The pool slot of the packet the current enqueue queued, NONE once it is among the drops. */
  private lastEnqueued = NONE;
  private codelLeaf = NONE;

  constructor(cfg: LinkSchedConfig, poolPackets = cfg.globalLimitPackets + 1) {
    this.cfg = cfg;
    const tree = new ClassTree(cfg);
    this.tree = tree;
    const n = tree.n;
    if (cfg.defaultClass < 0 || cfg.defaultClass >= n || !tree.isLeaf[cfg.defaultClass]) {
      throw new Error('the default class must be a leaf');
    }
    this.pool = new PacketPool(Math.max(2, poolPackets));
    this.sqs = new SubqueueTable(Math.max(16, cfg.maxSubqueues));
    this.codel = new CodelState(this.sqs);
    this.classWake = new IndexedMinHeap(n);
    this.throttled = new IndexedMinHeap(this.sqs.capacity);
    this.newHead = new Int32Array(n).fill(NONE);
    this.newTail = new Int32Array(n).fill(NONE);
    this.oldHead = new Int32Array(n).fill(NONE);
    this.oldTail = new Int32Array(n).fill(NONE);
    this.scratch = new Int32Array(this.sqs.capacity);
    this.backlogPackets = new Int32Array(n);
    this.backlogBytes = new Float64Array(n);
    this.listed = new Uint8Array(n);
    this.classDeficit = new Float64Array(n * LEVELS);
    this.quantumBytes = new Float64Array(n);
    this.groups = new LeafGroups(n);
    this.codelTargetUs = new Float64Array(n);
    this.codelIntervalUs = new Float64Array(n);
    this.ecn = new Uint8Array(n);
    this.flowUsPerByte = new Float64Array(n);
    this.flowBurstUs = new Float64Array(n);
    this.limitPackets = new Float64Array(n);
    this.limitBytes = new Float64Array(n);
    this.flowLimitPackets = new Float64Array(n);
    this.sentBytes = new Float64Array(n);
    this.sentPackets = new Float64Array(n);
    this.drops = new Float64Array(n * DROP_REASONS);
    this.ecnMarked = new Float64Array(n);
    this.ownBytes = new Float64Array(n);
    this.borrowedBytes = new Float64Array(n);
    this.lentBytes = new Float64Array(n);
    this.rateBps = new Float64Array(n);
    this.rateMarkBytes = new Float64Array(n);
    this.rateSinceUs = new Float64Array(n);
    this.sojourn = new SojournHistograms(n);
    this.dropped = new Uint32Array(this.pool.capacity + 1);

    const mtu = cfg.mtuBytes;
    this.flowQuantumBytes = mtu;
    let reclaimUs = 2_000_000;
    for (let c = 0; c < n; c++) {
      const k = cfg.classes[c];
      this.pathIndex.set(k.path, c);
      this.quantumBytes[c] = Math.max(256, k.quantumBytes);
      this.classDeficit.fill(this.quantumBytes[c], c * LEVELS, (c + 1) * LEVELS);
      // CoDel at low rates (as CAKE): the target is at least 1.5 MTU times at the rate a sub-queue
      // can reach (its flow ceiling, else the class ceiling), and the interval grows with it.
      const sqRateBps = k.flowCeilBps > 0 ? Math.min(k.flowCeilBps, k.ceilBps) : k.ceilBps;
      const mtuTimeUs = (mtu * 8e6) / sqRateBps;
      const targetUs = Math.max(k.codel.targetUs, 1.5 * mtuTimeUs);
      this.codelTargetUs[c] = targetUs;
      // (No CoDel — an infinite target — has no interval either.)
      this.codelIntervalUs[c] = Number.isFinite(targetUs)
        ? Math.max(k.codel.intervalUs + targetUs - k.codel.targetUs, 2 * targetUs)
        : Infinity;
      this.ecn[c] = k.codel.ecn ? 1 : 0;
      if (k.flowCeilBps > 0) {
        this.flowUsPerByte[c] = 8e6 / k.flowCeilBps;
        this.flowBurstUs[c] = Math.max(mtu, (k.flowCeilBps / 8) * 0.01) * this.flowUsPerByte[c];
        reclaimUs = Math.max(reclaimUs, 2 * this.flowBurstUs[c] + mtu * this.flowUsPerByte[c]);
      }
      if (Number.isFinite(this.codelIntervalUs[c])) reclaimUs = Math.max(reclaimUs, 16 * this.codelIntervalUs[c]);
      this.limitPackets[c] = k.limitPackets > 0 ? k.limitPackets : Infinity;
      this.limitBytes[c] = k.limitBytes > 0 ? k.limitBytes : Infinity;
      this.flowLimitPackets[c] = k.flowLimitPackets > 0 ? k.flowLimitPackets : Infinity;
    }
    this.reclaimAfterUs = reclaimUs;
    this.sweepAbove = this.sqs.capacity >> 1;
    this.mtuBytes = mtu;
    this.globalLimitPackets = cfg.globalLimitPackets;
    this.globalLimitBytes = cfg.globalLimitBytes;
    this.linkUsPerByte = 8e6 / cfg.rateBps;
    // The link's bucket holds two MTUs or 5 ms, whichever is more: enough to catch up after the
    // datapath's loop wakes a few milliseconds late (a busy machine), too little to build a queue in
    // the modem worth speaking of.
    this.linkBurstUs = Math.max(2 * mtu * this.linkUsPerByte, 5000);
    this.linkTokensUs = this.linkBurstUs;
  }

  get classCount(): number {
    return this.tree.n;
  }

  /** Index of the class with this path, -1 if none. */
  classIndex(path: string): number {
    return this.pathIndex.get(path) ?? NONE;
  }

  isLeaf(c: number): boolean {
    return this.tree.isLeaf[c] === 1;
  }

  // ---- enqueue -------------------------------------------------------------------------------

  /**
   * Queues a packet in leaf `cls`, sub-queue `key` (a flow id, a host hash, or 0: see fairness).
   * Returns true when the packet is queued, false when it was dropped; every handle dropped by this
   * call (this one or others pushed out to make room) is in dropped[0..droppedCount).
   */
  enqueue(handle: number, cls: number, key: number, wireBytes: number, ect: boolean, nowUs: number): boolean {
    if (nowUs > this.nowUs) this.nowUs = nowUs;
    if (cls < 0 || cls >= this.tree.n || this.tree.isLeaf[cls] === 0) cls = this.cfg.defaultClass;
    if (this.sqs.allocated > this.sweepAbove) this.sqs.sweep(this.nowUs, this.reclaimAfterUs, SWEEP_PER_ENQUEUE);
    let sq = this.sqs.find(cls, key);
    if (sq === NONE) {
      sq = this.sqs.alloc(cls, key, this.flowBurstUs[cls], this.nowUs, this.reclaimAfterUs);
      if (sq === NONE) return this.refuse(handle, cls, DROP_GLOBAL_LIMIT);
    }
    if (this.sqs.i32[sq * SQ_INTS + I_PACKETS] >= this.flowLimitPackets[cls]) return this.refuse(handle, cls, DROP_FLOW_LIMIT);
    const p = this.pool.alloc(handle, wireBytes, this.nowUs, ect);
    if (p === NONE) return this.refuse(handle, cls, DROP_GLOBAL_LIMIT);
    this.insert(p, cls, sq);
    this.lastEnqueued = p;
    this.enforceClassLimit(cls);
    this.enforceGlobalLimit();
    const queued = this.lastEnqueued !== NONE;
    this.lastEnqueued = NONE;
    return queued;
  }

  private refuse(handle: number, cls: number, reason: DropReason): boolean {
    this.drops[cls * DROP_REASONS + reason]++;
    this.pushDropped(handle);
    return false;
  }

  /** Links packet slot p at the tail of sub-queue sq of leaf cls and lists the sub-queue if idle. */
  private insert(p: number, cls: number, sq: number): void {
    const sqs = this.sqs;
    sqs.push(sq, p, this.pool);
    sqs.f64[sq * SQ_FLOATS + F_LAST_ACTIVE] = this.nowUs;
    const bytes = this.pool.wireBytes[p];
    this.backlogPackets[cls]++;
    this.backlogBytes[cls] += bytes;
    this.totalPackets++;
    this.totalBytes += bytes;
    if (sqs.i32[sq * SQ_INTS + I_WHERE] === SQ_NONE) {
      sqs.f64[sq * SQ_FLOATS + F_DEFICIT] = this.flowQuantumBytes;
      this.listAppend(cls, sq, SQ_NEW);
    }
  }

  // ---- dequeue -------------------------------------------------------------------------------

  /**
   * The next packet to release at nowUs: its handle, or -1 with nextAtUs set to when one becomes
   * eligible. After a handle, lastClass / lastMarkCE / lastSojournUs / lastWireBytes describe it.
   * CoDel may drop packets on the way (see dropped).
   */
  dequeue(nowUs: number): number {
    if (nowUs > this.nowUs) this.nowUs = nowUs;
    const now = this.nowUs;
    const tree = this.tree;
    const late = now - this.nextAtUs;
    if (late > this.catchUpUs) {
      this.catchUpUs = late > MAX_CATCH_UP_US ? MAX_CATCH_UP_US : late;
      tree.catchUpUs = this.catchUpUs;
    }
    while (this.classWake.peekTime() <= now) {
      const c = this.classWake.pop();
      tree.refill(c, now);
      // The timer may fire early (charges since it was armed pushed the real time later): re-arm.
      const m = tree.modeOf(c);
      if (m !== CAN_SEND) this.classWake.set(c, now + tree.waitUsIn(c, m));
      this.applyMode(c);
    }
    while (this.throttled.peekTime() <= now) this.wake(this.throttled.pop());
    if (this.totalPackets === 0) return this.waitUntil(Infinity);
    this.refillLink(now);
    if (this.linkTokensUs < -EPSILON_US) return this.waitUntil(now - this.linkTokensUs);
    for (;;) {
      const g = this.groups.lowest();
      if (g === NONE) {
        return this.waitUntil(Math.min(this.classWake.peekTime(), this.throttled.peekTime()));
      }
      const leaf = this.groups.head[g];
      const at = leaf * LEVELS + (g >> 3);
      if (this.classDeficit[at] <= 0) {
        this.classDeficit[at] += this.quantumBytes[leaf];
        this.groups.rotate(g);
        continue;
      }
      const p = this.pickPacket(leaf);
      if (p === NONE) continue;
      const bytes = this.pool.wireBytes[p];
      const handle = this.pool.handle[p];
      this.lastSojournUs = now - this.pool.enqueuedUs[p];
      this.pool.release(p);
      this.charge(leaf, bytes, g >> 3);
      this.linkTokensUs -= bytes * this.linkUsPerByte;
      this.classDeficit[at] -= bytes;
      this.sojourn.record(leaf, this.lastSojournUs);
      this.lastClass = leaf;
      this.lastMarkCE = this.codel.marked;
      this.lastWireBytes = bytes;
      return handle;
    }
  }

  /** Ends a dequeue without a packet: promises nextAtUs and ends any catching up. */
  private waitUntil(atUs: number): number {
    this.nextAtUs = atUs;
    this.catchUpUs = 0;
    this.tree.catchUpUs = 0;
    return NONE;
  }

  /** fq_codel's dequeue within one leaf: new sub-queues first, DRR by bytes, CoDel at the head. */
  private pickPacket(leaf: number): number {
    const sqs = this.sqs;
    const now = this.nowUs;
    for (;;) {
      let sq = this.newHead[leaf];
      let fromNew = true;
      if (sq === NONE) {
        sq = this.oldHead[leaf];
        fromNew = false;
      }
      if (sq === NONE) {
        this.listed[leaf] = 0;
        this.groups.set(leaf, NONE);
        return NONE;
      }
      if (sqs.f64[sq * SQ_FLOATS + F_DEFICIT] <= 0) {
        sqs.f64[sq * SQ_FLOATS + F_DEFICIT] += this.flowQuantumBytes;
        this.listShift(leaf, fromNew);
        this.listAppend(leaf, sq, SQ_OLD);
        continue;
      }
      const usPerByte = this.flowUsPerByte[leaf];
      if (usPerByte > 0) {
        const t = Math.min(this.flowBurstUs[leaf] + this.catchUpUs, sqs.f64[sq * SQ_FLOATS + F_TOKENS] + (now - sqs.f64[sq * SQ_FLOATS + F_TOKENS_AT]));
        sqs.f64[sq * SQ_FLOATS + F_TOKENS] = t;
        sqs.f64[sq * SQ_FLOATS + F_TOKENS_AT] = now;
        if (t < -EPSILON_US) {
          this.listShift(leaf, fromNew);
          sqs.i32[sq * SQ_INTS + I_WHERE] = SQ_THROTTLED;
          this.throttled.set(sq, now - t);
          continue;
        }
      }
      this.codelLeaf = leaf;
      const codel = this.codel;
      codel.nowUs = now;
      codel.targetUs = this.codelTargetUs[leaf];
      codel.intervalUs = this.codelIntervalUs[leaf];
      const p = codel.dequeue(sq, this, this.ecn[leaf] === 1, this.mtuBytes);
      if (p === NONE) {
        this.listShift(leaf, fromNew);
        // An emptied new sub-queue goes to the old list once, so it cannot re-enter as new at once.
        if (fromNew && this.oldHead[leaf] !== NONE) this.listAppend(leaf, sq, SQ_OLD);
        else sqs.i32[sq * SQ_INTS + I_WHERE] = SQ_NONE;
        continue;
      }
      const bytes = this.pool.wireBytes[p];
      sqs.f64[sq * SQ_FLOATS + F_DEFICIT] -= bytes;
      if (usPerByte > 0) sqs.f64[sq * SQ_FLOATS + F_TOKENS] -= bytes * usPerByte;
      return p;
    }
  }

  /** A throttled sub-queue's credit is back: it rejoins its leaf's old list. */
  private wake(sq: number): void {
    const sqs = this.sqs;
    sqs.i32[sq * SQ_INTS + I_WHERE] = SQ_NONE;
    if (sqs.i32[sq * SQ_INTS + I_PACKETS] > 0) this.listAppend(sqs.i32[sq * SQ_INTS + I_CLS], sq, SQ_OLD);
  }

  /** Charges a departure to the leaf and its ancestors (HTB's charge: rate tokens from the lender up). */
  private charge(leaf: number, bytes: number, lendLevel: number): void {
    const tree = this.tree;
    const now = this.nowUs;
    if (lendLevel === 0) this.ownBytes[leaf] += bytes;
    else this.borrowedBytes[leaf] += bytes;
    for (let c = leaf; c !== NONE; c = tree.parent[c]) {
      tree.refill(c, now);
      const level = tree.level[c];
      if (level >= lendLevel) tree.tokensUs[c] -= bytes * tree.usPerByteRate[c];
      if (level === lendLevel && c !== leaf) this.lentBytes[c] += bytes;
      tree.ctokensUs[c] -= bytes * tree.usPerByteCeil[c];
      this.sentBytes[c] += bytes;
      this.sentPackets[c]++;
      this.applyMode(c);
    }
  }

  private refillLink(now: number): void {
    const dt = now - this.linkCheckedUs;
    if (dt <= 0) return;
    this.linkCheckedUs = now;
    const t = this.linkTokensUs + dt;
    const cap = this.linkBurstUs + this.catchUpUs;
    this.linkTokensUs = t > cap ? cap : t;
  }

  // ---- modes and groups ----------------------------------------------------------------------

  /**
   * Re-reads class c's mode; on a change, arms its wake-up timer and re-files its leaves. The timer
   * is armed only on a change: later charges only push the real time further, so a timer that fires
   * early is re-armed then (one heap operation per mode period, not per packet). A timer left over
   * from a period that ended early by a refill fires harmlessly.
   */
  private applyMode(c: number): void {
    const tree = this.tree;
    const now = this.nowUs;
    const m = tree.modeOf(c);
    if (m === tree.mode[c]) return;
    tree.mode[c] = m;
    if (m !== CAN_SEND) this.classWake.set(c, now + tree.waitUsIn(c, m));
    const end = tree.subtreeEnd[c];
    for (let i = tree.subtreeStart[c]; i < end; i++) {
      const leaf = tree.leafOrder[i];
      if (this.listed[leaf] === 1) this.groups.set(leaf, this.groupFor(leaf));
    }
  }

  /** The group a listed leaf sends in: its lowest lender's level and its prio; -1 if any ceiling is hit. */
  private groupFor(leaf: number): number {
    const tree = this.tree;
    let level = LINK_LEVEL;
    for (let c = leaf; c !== NONE; c = tree.parent[c]) {
      const m = tree.mode[c];
      if (m === CANT_SEND) return NONE;
      if (m === CAN_SEND && level === LINK_LEVEL) level = tree.level[c];
    }
    return level * 8 + tree.prio[leaf];
  }

  // ---- sub-queue lists -----------------------------------------------------------------------

  private listAppend(leaf: number, sq: number, where: SqWhere): void {
    const sqs = this.sqs;
    sqs.i32[sq * SQ_INTS + I_WHERE] = where;
    sqs.i32[sq * SQ_INTS + I_LIST_NEXT] = NONE;
    if (where === SQ_NEW) {
      if (this.newTail[leaf] === NONE) this.newHead[leaf] = sq;
      else sqs.i32[(this.newTail[leaf]) * SQ_INTS + I_LIST_NEXT] = sq;
      this.newTail[leaf] = sq;
    } else {
      if (this.oldTail[leaf] === NONE) this.oldHead[leaf] = sq;
      else sqs.i32[(this.oldTail[leaf]) * SQ_INTS + I_LIST_NEXT] = sq;
      this.oldTail[leaf] = sq;
    }
    if (this.listed[leaf] === 0) {
      this.listed[leaf] = 1;
      this.groups.set(leaf, this.groupFor(leaf));
    }
  }

  /** Removes the head of the leaf's new (or old) list. */
  private listShift(leaf: number, fromNew: boolean): void {
    const sqs = this.sqs;
    if (fromNew) {
      const sq = this.newHead[leaf];
      this.newHead[leaf] = sqs.i32[sq * SQ_INTS + I_LIST_NEXT];
      if (this.newHead[leaf] === NONE) this.newTail[leaf] = NONE;
    } else {
      const sq = this.oldHead[leaf];
      this.oldHead[leaf] = sqs.i32[sq * SQ_INTS + I_LIST_NEXT];
      if (this.oldHead[leaf] === NONE) this.oldTail[leaf] = NONE;
    }
  }

  /**
   * Collects into `scratch` the sub-queues of a leaf that hold packets — those in its new and old
   * lists and those parked by a flow ceiling — and returns how many. O(the leaf's sub-queues + all
   * throttled ones): for overflows, reloads and statistics, never per packet.
   */
  private collectSubqueues(leaf: number): number {
    const sqs = this.sqs;
    const i32 = sqs.i32;
    let n = 0;
    for (let sq = this.newHead[leaf]; sq !== NONE; sq = i32[sq * SQ_INTS + I_LIST_NEXT]) {
      if (i32[sq * SQ_INTS + I_PACKETS] > 0) this.scratch[n++] = sq;
    }
    for (let sq = this.oldHead[leaf]; sq !== NONE; sq = i32[sq * SQ_INTS + I_LIST_NEXT]) {
      if (i32[sq * SQ_INTS + I_PACKETS] > 0) this.scratch[n++] = sq;
    }
    for (let k = 0; k < this.throttled.size; k++) {
      const sq = this.throttled.idAt(k);
      if (i32[sq * SQ_INTS + I_CLS] === leaf && i32[sq * SQ_INTS + I_PACKETS] > 0) this.scratch[n++] = sq;
    }
    return n;
  }

  // ---- limits --------------------------------------------------------------------------------

  /** The backlogged leaf with the highest prio number (least important), the larger backlog on ties. */
  private lowestPriorityLeaf(): number {
    const tree = this.tree;
    let best = NONE;
    for (let i = 0; i < tree.leafOrder.length; i++) {
      const c = tree.leafOrder[i];
      if (this.backlogPackets[c] === 0) continue;
      if (
        best === NONE ||
        tree.prio[c] > tree.prio[best] ||
        (tree.prio[c] === tree.prio[best] && this.backlogBytes[c] > this.backlogBytes[best])
      ) {
        best = c;
      }
    }
    return best;
  }

  /**
   * Drops from the head of the leaf's fattest sub-queue until the limit that triggered it holds again
   * and at least DROP_BATCH packets (or half that sub-queue) are gone. Costs one pass over the leaf's
   * backlogged sub-queues (see collectSubqueues), paid once per batch.
   */
  private dropFromFattest(leaf: number, reason: DropReason): boolean {
    const sqs = this.sqs;
    let fat = NONE;
    let fatBytes = -1;
    const count = this.collectSubqueues(leaf);
    for (let k = 0; k < count; k++) {
      const sq = this.scratch[k];
      if (sqs.f64[sq * SQ_FLOATS + F_BYTES] > fatBytes) {
        fatBytes = sqs.f64[sq * SQ_FLOATS + F_BYTES];
        fat = sq;
      }
    }
    if (fat === NONE) return false;
    const batch = Math.min(DROP_BATCH, Math.ceil(sqs.i32[fat * SQ_INTS + I_PACKETS] / 2));
    for (let n = 0; sqs.i32[fat * SQ_INTS + I_PACKETS] > 0; n++) {
      const over =
        reason === DROP_GLOBAL_LIMIT
          ? this.totalPackets > this.globalLimitPackets || this.totalBytes > this.globalLimitBytes
          : this.backlogPackets[leaf] > this.limitPackets[leaf] || this.backlogBytes[leaf] > this.limitBytes[leaf];
      if (!over && n >= batch) break;
      const p = this.codelPop(fat);
      this.dropSlot(p, leaf, reason);
    }
    return true;
  }

  private dropSlot(p: number, leaf: number, reason: DropReason): void {
    this.drops[leaf * DROP_REASONS + reason]++;
    if (p === this.lastEnqueued) this.lastEnqueued = NONE;
    this.pushDropped(this.pool.handle[p]);
    this.pool.release(p);
  }

  private pushDropped(handle: number): void {
    if (this.droppedCount === this.dropped.length) {
      const grown = new Uint32Array(this.dropped.length * 2);
      grown.set(this.dropped);
      this.dropped = grown;
    }
    this.dropped[this.droppedCount++] = handle;
  }

  // ---- CodelQueue: what CoDel may do to a sub-queue ------------------------------------------

  codelPop(sq: number): number {
    const sqs = this.sqs;
    const p = sqs.shift(sq, this.pool);
    if (p === NONE) return NONE;
    const leaf = sqs.i32[sq * SQ_INTS + I_CLS];
    const bytes = this.pool.wireBytes[p];
    this.backlogPackets[leaf]--;
    this.backlogBytes[leaf] -= bytes;
    this.totalPackets--;
    this.totalBytes -= bytes;
    sqs.f64[sq * SQ_FLOATS + F_LAST_ACTIVE] = this.nowUs;
    return p;
  }

  codelEnqueuedUs(p: number): number {
    return this.pool.enqueuedUs[p];
  }

  codelBacklogBytes(sq: number): number {
    return this.sqs.f64[sq * SQ_FLOATS + F_BYTES];
  }

  codelDrop(p: number): void {
    this.dropSlot(p, this.codelLeaf, DROP_CODEL);
  }

  codelMark(p: number): boolean {
    if (this.pool.ect[p] === 0) return false;
    this.ecnMarked[this.codelLeaf]++;
    return true;
  }

  // ---- statistics ----------------------------------------------------------------------------

  /**
   * Folds the bytes sent since the last fold into the current-rate estimate, an EWMA with a time
   * constant of about a second. Done when counters are read (the worker exports them several times a
   * second), not per packet; a fold after a long gap weighs the average over the gap accordingly.
   */
  foldRate(c: number, nowUs: number): void {
    const elapsed = nowUs - this.rateSinceUs[c];
    if (elapsed < RATE_WINDOW_US) return;
    const sample = ((this.sentBytes[c] - this.rateMarkBytes[c]) * 8e6) / elapsed;
    const alpha = 1 - Math.pow(1 - RATE_ALPHA, elapsed / RATE_WINDOW_US);
    this.rateBps[c] += (sample - this.rateBps[c]) * alpha;
    this.rateMarkBytes[c] = this.sentBytes[c];
    this.rateSinceUs[c] = nowUs;
  }

  /** Drains the dropped-handle list (returns its count); call after reading dropped[]. */
  clearDropped(): void {
    this.droppedCount = 0;
  }

  /** Sets the clock of a scheduler built to take over from another (reload) before packets move in. */
  startAt(nowUs: number): void {
    this.nowUs = nowUs;
    this.linkCheckedUs = nowUs;
  }

  /** Moves a packet into this scheduler as it was (same enqueue time), ignoring limits: for reloads. */
  adopt(handle: number, cls: number, key: number, wireBytes: number, ect: boolean, enqueuedUs: number): boolean {
    let sq = this.sqs.find(cls, key);
    if (sq === NONE) {
      sq = this.sqs.alloc(cls, key, this.flowBurstUs[cls], this.nowUs, this.reclaimAfterUs);
      if (sq === NONE) return this.refuse(handle, cls, DROP_GLOBAL_LIMIT);
    }
    const p = this.pool.alloc(handle, wireBytes, enqueuedUs, ect);
    if (p === NONE) return this.refuse(handle, cls, DROP_GLOBAL_LIMIT);
    this.insert(p, cls, sq);
    return true;
  }

  /** Enforces every class limit and the global limit after adoptions, dropping as enqueue would. */
  enforceLimits(nowUs: number): void {
    if (nowUs > this.nowUs) this.nowUs = nowUs;
    const order = this.tree.leafOrder;
    for (let i = 0; i < order.length; i++) this.enforceClassLimit(order[i]);
    this.enforceGlobalLimit();
  }

  /** Drops from the class's fattest sub-queues until its limits hold (one pass per batch). */
  private enforceClassLimit(c: number): void {
    while (this.backlogPackets[c] > this.limitPackets[c] || this.backlogBytes[c] > this.limitBytes[c]) {
      if (!this.dropFromFattest(c, DROP_CLASS_LIMIT)) return;
    }
  }

  private enforceGlobalLimit(): void {
    while (this.totalPackets > this.globalLimitPackets || this.totalBytes > this.globalLimitBytes) {
      const victim = this.lowestPriorityLeaf();
      if (victim === NONE || !this.dropFromFattest(victim, DROP_GLOBAL_LIMIT)) return;
    }
  }

  /** Counts a packet of leaf `cls` that its class's `drop: true` action dropped before it was queued. */
  countActionDrop(cls: number): void {
    this.drops[cls * DROP_REASONS + DROP_ACTION]++;
  }

  /** Brings every class's buckets, mode, timer and group up to nowUs (after a reload copied state in). */
  resync(nowUs: number): void {
    if (nowUs > this.nowUs) this.nowUs = nowUs;
    for (let c = 0; c < this.tree.n; c++) {
      this.tree.refill(c, this.nowUs);
      const m = this.tree.modeOf(c);
      if (m !== CAN_SEND) this.classWake.set(c, this.nowUs + this.tree.waitUsIn(c, m));
      this.applyMode(c);
    }
  }

  /** Walks every queued packet of leaf `cls` in sub-queue order (not hot path: reloads, tests). */
  forEachQueued(cls: number, fn: (handle: number, key: number, wireBytes: number, ect: boolean, enqueuedUs: number) => void): void {
    const sqs = this.sqs;
    const pool = this.pool;
    const count = this.collectSubqueues(cls);
    for (let k = 0; k < count; k++) {
      const sq = this.scratch[k];
      for (let p = sqs.i32[sq * SQ_INTS + I_HEAD]; p !== NONE; p = pool.next[p]) {
        fn(pool.handle[p], sqs.f64[sq * SQ_FLOATS + F_KEY], pool.wireBytes[p], pool.ect[p] === 1, pool.enqueuedUs[p]);
      }
    }
  }

  /** Sub-queues of a leaf that hold packets. */
  activeSubqueues(cls: number): number {
    return this.collectSubqueues(cls);
  }
}
