/**
 * The flow table: a bounded table of flows keyed by the bidirectional 5-tuple (protocol, two
 * addresses, two ports), so both directions of a connection are one flow. It lets the classifier run
 * once per flow instead of once per packet, and gives the scheduler a flow id and per-host keys.
 *
 * Layout: typed arrays preallocated for `maxFlows` slots; a flow id is its slot index. What a packet
 * reads or writes is packed in two 64-byte records per slot (layout.ts): the key record (key, list
 * links, TCP state, generation) and the stats record (counters, times, address hashes), read by id
 * through methods. So a packet on a known flow costs three cache lines: bucket, key, stats.
 * Addresses are kept as four int32 words, IPv4 as v4-mapped ::ffff:a.b.c.d,
 * so IPv4 and IPv6 share one code path (the IP version is part of the key, so a v4 packet and an IPv6
 * packet carrying a v4-mapped address stay apart). The hash is computed from the packet's bytes
 * (hash.ts); the index is open addressing with backward-shift deletion (bucket-index.ts).
 *
 * Expiry and eviction: one idle list per timeout class, relinked lazily (idle-order.ts): a packet
 * moves its flow to its list's tail only when its class changed or it was linked at least a slack
 * (timeout / 16, at most 1 s) ago. expire() removes only flows past their idle deadline, at most
 * maxWork per call, less than a slack late; a full table evicts in O(1) the flow whose deadline comes
 * first, to within a slack. Eviction goes by deadline (last seen + its class's timeout), not simply
 * by last seen: a flood of new half-open TCP or UDP flows recycles its own kind (30 s, 60 s deadlines)
 * before it can push out established connections that were merely quiet for a while.
 *
 * Hot path: lookup() allocates nothing and costs a hash, a short probe and, for a known flow, three
 * cache lines; a busy flow is relinked (three more) about once per slack.
 * Time (nowUs) is always a parameter and must not decrease between calls.
 */
import { randomBytes } from 'node:crypto';
import { PacketInfo, Proto, TcpFlag } from '../packet/types.js';
import { BucketIndex } from './bucket-index.js';
import { FlowDescription, describeFlow } from './describe.js';
import { deriveSeeds, flowHashKeys, hashAddrWords, hashFlowKey, hashFlowV4, readWord } from './hash.js';
import { IdleOrder } from './idle-order.js';
import {
  KEY_STRIDE, K_GEN, K_HASH, K_INIT, K_LIST, K_PORTS, K_PROTO, K_RESP, K_TCP, SI_ADDR_HASH, STATS_INT_STRIDE, STATS_STRIDE,
  S_FIRST_SEEN_US, S_LAST_SEEN_US, S_LINKED_US, S_ORIG_BYTES, S_ORIG_PACKETS, S_REPLY_BYTES, S_REPLY_PACKETS,
} from './layout.js';
import { TcpState, tcpInitialState, tcpNextState } from './tcp-state.js';
import { FlowTimeouts, timeoutClassOf, timeoutsByClass } from './timeouts.js';

export type { FlowDescription } from './describe.js';
export type { FlowTimeouts } from './timeouts.js';

export interface FlowTableOptions {
  /** Most flows held at once; the table evicts beyond it. */
  maxFlows: number;
  timeouts?: Partial<FlowTimeouts>;
  /** Hash seed (32-bit); random when absent. Fix it only for reproducible tests. */
  seed?: number;
}

/** Largest maxFlows accepted (about 180 bytes each: 3 GB at this bound). */
const MAX_FLOWS_LIMIT = 1 << 24;
const SYN_ACK = TcpFlag.SYN | TcpFlag.ACK;

export class FlowTable {
  readonly maxFlows: number;
  /** Class chosen by the classifier, -1 until it writes one. Reset for each new flow. */
  readonly classId: Int32Array;
  /** Attributes later stages attach (owner, country, detected protocol...). Cleared on removal. */
  readonly attrs: (object | undefined)[];

  /** After lookup(): the packet went responder→initiator. */
  lastIsReply = false;
  /** After lookup(): the flow was created by that call. */
  lastCreated = false;
  /** Called with the id of every flow removed (expired, evicted or removed), before the id is reused. */
  onRemove: ((id: number) => void) | null = null;

  /** Key records (layout.ts K_*), KEY_STRIDE int32s per slot. */
  private readonly keys: Int32Array;
  /** Stats records (layout.ts S_*), STATS_STRIDE doubles per slot, and an int32 view of the same bytes. */
  private readonly stats: Float64Array;
  private readonly statsInts: Int32Array;
  private readonly index: BucketIndex;
  private readonly order: IdleOrder;
  /** Stack of free slots. */
  private readonly free: Int32Array;
  private freeCount: number;
  /** The packet's source words [0..3] and destination words [4..7], reused for every packet. */
  private readonly key = new Int32Array(8);
  private readonly addrSeed: number;
  /** Random keys of the per-packet flow hash. */
  private readonly flowKeys: Int32Array;
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
    const timeoutUs = timeoutsByClass(opts.timeouts);
    const seeds = deriveSeeds(opts.seed ?? randomBytes(4).readInt32LE(0));
    this.addrSeed = seeds.addrSeed;
    this.flowKeys = flowHashKeys(seeds.flowSeed);

    this.classId = new Int32Array(n).fill(-1);
    this.attrs = new Array<object | undefined>(n).fill(undefined);
    this.keys = new Int32Array(n * KEY_STRIDE);
    this.stats = new Float64Array(n * STATS_STRIDE);
    this.statsInts = new Int32Array(this.stats.buffer);
    this.index = new BucketIndex(n);
    this.order = new IdleOrder(this.keys, this.stats, timeoutUs, n);
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
   * Sets lastIsReply and lastCreated. A full table first evicts the flow whose deadline comes first
   * (to within a slack, idle-order.ts).
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
   * Remove flows idle past their timeout, at most maxWork of them; returns how many went. Only flows
   * whose deadline is <= nowUs go, in deadline order to within a slack; a flow stays less than a
   * slack past its deadline when expire() is called often enough (idle-order.ts). Each step compares
   * the list heads and either removes one flow or closes one list for this call, so a call costs
   * O(maxWork + timeout classes) however many flows are expired.
   */
  expire(nowUs: number, maxWork: number): number {
    const order = this.order;
    let removed = 0;
    let closed = 0;
    while (removed < maxWork) {
      const s = order.soonest(closed);
      if (s < 0 || order.soonestUs > nowUs) break;
      if (order.deadlineUs(s) <= nowUs) {
        this.removeSlot(s);
        removed++;
      } else {
        // Seen since it was linked and not idle long enough yet: its list waits for it.
        closed |= 1 << order.listOf(s);
      }
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
    return Number.isInteger(id) && id >= 0 && id < this.maxFlows && this.order.isListed(id);
  }

  /**
   * Bumped when the flow in slot id is removed: (id, generation(id)) names one flow, a saved pair stops
   * matching as soon as that flow goes, and a recycled slot never matches an old pair. Uint32.
   */
  generation(id: number): number {
    return this.keys[id * KEY_STRIDE + K_GEN] >>> 0;
  }

  // Counters and times by id (slot must be active), read from the stats record.

  /** IP bytes initiator→responder. */
  origBytes(id: number): number {
    return this.stats[id * STATS_STRIDE + S_ORIG_BYTES];
  }
  /** IP bytes responder→initiator. */
  replyBytes(id: number): number {
    return this.stats[id * STATS_STRIDE + S_REPLY_BYTES];
  }
  /** IP bytes both ways. */
  bytes(id: number): number {
    const o = id * STATS_STRIDE;
    return this.stats[o + S_ORIG_BYTES] + this.stats[o + S_REPLY_BYTES];
  }
  origPackets(id: number): number {
    return this.stats[id * STATS_STRIDE + S_ORIG_PACKETS];
  }
  replyPackets(id: number): number {
    return this.stats[id * STATS_STRIDE + S_REPLY_PACKETS];
  }
  /** Packets both ways. */
  packets(id: number): number {
    const o = id * STATS_STRIDE;
    return this.stats[o + S_ORIG_PACKETS] + this.stats[o + S_REPLY_PACKETS];
  }
  /** First packet of the flow, µs. */
  firstSeenUs(id: number): number {
    return this.stats[id * STATS_STRIDE + S_FIRST_SEEN_US];
  }
  /** Latest packet of the flow, µs. */
  lastSeenUs(id: number): number {
    return this.stats[id * STATS_STRIDE + S_LAST_SEEN_US];
  }

  /**
   * 30-bit hash of the initiator's (side 0) or responder's (side 1) address, computed when the flow
   * was created: equal for equal addresses across the flows of this table (for its whole life), so
   * the scheduler can key per-host sub-queues on it. 30 bits keep it a small integer in V8: a wider
   * one is a heap number when passed on, an allocation per packet (test/engine/no-alloc.test.ts bounds it).
   */
  addrHash(id: number, side: 0 | 1): number {
    return this.statsInts[id * STATS_INT_STRIDE + SI_ADDR_HASH + side] & 0x3fffffff;
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
  /** When the flow may expire if no packet comes (expire() takes it less than a slack later), µs. */
  expiresAtUs(id: number): number {
    return this.order.deadlineUs(id);
  }

  /** The next active flow id after prevId (pass -1 to start), or -1 when none. O(slots skipped). */
  nextActive(prevId: number): number {
    for (let i = prevId + 1; i < this.maxFlows; i++) if (this.order.isListed(i)) return i;
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

  /**
   * Count a packet on an existing flow and advance its TCP state. Relinks it at its list's tail only
   * when its timeout class changed or it was linked a slack ago or more (idle-order.ts).
   */
  private update(s: number, isReply: boolean, pkt: PacketInfo, nowUs: number): void {
    const st = this.stats;
    const so = s * STATS_STRIDE;
    st[so + S_LAST_SEEN_US] = nowUs;
    const c = so + (isReply ? S_REPLY_BYTES : S_ORIG_BYTES);
    st[c] += pkt.ipBytes;
    st[c + 1]++;
    const rec = this.keys;
    const o = s * KEY_STRIDE;
    const was = rec[o + K_LIST];
    let list = was;
    if (pkt.proto === Proto.TCP) {
      const before = rec[o + K_TCP];
      const after = tcpNextState(before, pkt.tcpFlags, isReply);
      if (after !== before) {
        rec[o + K_TCP] = after;
        list = timeoutClassOf(Proto.TCP, after);
      }
    }
    if (list !== was || nowUs - st[so + S_LINKED_US] >= this.order.slackUs[list]) this.order.relink(s, list, nowUs);
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
    const ai = s * STATS_INT_STRIDE + SI_ADDR_HASH;
    this.statsInts[ai] = hashAddrWords(this.addrSeed, k[i0], k[i0 + 1], k[i0 + 2], k[i0 + 3]);
    this.statsInts[ai + 1] = hashAddrWords(this.addrSeed, k[r0], k[r0 + 1], k[r0 + 2], k[r0 + 3]);

    const bytes = pkt.ipBytes;
    const st = this.stats;
    const so = s * STATS_STRIDE;
    st[so + S_FIRST_SEEN_US] = nowUs;
    st[so + S_LAST_SEEN_US] = nowUs;
    st[so + S_ORIG_BYTES] = swap ? 0 : bytes;
    st[so + S_ORIG_PACKETS] = swap ? 0 : 1;
    st[so + S_REPLY_BYTES] = swap ? bytes : 0;
    st[so + S_REPLY_PACKETS] = swap ? 1 : 0;
    this.classId[s] = -1;

    this.index.insert(s, h);
    this.order.link(s, timeoutClassOf(proto, state), nowUs);
    this.sizeCount++;
    this.createdCount++;
    this.lastIsReply = swap;
    this.lastCreated = true;
    return s;
  }

  /** Remove the flow whose deadline comes first (to within a slack); return its (now free) slot. Table must be full. */
  private evictOne(): number {
    this.removeSlot(this.order.soonest(0));
    this.evictionCount++;
    return this.free[--this.freeCount];
  }

  private removeSlot(s: number): void {
    const o = s * KEY_STRIDE;
    this.index.remove(s, this.keys[o + K_HASH]);
    this.order.unlink(s);
    this.attrs[s] = undefined;
    this.keys[o + K_GEN] = (this.keys[o + K_GEN] + 1) | 0;
    this.free[this.freeCount++] = s;
    this.sizeCount--;
    if (this.onRemove !== null) this.onRemove(s);
  }
}
