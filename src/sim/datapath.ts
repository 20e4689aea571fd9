/**
 * SimDatapath: the Datapath the simulator drives. Packets live in preallocated slots (a slot number is
 * the packet's handle); a source copies its per-flow template into a slot and says when the packet
 * reaches sluice. All packets arriving at one virtual instant go to the engine as one PacketBatch,
 * reused from batch to batch.
 *
 * Verdicts move the packet on in virtual time:
 *   accept  the packet departs now and reaches the far end `postDelayUs` later (the one-way
 *           propagation from sluice to the receiver); the ECN bits of the released bytes tell
 *           whether the engine marked it CE;
 *   drop    the sender learns of the loss `lossDelayUs` later (about one round trip, as it would
 *           from duplicate ACKs).
 * A verdict for a handle the engine does not hold is ignored and counted. Slots are freed when the
 * packet's journey ends (delivery or loss notice), so a handle is never reused while the engine holds it.
 * Nothing allocates per packet once the slot pool and the batch have grown to the run's working size.
 */
import type { Datapath, PacketBatch } from '../datapath/types.js';
import { EventKind } from './event-kinds.js';
import type { EventQueue } from './event-queue.js';

/** Where a slot's packet is in its journey. */
export const enum SlotState {
  FREE = 0,
  /** Emitted, not yet at sluice. */
  TRAVELLING = 1,
  /** Handed to the engine, no verdict yet. */
  HELD = 2,
  /** Accepted, on its way to the receiver. */
  DEPARTED = 3,
  /** Dropped, the loss notice is on its way to the sender. */
  LOST = 4,
  /** Bypassing the shaper (reverse direction not shaped). */
  BYPASSING = 5,
}

/** What the datapath tells the rest of the simulator about packets whose journey ends. */
export interface SimPacketSink {
  /** The packet in `slot` reached its receiver (read its fields before returning: the slot is then freed). */
  onDeliver(slot: number): void;
  /** The sender of the packet in `slot` learns it was dropped. */
  onLoss(slot: number): void;
}

const CHUNK_SLOTS = 1024;
const CHUNK_SHIFT = 10;

export class SimDatapathCounters {
  /** Packets handed to the engine. */
  received = 0;
  accepted = 0;
  dropped = 0;
  /** Accepted packets whose released bytes carry ECN CE. */
  ceMarked = 0;
  /** Accepts that came with new bytes or were rewritten in place. */
  rewritten = 0;
  /** Verdicts for a handle the engine did not hold (ignored). */
  unknownVerdicts = 0;
  flushes = 0;
}

export class SimDatapath implements Datapath {
  readonly counters = new SimDatapathCounters();
  readonly batch: PacketBatch;
  /** Bytes each slot can hold (the largest packet a source may build). */
  readonly slotBytes: number;
  private chunks: Buffer[] = [];
  private capacity = 0;
  private freeSlots: Int32Array = new Int32Array(0);
  private freeCount = 0;

  // Per-slot fields (grown with the pool). Units in the names.
  state: Uint8Array = new Uint8Array(0);
  link: Uint16Array = new Uint16Array(0);
  direction: Uint8Array = new Uint8Array(0);
  lengthBytes: Uint32Array = new Uint32Array(0);
  /** Which source instance sent the packet, and a source-defined kind and value (e.g. ACK count). */
  source: Int32Array = new Int32Array(0);
  kind: Uint8Array = new Uint8Array(0);
  aux: Float64Array = new Float64Array(0);
  /** When the sender emitted it, when it reached sluice, when it was accepted. */
  sentUs: Float64Array = new Float64Array(0);
  arrivalUs: Float64Array = new Float64Array(0);
  acceptUs: Float64Array = new Float64Array(0);
  /** Propagation from sluice to the receiver, and from a drop to the sender's loss notice. */
  postDelayUs: Float64Array = new Float64Array(0);
  lossDelayUs: Float64Array = new Float64Array(0);
  /** 1 when the packet left sluice marked ECN CE. */
  ce: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly events: EventQueue,
    private readonly sink: SimPacketSink,
    slotBytes = 1500,
  ) {
    this.slotBytes = slotBytes;
    this.batch = {
      count: 0,
      handles: new Uint32Array(256),
      links: new Uint16Array(256),
      directions: new Uint8Array(256),
      arrivalUs: new Float64Array(256),
      marks: new Uint32Array(256),
      uids: new Int32Array(256).fill(-1),
      gids: new Int32Array(256).fill(-1),
      inIfindex: new Uint32Array(256),
      outIfindex: new Uint32Array(256),
      buffers: new Array<Buffer>(256),
      offsets: new Uint32Array(256),
      lengths: new Uint32Array(256),
    };
    this.growSlots();
  }

  /** The buffer holding a slot's bytes, and the offset of the packet in it. */
  bufferOf(slot: number): Buffer {
    return this.chunks[slot >> CHUNK_SHIFT];
  }
  offsetOf(slot: number): number {
    return (slot & (CHUNK_SLOTS - 1)) * this.slotBytes;
  }

  /** Slots currently in use (packets somewhere on their journey). */
  get slotsInUse(): number {
    return this.capacity - this.freeCount;
  }

  /**
   * Takes a free slot and copies the first `lengthBytes` of `template` into it. The caller then sets
   * the slot's fields (link, direction, source, delays...) and calls arriveAt or bypassAt.
   */
  open(template: Buffer, lengthBytes: number): number {
    if (this.freeCount === 0) this.growSlots();
    const slot = this.freeSlots[--this.freeCount];
    template.copy(this.chunks[slot >> CHUNK_SHIFT], (slot & (CHUNK_SLOTS - 1)) * this.slotBytes, 0, lengthBytes);
    this.lengthBytes[slot] = lengthBytes;
    this.state[slot] = SlotState.TRAVELLING;
    this.ce[slot] = 0;
    this.aux[slot] = 0;
    this.kind[slot] = 0;
    return slot;
  }

  /** The packet in `slot` reaches sluice at atUs. */
  arriveAt(slot: number, atUs: number): void {
    this.events.push(atUs, EventKind.ARRIVE, slot);
  }

  /** The packet in `slot` skips the shaper and reaches its receiver at atUs. */
  bypassAt(slot: number, atUs: number): void {
    this.state[slot] = SlotState.BYPASSING;
    this.events.push(atUs, EventKind.BYPASS, slot);
  }

  /** Handles a packet event popped from the queue (ARRIVE, DELIVER, LOSS, BYPASS). */
  handleEvent(kind: number, slot: number): void {
    switch (kind) {
      case EventKind.ARRIVE:
        this.arrivalUs[slot] = this.events.nowUs;
        this.addToBatch(slot);
        return;
      case EventKind.DELIVER:
      case EventKind.BYPASS:
        this.sink.onDeliver(slot);
        this.free(slot);
        return;
      case EventKind.LOSS:
        this.sink.onLoss(slot);
        this.free(slot);
        return;
    }
  }

  /** Empties the batch after the engine has read it. */
  clearBatch(): void {
    this.batch.count = 0;
  }

  acceptRewritten(handle: number): void {
    if (!this.holds(handle)) return;
    this.counters.rewritten++;
    this.accept(handle);
  }

  accept(handle: number, _mark?: number, payload?: Buffer): void {
    if (!this.holds(handle)) return;
    const slot = handle;
    let buf = this.chunks[slot >> CHUNK_SHIFT];
    let off = (slot & (CHUNK_SLOTS - 1)) * this.slotBytes;
    if (payload !== undefined) {
      this.counters.rewritten++;
      const n = payload.length < this.slotBytes ? payload.length : this.slotBytes;
      payload.copy(buf, off, 0, n);
      this.lengthBytes[slot] = n;
      buf = payload;
      off = 0;
    }
    const version = buf[off] >> 4;
    const ecn = version === 4 ? buf[off + 1] & 3 : (buf[off + 1] >> 4) & 3;
    if (ecn === 3) {
      this.ce[slot] = 1;
      this.counters.ceMarked++;
    }
    this.counters.accepted++;
    this.state[slot] = SlotState.DEPARTED;
    const now = this.events.nowUs;
    this.acceptUs[slot] = now;
    this.events.push(now + this.postDelayUs[slot], EventKind.DELIVER, slot);
  }

  drop(handle: number): void {
    if (!this.holds(handle)) return;
    this.counters.dropped++;
    this.state[handle] = SlotState.LOST;
    this.events.push(this.events.nowUs + this.lossDelayUs[handle], EventKind.LOSS, handle);
  }

  flush(): void {
    this.counters.flushes++;
  }

  private holds(handle: number): boolean {
    if (handle >= 0 && handle < this.capacity && this.state[handle] === SlotState.HELD) return true;
    this.counters.unknownVerdicts++;
    return false;
  }

  private addToBatch(slot: number): void {
    const b = this.batch;
    if (b.count === b.handles.length) this.growBatch();
    const i = b.count++;
    this.state[slot] = SlotState.HELD;
    b.handles[i] = slot;
    b.links[i] = this.link[slot];
    b.directions[i] = this.direction[slot];
    b.arrivalUs[i] = this.events.nowUs;
    b.marks[i] = 0;
    b.buffers[i] = this.chunks[slot >> CHUNK_SHIFT];
    b.offsets[i] = (slot & (CHUNK_SLOTS - 1)) * this.slotBytes;
    b.lengths[i] = this.lengthBytes[slot];
    this.counters.received++;
  }

  private free(slot: number): void {
    this.state[slot] = SlotState.FREE;
    this.freeSlots[this.freeCount++] = slot;
  }

  private growSlots(): void {
    const old = this.capacity;
    const n = old + CHUNK_SLOTS;
    this.chunks.push(Buffer.alloc(CHUNK_SLOTS * this.slotBytes));
    this.state = grown(this.state, new Uint8Array(n));
    this.link = grown(this.link, new Uint16Array(n));
    this.direction = grown(this.direction, new Uint8Array(n));
    this.lengthBytes = grown(this.lengthBytes, new Uint32Array(n));
    this.source = grown(this.source, new Int32Array(n));
    this.kind = grown(this.kind, new Uint8Array(n));
    this.aux = grown(this.aux, new Float64Array(n));
    this.sentUs = grown(this.sentUs, new Float64Array(n));
    this.arrivalUs = grown(this.arrivalUs, new Float64Array(n));
    this.acceptUs = grown(this.acceptUs, new Float64Array(n));
    this.postDelayUs = grown(this.postDelayUs, new Float64Array(n));
    this.lossDelayUs = grown(this.lossDelayUs, new Float64Array(n));
    this.ce = grown(this.ce, new Uint8Array(n));
    const free = new Int32Array(n);
    free.set(this.freeSlots.subarray(0, this.freeCount));
    // Push new slots so the lowest numbers are taken first.
    for (let s = n - 1; s >= old; s--) free[this.freeCount++] = s;
    this.freeSlots = free;
    this.capacity = n;
  }

  private growBatch(): void {
    const b = this.batch;
    const n = b.handles.length * 2;
    b.handles = grown(b.handles, new Uint32Array(n));
    b.links = grown(b.links, new Uint16Array(n));
    b.directions = grown(b.directions, new Uint8Array(n));
    b.arrivalUs = grown(b.arrivalUs, new Float64Array(n));
    b.marks = grown(b.marks, new Uint32Array(n));
    b.uids = grown(b.uids, new Int32Array(n).fill(-1));
    b.gids = grown(b.gids, new Int32Array(n).fill(-1));
    b.inIfindex = grown(b.inIfindex, new Uint32Array(n));
    b.outIfindex = grown(b.outIfindex, new Uint32Array(n));
    b.offsets = grown(b.offsets, new Uint32Array(n));
    b.lengths = grown(b.lengths, new Uint32Array(n));
    b.buffers.length = n;
  }
}

function grown<T extends { set(a: ArrayLike<number>): void }>(old: ArrayLike<number>, into: T): T {
  into.set(old);
  return into;
}
