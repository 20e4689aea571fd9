/**
 * The flow table: a bounded table of flows keyed by the bidirectional 5-tuple (protocol, two
 * addresses, two ports), so both directions of a connection are one flow. It lets the classifier run
 * once per flow instead of once per packet, and gives the scheduler a flow id and per-host keys.
 *
 * Layout: typed arrays preallocated for `maxFlows` slots; a flow id is its slot index. The key and
 * LRU fields a lookup compares are packed in one record per slot (layout.ts); times, counters and
 * the fields other stages write are one typed array per field, readable by id. Addresses are kept as four int32 words, IPv4 as v4-mapped ::ffff:a.b.c.d,
 * so IPv4 and IPv6 share one code path (the IP version is part of the key, so a v4 packet and an IPv6
 * packet carrying a v4-mapped address stay apart). The hash is computed from the packet's bytes
 * (hash.ts); the index is open addressing with backward-shift deletion (bucket-index.ts).
 *
 * Expiry: one LRU list per timeout class (timeouts.ts, lru.ts); every packet moves its flow to the
 * tail of its class's list. Within a list the head is the flow whose idle deadline comes first, so
 * the earliest deadline of the whole table is the earliest of five list heads: expire() walks deadlines
 * in order doing a bounded amount of work, and a full table evicts in O(1).
 *
 * Eviction takes the flow whose idle deadline (last seen + its class's timeout) comes first, not
 * simply the least recently seen one. Within a timeout class that is exactly least recently seen;
 * across classes it means a flood of new half-open TCP or UDP flows recycles its own kind (30 s,
 * 60 s deadlines) before it can push out established connections that were merely quiet for a while.
 *
 * Hot path: lookup() allocates nothing and costs a hash, a short probe and O(1) list moves.
 * Time (nowUs) is always a parameter and must not decrease between calls.
 */
import { randomBytes } from 'node:crypto';
import { PacketInfo, Proto, TcpFlag } from '../packet/types.js';
import { BucketIndex } from './bucket-index.js';
import { FlowDescription, describeFlow } from './describe.js';
import { deriveSeeds, flowHashKeys, hashAddrWords, hashFlowKey, hashFlowV4, readWord } from './hash.js';
import { KEY_STRIDE, K_HASH, K_INIT, K_LIST, K_NEXT, K_PORTS, K_PREV, K_PROTO, K_RESP, K_TCP } from './layout.js';
import { LruLists, NO_LIST } from './lru.js';
import { TcpState, tcpInitialState, tcpNextState } from './tcp-state.js';
import { FlowTimeouts, TIMEOUT_CLASSES, timeoutClassOf, timeoutsByClass } from './timeouts.js';

export type { FlowDescription } from './describe.js';
export type { FlowTimeouts } from './timeouts.js';

export interface FlowTableOptions {
  /** Most flows held at once; the table evicts beyond it. */
  maxFlows: number;
  timeouts?: Partial<FlowTimeouts>;
  /** Hash seed (32-bit); random when absent. Fix it only for reproducible tests. */
  seed?: number;
}

/** Largest maxFlows accepted (about 170 bytes each: 2.8 GB at this bound). */
const MAX_FLOWS_LIMIT = 1 << 24;
const SYN_ACK = TcpFlag.SYN | TcpFlag.ACK;

export class FlowTable {
  readonly maxFlows: number;
  /** Class chosen by the classifier, -1 until it writes one. Reset for each new flow. */
  readonly classId: Int32Array;
  /**
   * Bumped when the flow in a slot is removed: (id, generation[id]) names one flow, a saved pair stops
   * matching as soon as that flow goes, and a recycled slot never matches an old pair.
   */
  readonly generation: Uint32Array;
  /** Attributes later stages attach (owner, country, detected protocol...). Cleared on removal. */
  readonly attrs: (object | undefined)[];
  readonly firstSeenUs: Float64Array;
  readonly lastSeenUs: Float64Array;
  /** IP bytes and packets initiator→responder (orig) and responder→initiator (reply). */
  readonly origBytes: Float64Array;
  readonly origPackets: Float64Array;
  readonly replyBytes: Float64Array;
  readonly replyPackets: Float64Array;

  /** After lookup(): the packet went responder→initiator. */
  lastIsReply = false;
  /** After lookup(): the flow was created by that call. */
  lastCreated = false;

  /** Key records (layout.ts K_*), KEY_STRIDE int32s per slot. */
  private readonly keys: Int32Array;
  private readonly initAddrHash: Int32Array;
  private readonly respAddrHash: Int32Array;
  private readonly index: BucketIndex;
  private readonly lru: LruLists;
  /** Idle timeout per TimeoutClass, µs. */
  private readonly timeoutUs: Float64Array;
  /** Stack of free slots. */
  private readonly free: Int32Array;
  private freeCount: number;
  /** The packet's source words [0..3] and destination words [4..7], reused for every packet. */
  private readonly key = new Int32Array(8);
  private readonly addrSeed: number;
  /** Random keys of the per-packet flow hash. */
  private readonly flowKeys: Int32Array;
  /** Deadline of the slot soonestDeadline() last returned, µs. */
  private soonestUs = 0;

  private sizeCount = 0;
  private createdCount = 0;
  private evictionCount = 0;
  private expiredCount = 0;

  constructor(opts: FlowTableOptions) {
    const n = opts.maxFlows;
    if (!Number.isInteger(n) || n < 1 || n > MAX_FLOWS_LIMIT) {
      throw new RangeError(`maxFlows must be an integer in [1, ${MAX_FLOWS_LIMIT}], got ${n}`);
    }
    this.maxFlows = n;
    this.timeoutUs = timeoutsByClass(opts.timeouts);
    const seeds = deriveSeeds(opts.seed ?? randomBytes(4).readInt32LE(0));
    this.addrSeed = seeds.addrSeed;
    this.flowKeys = flowHashKeys(seeds.flowSeed);

    this.classId = new Int32Array(n).fill(-1);
    this.generation = new Uint32Array(n);
    this.attrs = new Array<object | undefined>(n).fill(undefined);
    this.keys = new Int32Array(n * KEY_STRIDE);
    this.firstSeenUs = new Float64Array(n);
    this.lastSeenUs = new Float64Array(n);
    this.origBytes = new Float64Array(n);
    this.origPackets = new Float64Array(n);
    this.replyBytes = new Float64Array(n);
    this.replyPackets = new Float64Array(n);
    this.initAddrHash = new Int32Array(n);
    this.respAddrHash = new Int32Array(n);
    this.index = new BucketIndex(n);
    this.lru = new LruLists(this.keys, KEY_STRIDE, K_PREV, K_NEXT, K_LIST, n, TIMEOUT_CLASSES);
    this.free = new Int32Array(n);
    // Lowest slots first, so a fresh table fills 0, 1, 2, ...
    for (let i = 0; i < n; i++) this.free[i] = n - 1 - i;
    this.freeCount = n;
  }

  /** Flows held now. */
  get size(): number {
    return this.sizeCount;
  }
  /** Flows created since the table was made. */
  get created(): number {
    return this.createdCount;
  }
  /** Flows removed to make room for a new one. */
  get evictions(): number {
    return this.evictionCount;
  }
  /** Flows removed by expire() for being idle past their timeout. */
  get expired(): number {
    return this.expiredCount;
  }

  /**
   * Find or create the flow of a parsed packet (pkt.ipVersion 6, or else taken as 4; addresses at
   * srcOffset / dstOffset in pkt.buf), count it in its direction, advance the TCP state, and return the flow id.
   * Sets lastIsReply and lastCreated. A full table first evicts the flow whose deadline comes first.
   *
   * Packets without ports (ICMP, unknown protocols, non-first fragments) key on protocol and addresses
   * with ports 0. A non-first fragment of a TCP or UDP datagram therefore lands in a portless flow of
   * its own, not its first fragment's. That is accepted rather than handled with a fragment-id cache:
   * TCP is not fragmented in practice (path MTU discovery, DF), fragmented UDP is rare (large DNS
   * answers, some tunnels), and behind NFQUEUE with conntrack loaded the kernel reassembles datagrams
   * before the queue sees them. The cost is that such fragments are classified by address and
   * protocol rules only and may be queued apart from their first fragment.
   */
  lookup(pkt: PacketInfo, nowUs: number): number {
    const b = pkt.buf;
    const k = this.key;
    const sport = pkt.sport;
    const dport = pkt.dport;
    let protoKey: number;
    let h: number;
    if (pkt.ipVersion === 6) {
      const so = pkt.srcOffset;
      const d = pkt.dstOffset;
      k[0] = readWord(b, so);
      k[1] = readWord(b, so + 4);
      k[2] = readWord(b, so + 8);
      k[3] = readWord(b, so + 12);
      k[4] = readWord(b, d);
      k[5] = readWord(b, d + 4);
      k[6] = readWord(b, d + 8);
      k[7] = readWord(b, d + 12);
      protoKey = pkt.proto | (6 << 8);
      h = hashFlowKey(this.flowKeys, k, sport, dport, protoKey);
    } else {
      const src = readWord(b, pkt.srcOffset);
      const dst = readWord(b, pkt.dstOffset);
      k[0] = 0;
      k[1] = 0;
      k[2] = 0xffff;
      k[3] = src;
      k[4] = 0;
      k[5] = 0;
      k[6] = 0xffff;
      k[7] = dst;
      protoKey = pkt.proto | (4 << 8);
      h = hashFlowV4(this.flowKeys, src, dst, sport, dport, protoKey);
    }

    const buckets = this.index.buckets;
    const mask = this.index.mask;
    const rec = this.keys;
    const fwdPorts = (sport << 16) | dport;
    const revPorts = (dport << 16) | sport;
    for (let i = (h << 1) & mask, s = buckets[i]; s >= 0; i = (i + 2) & mask, s = buckets[i]) {
      if (buckets[i + 1] !== h) continue;
      const o = s * KEY_STRIDE;
      if (rec[o + K_PROTO] !== protoKey) continue;
      const ports = rec[o + K_PORTS];
      if (ports === fwdPorts && this.sameAddrs(o, 0, 4, protoKey)) {
        this.update(s, false, pkt, nowUs);
        return s;
      }
      if (ports === revPorts && this.sameAddrs(o, 4, 0, protoKey)) {
        this.update(s, true, pkt, nowUs);
        return s;
      }
    }
    return this.create(h, protoKey, pkt, nowUs);
  }

  /**
   * Remove flows idle past their timeout, in deadline order, at most maxWork of them; returns how
   * many went. Each step compares the five list heads and removes one flow, so a call costs
   * O(maxWork) however many flows are expired.
   */
  expire(nowUs: number, maxWork: number): number {
    let removed = 0;
    while (removed < maxWork) {
      const s = this.soonestDeadline();
      if (s < 0 || this.soonestUs > nowUs) break;
      this.removeSlot(s);
      removed++;
    }
    this.expiredCount += removed;
    return removed;
  }

  /** Remove a flow now (e.g. on request from the CLI). False when id holds no flow. */
  remove(id: number): boolean {
    if (!this.isActive(id)) return false;
    this.removeSlot(id);
    return true;
  }

  /** True when slot id holds a flow. */
  isActive(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.maxFlows && this.lru.listOf(id) !== NO_LIST;
  }

  /**
   * 32-bit hash of the initiator's (side 0) or responder's (side 1) address, computed when the flow
   * was created: equal for equal addresses across the flows of this table (for its whole life), so
   * the scheduler can key per-host sub-queues on it.
   */
  addrHash(id: number, side: 0 | 1): number {
    return (side === 0 ? this.initAddrHash[id] : this.respAddrHash[id]) >>> 0;
  }

  // Key fields by id (slot must be active), read from the packed key record.

  /** IP protocol number. */
  proto(id: number): number {
    return this.keys[id * KEY_STRIDE + K_PROTO] & 0xff;
  }
  /** 4 or 6. */
  ipVersion(id: number): number {
    return this.keys[id * KEY_STRIDE + K_PROTO] >>> 8;
  }
  initPort(id: number): number {
    return this.keys[id * KEY_STRIDE + K_PORTS] >>> 16;
  }
  respPort(id: number): number {
    return this.keys[id * KEY_STRIDE + K_PORTS] & 0xffff;
  }
  /** The initiator's (side 0) or responder's (side 1) address as four big-endian words (a copy). */
  addrWords(id: number, side: 0 | 1): Int32Array {
    const o = id * KEY_STRIDE + (side === 0 ? K_INIT : K_RESP);
    return this.keys.slice(o, o + 4);
  }
  /** TcpState (TcpState.NONE for other protocols). */
  tcpState(id: number): TcpState {
    return this.keys[id * KEY_STRIDE + K_TCP];
  }
  /** When the flow expires if no packet comes, µs. */
  expiresAtUs(id: number): number {
    return this.lastSeenUs[id] + this.timeoutUs[this.lru.listOf(id)];
  }

  /** The next active flow id after prevId (pass -1 to start), or -1 when none. O(slots skipped). */
  nextActive(prevId: number): number {
    for (let i = prevId + 1; i < this.maxFlows; i++) if (this.lru.listOf(i) !== NO_LIST) return i;
    return -1;
  }

  /** The flow in slot id as plain values with text addresses, or undefined when the slot is free. */
  describe(id: number): FlowDescription | undefined {
    return this.isActive(id) ? describeFlow(this, id) : undefined;
  }

  /**
   * True when the record at o holds the packet's addresses: its source words k[srcAt..] as initiator
   * and destination words k[dstAt..] as responder. The record's protoKey already matched, so for IPv4
   * the v4-mapped prefix words are equal and only the last word of each address is compared.
   */
  private sameAddrs(o: number, srcAt: number, dstAt: number, protoKey: number): boolean {
    const k = this.key;
    const rec = this.keys;
    const i = o + K_INIT;
    const r = o + K_RESP;
    if (rec[i + 3] !== k[srcAt + 3] || rec[r + 3] !== k[dstAt + 3]) return false;
    if (protoKey >>> 8 === 4) return true;
    return (
      rec[i + 2] === k[srcAt + 2] && rec[r + 2] === k[dstAt + 2] && rec[i + 1] === k[srcAt + 1] && rec[r + 1] === k[dstAt + 1] &&
      rec[i] === k[srcAt] && rec[r] === k[dstAt]
    );
  }

  /** Count a packet on an existing flow, advance its TCP state and move it to its list's tail. */
  private update(s: number, isReply: boolean, pkt: PacketInfo, nowUs: number): void {
    this.lastSeenUs[s] = nowUs;
    if (isReply) {
      this.replyBytes[s] += pkt.ipBytes;
      this.replyPackets[s]++;
    } else {
      this.origBytes[s] += pkt.ipBytes;
      this.origPackets[s]++;
    }
    const rec = this.keys;
    const o = s * KEY_STRIDE;
    let list = rec[o + K_LIST];
    if (pkt.proto === Proto.TCP) {
      const before = rec[o + K_TCP];
      const after = tcpNextState(before, pkt.tcpFlags, isReply);
      if (after !== before) {
        rec[o + K_TCP] = after;
        list = timeoutClassOf(Proto.TCP, after);
      }
    }
    this.lru.touch(s, list);
    this.lastIsReply = isReply;
    this.lastCreated = false;
  }

  /**
   * Make a flow for the key in this.key. A TCP flow first seen at its SYN+ACK (its SYN was missed, e.g.
   * the flow was evicted or sluice started mid-handshake) takes the SYN+ACK's receiver as initiator,
   * so "initiator" still means the side that opened the connection.
   */
  private create(h: number, protoKey: number, pkt: PacketInfo, nowUs: number): number {
    const s = this.freeCount > 0 ? this.free[--this.freeCount] : this.evictOne();
    const proto = pkt.proto;
    const flags = pkt.tcpFlags;
    const isTcp = proto === Proto.TCP;
    const swap = isTcp && (flags & SYN_ACK) === SYN_ACK;
    const k = this.key;
    const i0 = swap ? 4 : 0;
    const r0 = swap ? 0 : 4;
    const rec = this.keys;
    const o = s * KEY_STRIDE;
    for (let w = 0; w < 4; w++) {
      rec[o + K_INIT + w] = k[i0 + w];
      rec[o + K_RESP + w] = k[r0 + w];
    }
    rec[o + K_HASH] = h;
    rec[o + K_PROTO] = protoKey;
    rec[o + K_PORTS] = swap ? (pkt.dport << 16) | pkt.sport : (pkt.sport << 16) | pkt.dport;
    const state = isTcp ? tcpInitialState(flags) : TcpState.NONE;
    rec[o + K_TCP] = state;
    this.initAddrHash[s] = hashAddrWords(this.addrSeed, k[i0], k[i0 + 1], k[i0 + 2], k[i0 + 3]);
    this.respAddrHash[s] = hashAddrWords(this.addrSeed, k[r0], k[r0 + 1], k[r0 + 2], k[r0 + 3]);

    const bytes = pkt.ipBytes;
    this.firstSeenUs[s] = nowUs;
    this.lastSeenUs[s] = nowUs;
    this.origBytes[s] = swap ? 0 : bytes;
    this.origPackets[s] = swap ? 0 : 1;
    this.replyBytes[s] = swap ? bytes : 0;
    this.replyPackets[s] = swap ? 1 : 0;
    this.classId[s] = -1;

    this.index.insert(s, h);
    this.lru.push(s, timeoutClassOf(proto, state));
    this.sizeCount++;
    this.createdCount++;
    this.lastIsReply = swap;
    this.lastCreated = true;
    return s;
  }

  /** Remove the flow whose deadline comes first and return its (now free) slot. Table must be full. */
  private evictOne(): number {
    this.removeSlot(this.soonestDeadline());
    this.evictionCount++;
    return this.free[--this.freeCount];
  }

  /** The flow whose idle deadline comes first (sets soonestUs), or -1 when the table is empty. */
  private soonestDeadline(): number {
    const head = this.lru.head;
    const lastSeen = this.lastSeenUs;
    const timeout = this.timeoutUs;
    let best = -1;
    let bestUs = Infinity;
    for (let c = 0; c < TIMEOUT_CLASSES; c++) {
      const s = head[c];
      if (s >= 0) {
        const us = lastSeen[s] + timeout[c];
        if (us < bestUs) {
          best = s;
          bestUs = us;
        }
      }
    }
    this.soonestUs = bestUs;
    return best;
  }

  private removeSlot(s: number): void {
    this.index.remove(s, this.keys[s * KEY_STRIDE + K_HASH]);
    this.lru.unlink(s);
    this.attrs[s] = undefined;
    this.generation[s]++;
    this.free[this.freeCount++] = s;
    this.sizeCount--;
  }
}
