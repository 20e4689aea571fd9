/**
 * NfqueueDatapath: the Datapath contract over one nfnetlink_queue queue. The kernel queues packets
 * to our netlink socket; each is held (a held packet *is* its place in sluice's queue) until the
 * engine gives its verdict, which goes back as an NFQNL_MSG_VERDICT.
 *
 * The way of a batch:
 * - receive(timeoutUs) sleeps in ppoll until a message waits or the timeout passes; then it drains every waiting datagram with recvmmsg (NetlinkSocket.receiveBatch),
 *   decodes each packet message in place, copies its bytes into a held-packet slot (the receive
 *   buffers are reused by the next recvmmsg) and points the reused PacketBatch at the slot. Handles
 *   are the kernel's packet ids. The clock is read once per batch.
 * - accept/acceptRewritten/drop append one verdict message to a send buffer and free the slot;
 *   flush() sends the whole buffer as one datagram (the kernel handles every message in that one
 *   call), and a full buffer flushes itself. Plain accepts of the oldest held packets — the usual
 *   case: a pass-through, or one FIFO class draining — append nothing: they extend a run that
 *   flush() closes with one NFQNL_MSG_VERDICT_BATCH for every id up to the run's end (the kernel
 *   then takes the whole run off its queue in one pass; bench:datapath measured about 25% more
 *   packets per second than one message per packet). It is exact because the ids are the kernel's
 *   consecutive packet numbers: oldestId, the oldest id not yet given a verdict, only moves past ids
 *   that got theirs, individually earlier in the same buffer or before. Verdicts carry no NLM_F_ACK: the kernel answers only
 *   failures, which the next receive() decodes and counts (never throws).
 *
 * Setup: open() binds the queue and configures it (copy-packet mode, maxlen, FAIL_OPEN when asked,
 * UID_GID), each request with NLM_F_ACK, and throws one describeNetlinkError line on a refusal.
 * GSO super-packets are not asked for: the kernel segments before queueing, so every held packet is
 * one wire packet and the scheduler's byte accounting is what goes on the wire.
 */
import * as libc from '../ffi/libc.js';
import { DEFAULT_BUFFER_BYTES, NetlinkSocket } from '../ffi/netlink-socket.js';
import type { Datapath, PacketBatch } from '../types.js';
import {
  NF_ACCEPT,
  NF_DROP,
  NFQ_TYPE_PACKET,
  NFQA_CFG_F_FAIL_OPEN,
  NFQA_CFG_F_GSO,
  NFQA_CFG_F_UID_GID,
  NFQNL_CFG_CMD_BIND,
  NFQNL_CFG_CMD_UNBIND,
  NFQNL_COPY_PACKET,
  NLMSG_ERROR,
} from './constants.js';
import { decodeError, NetlinkMessageIterator, PacketMessage } from './decode.js';
import { encodeBatchVerdict, encodeConfigCommand, encodeConfigFlags, encodeConfigMaxlen, encodeConfigParams, encodeVerdict, MAX_PAYLOAD_ATTR_BYTES } from './encode.js';
import { describeNetlinkError } from './errors.js';
import { HeldPackets, SlotState } from './held-packets.js';
import { NfqueueCounters, type NfqueueOpenOptions, type PacketClassifier } from './datapath-options.js';

export { NfqueueCounters, type NfqueueOpenOptions, type PacketClassifier, type PacketPlace } from './datapath-options.js';

const DEFAULTS = {
  copyRangeBytes: 65535,
  receiveBufferBytes: 8 << 20,
  recvBatchCount: 64,
  batchCapacity: 256,
  slotBytes: 2048,
  sendBufferBytes: 128 << 10,
};
const ACK_TIMEOUT_US = 2_000_000;

/** How the datapath's own area is divided: the verdict send buffer, then slotCount held-packet slots. */
function areaLayout(options: NfqueueOpenOptions): { sendBytes: number; slots: number; slotBytes: number } {
  return {
    sendBytes: Math.max(options.sendBufferBytes ?? DEFAULTS.sendBufferBytes, MAX_PAYLOAD_ATTR_BYTES + 256),
    slots: options.slotCount ?? options.maxlenPackets,
    slotBytes: options.slotBytes ?? DEFAULTS.slotBytes,
  };
}

/**
 * µs on the process's monotonic clock: the engine's clock for this datapath. performance.now()
 * allocates nothing (process.hrtime() returns a new array per call) but counts from each thread's
 * own start, so it is put on process.hrtime's scale once per thread: readings from the worker and
 * the main thread compare.
 */
const hrStart = process.hrtime();
const CLOCK_OFFSET_US = hrStart[0] * 1_000_000 + hrStart[1] / 1000 - performance.now() * 1000;
export function monotonicUs(): number {
  return CLOCK_OFFSET_US + performance.now() * 1000;
}

export class NfqueueDatapath implements Datapath {
  readonly queueNum: number;
  readonly counters = new NfqueueCounters();
  readonly batch: PacketBatch;
  private readonly sock: NetlinkSocket;
  private readonly held: HeldPackets;
  private readonly classify: PacketClassifier;
  private readonly failVerdict: number;
  private readonly sendBuf: Buffer;
  private sendLength = 0;
  private seq = 1;
  /** The oldest packet id without a verdict (== nextId when none is outstanding); see the header. */
  private oldestId = 0;
  /** One past the newest packet id received; ids are compared for equality only, so they may wrap. */
  private nextId = 0;
  private anyReceived = false;
  /** A batch accept of every id up to batchUpTo is due at the next flush. */
  private batchPending = false;
  private batchUpTo = 0;
  private readonly messages = new NetlinkMessageIterator();
  private readonly packet = new PacketMessage();
  private closed = false;
  /**
   * When the packets being read arrived (one clock reading per batch), µs. A field, not an argument:
   * a float passed to a call V8 does not inline is boxed on the heap, an allocation per datagram.
   */
  private arrivalUs = 0;

  /** `area` holds the send buffer and then the held-packet slots (areaLayout). */
  private constructor(sock: NetlinkSocket, options: NfqueueOpenOptions, area: Buffer) {
    this.sock = sock;
    this.queueNum = options.queueNum;
    this.classify = options.classify;
    this.failVerdict = options.failOpen ? NF_ACCEPT : NF_DROP;
    const { sendBytes, slots, slotBytes } = areaLayout(options);
    this.sendBuf = area.subarray(0, sendBytes);
    this.held = new HeldPackets(slots, slotBytes, area.subarray(sendBytes, sendBytes + slots * slotBytes));
    const cap = options.batchCapacity ?? DEFAULTS.batchCapacity;
    if (cap < sock.batch.count) throw new RangeError(`batch capacity ${cap} is below the ${sock.batch.count} datagrams one recvmmsg takes`);
    this.batch = {
      count: 0,
      handles: new Uint32Array(cap),
      links: new Uint16Array(cap),
      directions: new Uint8Array(cap),
      arrivalUs: new Float64Array(cap),
      marks: new Uint32Array(cap),
      uids: new Int32Array(cap),
      gids: new Int32Array(cap),
      inIfindex: new Uint32Array(cap),
      outIfindex: new Uint32Array(cap),
      buffers: new Array<Buffer>(cap).fill(area),
      offsets: new Uint32Array(cap),
      lengths: new Uint32Array(cap),
    };
  }

  /** Opens a netlink socket, binds and configures the queue. Throws one line saying what went wrong. */
  static open(options: NfqueueOpenOptions): NfqueueDatapath {
    const q = options.queueNum;
    if (!Number.isInteger(q) || q < 0 || q > 65535) throw new RangeError(`queue number ${q} is not in 0..65535`);
    if (!Number.isInteger(options.maxlenPackets) || options.maxlenPackets < 1) {
      throw new RangeError(`queue maxlen ${options.maxlenPackets} is not a positive integer`);
    }
    // One ArrayBuffer for the send buffer, the slots and the receive buffers: a packet's bytes are
    // copied from a receive buffer into its slot, and from its slot into a rewritten verdict, with
    // copyWithin (bytes.ts copyBytes), allocating nothing.
    const layout = areaLayout(options);
    const batchCount = options.recvBatchCount ?? DEFAULTS.recvBatchCount;
    const ownBytes = layout.sendBytes + layout.slots * layout.slotBytes;
    const area = Buffer.allocUnsafeSlow(ownBytes + batchCount * DEFAULT_BUFFER_BYTES);
    const sock = NetlinkSocket.open({
      batchCount,
      bufferBytes: DEFAULT_BUFFER_BYTES,
      receiveArea: area.subarray(ownBytes),
      receiveBufferBytes: options.receiveBufferBytes ?? DEFAULTS.receiveBufferBytes,
      noEnobufs: true,
      wakeFd: options.wakeFd,
    });
    let dp: NfqueueDatapath | undefined;
    try {
      dp = new NfqueueDatapath(sock, options, area.subarray(0, ownBytes));
      // A verdict buffer is one datagram: the socket's send buffer must take it whole.
      libc.setsockoptInt(sock.fd, libc.SOL_SOCKET, libc.SO_SNDBUF, dp.sendBuf.length * 2);
      const flags = (options.failOpen ? NFQA_CFG_F_FAIL_OPEN : 0) | NFQA_CFG_F_UID_GID;
      const mask = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_UID_GID | NFQA_CFG_F_GSO;
      const copyRange = options.copyRangeBytes ?? DEFAULTS.copyRangeBytes;
      dp.configure('bind', (b, s) => encodeConfigCommand(b, 0, s, q, NFQNL_CFG_CMD_BIND));
      dp.configure('set copy mode', (b, s) => encodeConfigParams(b, 0, s, q, NFQNL_COPY_PACKET, copyRange));
      dp.configure('set queue maxlen', (b, s) => encodeConfigMaxlen(b, 0, s, q, options.maxlenPackets));
      dp.configure('set queue flags', (b, s) => encodeConfigFlags(b, 0, s, q, flags, mask));
      return dp;
    } catch (err) {
      sock.close();
      throw err;
    }
  }

  /** The engine's clock for this datapath, µs (monotonic). */
  nowUs(): number {
    return monotonicUs();
  }

  /** Packets held (received, no verdict yet). */
  get heldCount(): number {
    return this.held.heldCount;
  }

  /**
   * Waits up to timeoutUs (0: just look; negative: no limit) for packets, then delivers everything
   * waiting in the reused batch (count may be 0). Pending verdicts are flushed before sleeping.
   */
  receive(timeoutUs: number): PacketBatch {
    if (this.closed) throw new Error(`queue ${this.queueNum}: receive() on a closed datapath`);
    this.batch.count = 0;
    if (this.sendLength > 0) this.flush();
    if (timeoutUs !== 0) this.sock.wait(Math.ceil(timeoutUs));
    this.arrivalUs = monotonicUs();
    this.drain();
    return this.batch;
  }

  accept(handle: number, mark?: number, payload?: Buffer): void {
    const slot = this.held.find(handle);
    if (slot < 0) {
      this.counters.unknownVerdicts++;
      return;
    }
    this.counters.accepted++;
    this.held.releaseFound();
    if (payload !== undefined) {
      this.appendVerdict(handle, NF_ACCEPT, mark, payload, 0, payload.length);
      this.counters.rewritten++;
    } else if (handle === this.oldestId && (mark === undefined || mark < 0)) {
      this.advanceOldest();
      this.batchUpTo = (this.oldestId - 1) >>> 0;
      this.batchPending = true;
      return;
    } else {
      this.appendVerdict(handle, NF_ACCEPT, mark, undefined, 0, 0);
    }
    if (handle === this.oldestId) this.advanceOldest();
  }

  acceptRewritten(handle: number, mark?: number): void {
    const held = this.held;
    const slot = held.find(handle);
    if (slot < 0) {
      this.counters.unknownVerdicts++;
      return;
    }
    this.appendVerdict(handle, NF_ACCEPT, mark, held.buffers[slot], held.offsets[slot], held.lengthBytes[slot]);
    this.counters.accepted++;
    this.counters.rewritten++;
    held.releaseFound();
    if (handle === this.oldestId) this.advanceOldest();
  }

  drop(handle: number): void {
    if (this.held.find(handle) < 0) {
      this.counters.unknownVerdicts++;
      return;
    }
    this.appendVerdict(handle, NF_DROP, undefined, undefined, 0, 0);
    this.counters.dropped++;
    this.held.releaseFound();
    if (handle === this.oldestId) this.advanceOldest();
  }

  /** Sends every verdict appended since the last flush, and the pending batch accept, in one send(). */
  flush(): void {
    if (this.batchPending) {
      this.batchPending = false;
      let n = encodeBatchVerdict(this.sendBuf, this.sendLength, this.seq, this.queueNum, this.batchUpTo, NF_ACCEPT);
      if (n === 0) {
        this.flush();
        n = encodeBatchVerdict(this.sendBuf, 0, this.seq, this.queueNum, this.batchUpTo, NF_ACCEPT);
      }
      this.sendLength += n;
      this.seq = (this.seq + 1) >>> 0;
      this.counters.batchVerdicts++;
    }
    if (this.sendLength === 0) return;
    const r = this.sock.send(this.sendBuf, this.sendLength);
    this.sendLength = 0;
    this.counters.sends++;
    if (r < 0) {
      this.counters.sendErrors++;
      this.counters.lastSendErrno = -r;
    }
  }

  /**
   * Sends pending verdicts, gives every packet still held the fail verdict (accept when fail-open,
   * else drop) so none is left to the kernel's flush, unbinds the queue and closes the socket.
   * Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.batch.count = 0;
      this.arrivalUs = monotonicUs();
      this.drain();
      const held = this.held;
      for (let slot = 0; slot < held.slotCount; slot++) {
        if (held.state[slot] === SlotState.FREE) continue;
        const id = held.packetId[slot];
        this.appendVerdict(id, this.failVerdict, undefined, undefined, 0, 0);
        if (this.failVerdict === NF_ACCEPT) this.counters.accepted++;
        else this.counters.dropped++;
        held.release(id);
      }
      this.flush();
      this.configure('unbind', (b, s) => encodeConfigCommand(b, 0, s, this.queueNum, NFQNL_CFG_CMD_UNBIND));
    } finally {
      this.sock.close();
    }
  }

  // ---- internals ----

  /** Takes every waiting datagram (while the batch has room) and decodes its messages. */
  private drain(): void {
    const sock = this.sock;
    const recv = sock.batch;
    const b = this.batch;
    while (b.handles.length - b.count >= recv.count) {
      const n = sock.receiveBatch();
      if (n < 0) {
        this.counters.receiveErrors++;
        return;
      }
      for (let i = 0; i < n; i++) {
        if (recv.truncated[i] !== 0) this.counters.malformed++;
        this.readDatagram(recv.buffers[i], recv.lengths[i]);
      }
      if (n < recv.count) return;
    }
  }

  private readDatagram(buf: Buffer, length: number): void {
    const it = this.messages;
    const pm = this.packet;
    const c = this.counters;
    it.reset(buf, 0, length);
    while (it.next()) {
      if (it.type === NLMSG_ERROR) {
        const errno = decodeError(buf, it.offset);
        if (errno !== 0) {
          c.kernelErrors++;
          c.lastKernelErrno = errno;
        }
        continue;
      }
      if (it.type !== NFQ_TYPE_PACKET || !pm.read(buf, it.offset, it.length)) {
        c.malformed++;
        continue;
      }
      c.received++;
      const id = pm.packetId;
      if (!this.anyReceived || this.oldestId === this.nextId) {
        this.anyReceived = true;
        this.oldestId = id;
      }
      this.nextId = (id + 1) >>> 0;
      const place = this.classify(pm.hook, pm.indev, pm.outdev);
      if (place === null) {
        c.unclassified++;
        c.accepted++;
        this.appendVerdict(id, NF_ACCEPT, undefined, undefined, 0, 0);
        if (id === this.oldestId) this.advanceOldest();
        continue;
      }
      const slot = this.batch.count < this.batch.handles.length ? this.held.hold(id, buf, pm.payloadOffset, pm.payloadLength) : -1;
      if (slot < 0) {
        c.overflow++;
        if (this.failVerdict === NF_ACCEPT) c.accepted++;
        else c.dropped++;
        this.appendVerdict(id, this.failVerdict, undefined, undefined, 0, 0);
        if (id === this.oldestId) this.advanceOldest();
        continue;
      }
      const held = this.held;
      held.link[slot] = place.link;
      held.direction[slot] = place.direction;
      held.mark[slot] = pm.mark;
      held.uid[slot] = pm.uid;
      held.gid[slot] = pm.gid;
      held.indev[slot] = pm.indev;
      held.outdev[slot] = pm.outdev;
      held.arrivalUs[slot] = this.arrivalUs;
      this.deliver(slot);
    }
    if (it.truncated !== 0) {
      c.malformed += it.truncated;
      it.truncated = 0;
    }
  }

  /** Appends held slot `slot` to the batch. */
  private deliver(slot: number): void {
    const b = this.batch;
    const held = this.held;
    const i = b.count++;
    b.handles[i] = held.packetId[slot];
    b.links[i] = held.link[slot];
    b.directions[i] = held.direction[slot];
    b.arrivalUs[i] = held.arrivalUs[slot];
    b.marks[i] = held.mark[slot];
    b.uids[i] = held.uid[slot];
    b.gids[i] = held.gid[slot];
    b.inIfindex[i] = held.indev[slot];
    b.outIfindex[i] = held.outdev[slot];
    b.buffers[i] = held.buffers[slot];
    b.offsets[i] = held.offsets[slot];
    b.lengths[i] = held.lengthBytes[slot];
  }

  /** Moves oldestId past every id that is no longer held, up to nextId. */
  private advanceOldest(): void {
    const held = this.held;
    let id = this.oldestId;
    while (id !== this.nextId && held.find(id) < 0) id = (id + 1) >>> 0;
    this.oldestId = id;
  }

  /** Encodes one verdict into the send buffer, flushing first when it would not fit. */
  private appendVerdict(id: number, verdict: number, mark: number | undefined, payload: Buffer | undefined, offset: number, length: number): void {
    const buf = this.sendBuf;
    let n = encodeVerdict(buf, this.sendLength, this.seq, this.queueNum, id, verdict, mark, payload, offset, length);
    if (n === 0) {
      this.flush();
      n = encodeVerdict(buf, 0, this.seq, this.queueNum, id, verdict, mark, payload, offset, length);
    }
    this.sendLength += n;
    this.seq = (this.seq + 1) >>> 0;
  }

  /**
   * Sends one configuration request (NLM_F_ACK) on its own and waits for its ACK; packets that arrive
   * meanwhile are decoded as usual and land in the batch. Throws describeNetlinkError's line on an error.
   */
  private configure(operation: string, encode: (buf: Buffer, seq: number) => number): void {
    this.flush();
    const seq = this.seq;
    this.seq = (this.seq + 1) >>> 0;
    const length = encode(this.sendBuf, seq);
    const sent = this.sock.send(this.sendBuf, length);
    const context = { queueNum: this.queueNum, operation };
    if (sent < 0) throw new Error(describeNetlinkError(-sent, context));
    const deadlineUs = monotonicUs() + ACK_TIMEOUT_US;
    const recv = this.sock.batch;
    const it = this.messages;
    for (;;) {
      const leftUs = deadlineUs - monotonicUs();
      if (leftUs <= 0) throw new Error(`queue ${this.queueNum}: ${operation}: no answer from the kernel within ${ACK_TIMEOUT_US / 1e6} s`);
      if (!this.sock.wait(leftUs)) continue;
      const n = this.sock.receiveBatch();
      if (n < 0) throw new Error(describeNetlinkError(-n, context));
      for (let i = 0; i < n; i++) {
        const buf = recv.buffers[i];
        it.reset(buf, 0, recv.lengths[i]);
        let errno = -1;
        while (it.next()) if (it.type === NLMSG_ERROR && it.seq === seq) errno = decodeError(buf, it.offset);
        if (errno < 0) {
          this.arrivalUs = monotonicUs();
          this.readDatagram(buf, recv.lengths[i]);
          continue;
        }
        if (errno !== 0) throw new Error(describeNetlinkError(errno, context));
        // The datagram may carry packets after the ACK, and later buffers more: keep them.
        this.arrivalUs = monotonicUs();
        for (let k = i + 1; k < n; k++) this.readDatagram(recv.buffers[k], recv.lengths[k]);
        return;
      }
    }
  }
}
