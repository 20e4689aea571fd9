/**
 * Per-flow protocol detection: the engine feeds every packet of a flow whose `l7` is still
 * 'pending' to the tracker, which offers each direction's first payload to `detect` (types.ts gives
 * the calling convention) and tells when the flow's protocol, host and entropy are final.
 *
 * A flow is decided, at the first of:
 * - a `detect` call on either direction answers DECIDED: its protocol and host;
 * - both directions are at their bound: L7_MAX_PACKETS payload packets offered to `detect`, or
 *   L7_MAX_BYTES payload bytes, or a FIN seen from that side (its stream has ended);
 * - the flow has carried FLOW_MAX_PAYLOAD_PACKETS packets with payload, or FLOW_MAX_PACKETS packets
 *   of any kind, in all (so a one-way stream, or a flow whose payload is all out of order, settles);
 * - a TCP RST;
 * - at once, for a flow that is neither TCP nor UDP (or a portless fragment flow): 'unknown'.
 * Without a DECIDED answer the flow takes the best guess: the initiator's tentative protocol (the
 * last `out.protocol` of its side, e.g. 'http' whose Host never came), else the responder's, else
 * 'unknown'; no host. So a bare handshake that closes (FIN both ways, or RST) is 'unknown'.
 *
 * TCP: `detect` is given the in-order byte prefix of each direction's stream, reassembled in a 2 KB
 * buffer per direction. The next expected sequence number of a side comes from its SYN (or SYN-ACK),
 * else from its first payload segment (a flow picked up mid-stream). A segment starting at it is
 * appended; one starting earlier has its overlap trimmed (a retransmit); one starting later is
 * ignored (a gap, which the retransmission fills later): the prefix never holds wrong bytes. Only
 * appended segments count toward the per-direction packet bound. Sequence numbers are read from the
 * TCP header bytes (PacketInfo does not carry them). A side's first in-order bytes are offered
 * where they lie: most first messages fit one segment, and a flow they decide never touches a
 * buffer. When they do not decide, the flow takes a slot (2 x 2 KB, one per side) from a pool of
 * `streamBuffers` slots in one ArrayBuffer and keeps it until it is decided or reset. A flow that
 * finds the pool empty detects on each segment alone, as UDP does (counted in stats.noStreamBuffer):
 * a message split over segments is then missed, but its first segment's tentative protocol still
 * counts. UDP: each datagram is offered alone.
 *
 * flow.entropy: Shannon entropy (bits per byte, entropy.ts) of the first payload of the direction
 * that carried payload first: with a stream buffer, that direction's in-order prefix as it stands at
 * the decision (up to 2 KB: all of it for a flow settled at the bound, the recognised message for a
 * flow decided by a signature); otherwise (UDP, TCP without buffer) its first datagram or segment,
 * up to 2 KB. 0 for a flow decided before it carried payload. Few bytes read low (100 random bytes
 * give about 6.3), so rules should compare it on flows that moved some data.
 *
 * Memory: about 40 bytes per flow in typed arrays plus streamBuffers x 4 KB. Cost: a decided flow
 * costs one byte read per packet (feed() is small enough to inline); a pending one, with payload,
 * one `detect` over its side's prefix (at most L7_MAX_PACKETS per side) and, once the first bytes
 * did not decide, a byte copy into the buffer; once per flow, the entropy over up to 2 KB (the
 * larger part for flows decided on their first segment: `entropy: false` skips it when no rule
 * reads flow.entropy). No allocation per packet: strings are made once per flow (the host, inside
 * `detect`), and the entropy's number may be boxed once per flow. bench/classify/l7-tracker.bench.ts.
 */
import { Proto, TcpFlag, type PacketInfo } from '../../packet/types.js';
import { detect, PROTO_TCP, PROTO_UDP } from './detect.js';
import { entropyBits } from './entropy.js';
import { L7Result, L7Verdict, L7_MAX_BYTES, L7_MAX_PACKETS, type L7Protocol } from './types.js';

/** What `protocol()` answers until the flow is decided. */
export const L7_PENDING = 'pending';
/** Packets with payload a flow carries in all before it settles without a DECIDED answer. */
export const FLOW_MAX_PAYLOAD_PACKETS = 2 * L7_MAX_PACKETS;
/** Packets of any kind (handshake, ACKs, out-of-order segments) a flow carries before it settles. */
export const FLOW_MAX_PACKETS = 16;
const DEFAULT_STREAM_BUFFERS = 1024;
/** Bytes of one pool slot: one L7_MAX_BYTES stream buffer per direction. */
const SLOT_BYTES = 2 * L7_MAX_BYTES;

/** Protocol names by id; id 0 is 'unknown', the default guess. */
const PROTOCOLS: readonly L7Protocol[] = ['unknown', 'http', 'tls', 'quic', 'ssh', 'dns', 'bittorrent', 'stun', 'rtp'];
const UNKNOWN_ID = 0;

// Per-flow flag bits.
const F_DECIDED = 0x01;
const F_NO_BUFFER = 0x02;
/** Some direction carried payload; F_FIRST_REPLY says which (set: the responder). */
const F_FIRST_SET = 0x04;
const F_FIRST_REPLY = 0x08;
/** Direction d's next sequence number is known: F_SEQ_KNOWN << d. */
const F_SEQ_KNOWN = 0x10;
/** Direction d is at its bound (packets, bytes or FIN): F_DONE << d. */
const F_DONE = 0x40;
const F_DONE_BOTH = F_DONE | (F_DONE << 1);

/** How a flow was decided, for the stats. */
const BY_SIGNATURE = 0;
const BY_BOUND = 1;
const BY_CLOSE = 2;
const BY_NOT_APPLICABLE = 3;

/** feedTcp's answer for a segment that was not offered to `detect` (a gap or a whole retransmit). */
const IGNORED = -1;

export interface L7TrackerOptions {
  /** TCP streams reassembled at once (each holds 2 x L7_MAX_BYTES bytes); default 1024. */
  streamBuffers?: number;
  /** Compute flow.entropy (default true). Off when no rule reads it: it is the largest part of a
   * pending flow's cost (about 2.5 ns per byte, up to 2 KB per flow); entropyBits() then stays -1. */
  entropy?: boolean;
}

export interface L7TrackerStats {
  /** Flows decided since the tracker was made. */
  decided: number;
  /** Of those, flows that took the best guess at a packet or byte bound. */
  settledAtBound: number;
  /** Of those, flows that took the best guess when a FIN or RST ended them. */
  settledAtClose: number;
  /** TCP flows that needed a stream buffer (their first bytes did not decide), found the pool empty
   * and detected segment by segment. */
  noStreamBuffer: number;
}

export class L7Tracker {
  readonly maxFlows: number;
  readonly computesEntropy: boolean;
  readonly stats: L7TrackerStats = { decided: 0, settledAtBound: 0, settledAtClose: 0, noStreamBuffer: 0 };

  /** F_* bits per flow. */
  private readonly flags: Uint8Array;
  /** Packets of any kind, and packets with payload, fed since the flow began (the flow is decided
   * at FLOW_MAX_PACKETS / FLOW_MAX_PAYLOAD_PACKETS, so a byte holds them). */
  private readonly packets: Uint8Array;
  private readonly payloadPackets: Uint8Array;
  /** Decided protocol id (PROTOCOLS), host ('' when none) and entropy, bits per byte (-1 until known). */
  private readonly protocolIds: Uint8Array;
  private readonly hosts: string[];
  private readonly entropies: Float64Array;
  /** Stream-buffer pool slot held by the flow, -1 when none. */
  private readonly slots: Int32Array;
  /** Per direction (index flow * 2 + d, d = 1 for the responder): payload packets offered to detect,
   * bytes offered (TCP with a buffer: bytes held in it), next expected TCP sequence number, guess id. */
  private readonly dirPackets: Uint8Array;
  private readonly dirBytes: Uint16Array;
  private readonly nextSeq: Int32Array;
  private readonly guesses: Uint8Array;

  /** The stream buffers: slot s holds direction d at s * SLOT_BYTES + d * L7_MAX_BYTES. */
  private readonly pool: Buffer;
  private readonly freeSlots: Int32Array;
  private freeSlotCount: number;
  private readonly out = new L7Result();

  constructor(maxFlows: number, opts: L7TrackerOptions = {}) {
    if (!Number.isInteger(maxFlows) || maxFlows < 1) throw new RangeError(`maxFlows must be a positive integer, got ${maxFlows}`);
    const buffers = opts.streamBuffers ?? DEFAULT_STREAM_BUFFERS;
    if (!Number.isInteger(buffers) || buffers < 0) throw new RangeError(`streamBuffers must be an integer >= 0, got ${buffers}`);
    this.maxFlows = maxFlows;
    this.computesEntropy = opts.entropy ?? true;
    this.flags = new Uint8Array(maxFlows);
    this.packets = new Uint8Array(maxFlows);
    this.payloadPackets = new Uint8Array(maxFlows);
    this.protocolIds = new Uint8Array(maxFlows);
    this.hosts = new Array<string>(maxFlows).fill('');
    this.entropies = new Float64Array(maxFlows).fill(-1);
    this.slots = new Int32Array(maxFlows).fill(-1);
    this.dirPackets = new Uint8Array(maxFlows * 2);
    this.dirBytes = new Uint16Array(maxFlows * 2);
    this.nextSeq = new Int32Array(maxFlows * 2);
    this.guesses = new Uint8Array(maxFlows * 2);
    this.pool = Buffer.alloc(buffers * SLOT_BYTES);
    this.freeSlots = new Int32Array(buffers);
    for (let i = 0; i < buffers; i++) this.freeSlots[i] = buffers - 1 - i;
    this.freeSlotCount = buffers;
  }

  /** Stream buffers (slots of two directions) not held by a pending flow now. */
  get streamBuffersFree(): number {
    return this.freeSlotCount;
  }

  /** A new flow took this id: forget what the id held (and give back its stream buffer). */
  reset(flow: number): void {
    this.releaseSlot(flow);
    this.flags[flow] = 0;
    this.packets[flow] = 0;
    this.payloadPackets[flow] = 0;
    this.protocolIds[flow] = UNKNOWN_ID;
    this.hosts[flow] = '';
    this.entropies[flow] = -1;
    const at = flow * 2;
    this.dirPackets[at] = 0;
    this.dirPackets[at + 1] = 0;
    this.dirBytes[at] = 0;
    this.dirBytes[at + 1] = 0;
    this.guesses[at] = UNKNOWN_ID;
    this.guesses[at + 1] = UNKNOWN_ID;
  }

  decided(flow: number): boolean {
    return (this.flags[flow] & F_DECIDED) !== 0;
  }

  /** 'pending' until decided, then one of the L7Protocol names. */
  protocol(flow: number): L7Protocol | typeof L7_PENDING {
    return (this.flags[flow] & F_DECIDED) !== 0 ? PROTOCOLS[this.protocolIds[flow]] : L7_PENDING;
  }

  /** HTTP Host or TLS/QUIC server name once decided; '' until then and when there is none. */
  host(flow: number): string {
    return this.hosts[flow];
  }

  /** Entropy of the flow's first payload bytes (see the header), bits per byte; -1 until decided
   * (and always when the tracker was made with `entropy: false`). */
  entropyBits(flow: number): number {
    return (this.flags[flow] & F_DECIDED) !== 0 ? this.entropies[flow] : -1;
  }

  /**
   * Feeds one packet of the flow (isReply: it went responder → initiator, the flow table's
   * lastIsReply). Returns true when this packet decided the flow; false otherwise, at once for a
   * flow already decided.
   */
  feed(flow: number, isReply: boolean, pkt: PacketInfo): boolean {
    // Small enough for V8 to inline into the caller: a decided flow costs one byte read.
    return (this.flags[flow] & F_DECIDED) === 0 && this.feedPending(flow, isReply, pkt);
  }

  private feedPending(flow: number, isReply: boolean, pkt: PacketInfo): boolean {
    let flags = this.flags[flow];
    const proto = pkt.proto;
    if (!pkt.hasL4 || (proto !== Proto.TCP && proto !== Proto.UDP)) return this.settle(flow, BY_NOT_APPLICABLE);
    this.packets[flow]++;
    const d = isReply ? 1 : 0;
    const tcpFlags = proto === Proto.TCP ? pkt.tcpFlags : 0;

    if (pkt.payloadBytes > 0) {
      this.payloadPackets[flow]++;
      if ((flags & (F_DONE << d)) === 0) {
        const verdict = proto === Proto.TCP ? this.feedTcp(flow, d, pkt) : this.feedDatagram(flow, d, pkt);
        if (verdict === L7Verdict.DECIDED) return this.settle(flow, BY_SIGNATURE);
        flags = this.flags[flow];
        const at = flow * 2 + d;
        if (this.dirPackets[at] >= L7_MAX_PACKETS || this.dirBytes[at] >= L7_MAX_BYTES) flags |= F_DONE << d;
      }
    } else if ((tcpFlags & TcpFlag.SYN) !== 0 && this.dirBytes[flow * 2 + d] === 0) {
      // A SYN (or a retransmitted one with a new ISN) before any payload fixes where the stream starts.
      this.nextSeq[flow * 2 + d] = (readSeq(pkt) + 1) | 0;
      flags |= F_SEQ_KNOWN << d;
    }
    if ((tcpFlags & TcpFlag.RST) !== 0) return this.settle(flow, BY_CLOSE);
    if ((tcpFlags & TcpFlag.FIN) !== 0) flags |= F_DONE << d;
    this.flags[flow] = flags;
    if ((flags & F_DONE_BOTH) === F_DONE_BOTH) return this.settle(flow, (tcpFlags & TcpFlag.FIN) !== 0 ? BY_CLOSE : BY_BOUND);
    if (this.payloadPackets[flow] >= FLOW_MAX_PAYLOAD_PACKETS || this.packets[flow] >= FLOW_MAX_PACKETS) return this.settle(flow, BY_BOUND);
    return false;
  }

  /**
   * A TCP segment with payload from direction d. Only bytes that continue the side's in-order
   * prefix are offered: a side's first bytes where they lie (most first messages are whole in one
   * segment, and such a flow never needs a buffer), later ones appended to the side's stream buffer
   * and `detect` run over the whole prefix. Answers the verdict, or IGNORED when nothing new came.
   */
  private feedTcp(flow: number, d: number, pkt: PacketInfo): number {
    const at = flow * 2 + d;
    const length = pkt.payloadBytes;
    const start = (readSeq(pkt) + ((pkt.tcpFlags & TcpFlag.SYN) !== 0 ? 1 : 0)) | 0;
    const known = F_SEQ_KNOWN << d;
    if ((this.flags[flow] & known) === 0) {
      this.nextSeq[at] = start;
      this.flags[flow] |= known;
    }
    // Bytes of this segment already in the prefix; negative: a gap lies before it.
    const skip = (this.nextSeq[at] - start) | 0;
    if (skip < 0 || skip >= length) return IGNORED;
    this.nextSeq[at] = (start + length) | 0;
    const buf = pkt.buf;
    const from = pkt.payloadOffset + skip;
    const newBytes = length - skip;
    let slot = this.slots[flow];
    if (slot < 0) {
      const first = this.markFirst(flow, d);
      const verdict = this.detectAlone(flow, d, buf, from, newBytes, PROTO_TCP);
      if (verdict === L7Verdict.DECIDED || !this.takeSlot(flow)) {
        if (first && this.computesEntropy) this.entropies[flow] = entropyBits(buf, from, Math.min(newBytes, L7_MAX_BYTES));
        return verdict;
      }
      // Undecided: keep the bytes for the next segment (the entropy comes from the buffer later).
      slot = this.slots[flow];
      this.append(slot, d, 0, buf, from, this.dirBytes[at]);
      return verdict;
    }
    const held = this.dirBytes[at];
    const copyBytes = Math.min(newBytes, L7_MAX_BYTES - held);
    this.append(slot, d, held, buf, from, copyBytes);
    this.dirBytes[at] = held + copyBytes;
    this.dirPackets[at]++;
    this.markFirst(flow, d);
    const out = this.out;
    const verdict = detect(this.pool, slot * SLOT_BYTES + d * L7_MAX_BYTES, held + copyBytes, PROTO_TCP, d === 0, out);
    // A longer prefix knows better: its guess replaces the shorter one's.
    this.guesses[at] = protocolId(out.protocol);
    return verdict;
  }

  /** A UDP datagram offered alone; the first datagram of the flow gives its entropy. */
  private feedDatagram(flow: number, d: number, pkt: PacketInfo): number {
    const from = pkt.payloadOffset;
    const length = pkt.payloadBytes;
    if (this.markFirst(flow, d) && this.computesEntropy) this.entropies[flow] = entropyBits(pkt.buf, from, Math.min(length, L7_MAX_BYTES));
    return this.detectAlone(flow, d, pkt.buf, from, length, PROTO_UDP);
  }

  /** Offers buf[from, from + length) alone: a datagram, a side's first TCP bytes, or a segment of a flow without buffer. */
  private detectAlone(flow: number, d: number, buf: Buffer, from: number, length: number, proto: 6 | 17): number {
    const at = flow * 2 + d;
    this.dirPackets[at]++;
    this.dirBytes[at] = Math.min(L7_MAX_BYTES, this.dirBytes[at] + length);
    const out = this.out;
    const verdict = detect(buf, from, length, proto, d === 0, out);
    // Packets stand alone: one that shows nothing does not erase what an earlier one suggested.
    if (out.protocol !== 'unknown') this.guesses[at] = protocolId(out.protocol);
    return verdict;
  }

  /** Copies `length` bytes of buf at `from` into direction d's stream buffer of `slot` at `held`. */
  private append(slot: number, d: number, held: number, buf: Buffer, from: number, length: number): void {
    // A byte loop: Buffer.copy from an offset makes a view object per call.
    const pool = this.pool;
    const to = slot * SLOT_BYTES + d * L7_MAX_BYTES + held;
    for (let i = 0; i < length; i++) pool[to + i] = buf[from + i];
  }

  /** Gives the flow a stream buffer; false (counted once per flow) when the pool is empty. */
  private takeSlot(flow: number): boolean {
    const flags = this.flags[flow];
    if ((flags & F_NO_BUFFER) !== 0) return false;
    if (this.freeSlotCount === 0) {
      this.flags[flow] = flags | F_NO_BUFFER;
      this.stats.noStreamBuffer++;
      return false;
    }
    this.slots[flow] = this.freeSlots[--this.freeSlotCount];
    return true;
  }

  /** Records d as the first direction with payload if none was; true when it was the first. */
  private markFirst(flow: number, d: number): boolean {
    const flags = this.flags[flow];
    if ((flags & F_FIRST_SET) !== 0) return false;
    this.flags[flow] = flags | F_FIRST_SET | (d === 1 ? F_FIRST_REPLY : 0);
    return true;
  }

  /** Makes the flow's protocol, host and entropy final (`out` holds them when by signature). */
  private settle(flow: number, by: number): boolean {
    const flags = this.flags[flow];
    if (by === BY_SIGNATURE) {
      this.protocolIds[flow] = protocolId(this.out.protocol);
      this.hosts[flow] = this.out.host;
    } else {
      const initiatorGuess = this.guesses[flow * 2];
      this.protocolIds[flow] = initiatorGuess !== UNKNOWN_ID ? initiatorGuess : this.guesses[flow * 2 + 1];
      this.hosts[flow] = '';
    }
    const slot = this.slots[flow];
    if (!this.computesEntropy) {
      this.entropies[flow] = -1;
    } else if ((flags & F_FIRST_SET) === 0) {
      this.entropies[flow] = 0;
    } else if (slot >= 0) {
      // With a buffer, every side's bytes are in it (the buffer is taken at the first bytes that do not decide).
      const d = (flags & F_FIRST_REPLY) !== 0 ? 1 : 0;
      this.entropies[flow] = entropyBits(this.pool, slot * SLOT_BYTES + d * L7_MAX_BYTES, this.dirBytes[flow * 2 + d]);
    }
    this.releaseSlot(flow);
    this.flags[flow] = flags | F_DECIDED;
    const stats = this.stats;
    stats.decided++;
    if (by === BY_BOUND) stats.settledAtBound++;
    else if (by === BY_CLOSE) stats.settledAtClose++;
    return true;
  }

  private releaseSlot(flow: number): void {
    const slot = this.slots[flow];
    if (slot < 0) return;
    this.freeSlots[this.freeSlotCount++] = slot;
    this.slots[flow] = -1;
  }
}

/** The TCP sequence number of the segment, as an int32 (compare with `(a - b) | 0`). */
function readSeq(pkt: PacketInfo): number {
  const b = pkt.buf;
  const at = pkt.l4Offset + 4;
  return (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}

function protocolId(protocol: L7Protocol): number {
  const id = PROTOCOLS.indexOf(protocol);
  return id < 0 ? UNKNOWN_ID : id;
}
