/**
 * The packets the NFQUEUE datapath holds between receiving them and issuing their verdict: their bytes
 * (copied out of the receive buffers, which the next recvmmsg overwrites), what the engine was told
 * about them. Held by slot index; found by kernel packet id.
 *
 * Why it looks like this: it runs per packet, so everything is preallocated. Bytes live in fixed
 * slots carved from one area (a payload longer than a slot gets a Buffer of its own: rare, since GSO
 * is not asked for), copied in with copyBytes: without allocating when the source lies in the same
 * ArrayBuffer, as the datapath's receive buffers do. Packet ids map to slots through an open-addressing table in typed arrays, not a
 * Map: the kernel numbers a queue's packets consecutively, so `id & mask` spreads them perfectly —
 * and makes the held ids one long unbroken run of the table. Plain backward-shift deletion would scan
 * to the end of that run for every release in arrival order (the common case), a cost growing with
 * the depth held (bench/datapath/verdict-depth.bench.ts measured 5.5 µs per verdict at 4096 held).
 * Robin Hood insertion keeps each run ordered by probe distance, so deletion stops at the first
 * entry sitting in its home bucket: O(1) for consecutive ids. Free slots are a stack.
 */

import { copyBytes } from '../netlink/bytes.js';

const EMPTY = -1;

export const enum SlotState {
  FREE = 0,
  HELD = 1,
}

export class HeldPackets {
  readonly slotCount: number;
  readonly slotBytes: number;
  /** Per slot: state, kernel packet id, bytes, where the bytes are, and what the batch said. */
  readonly state: Uint8Array;
  readonly packetId: Uint32Array;
  readonly lengthBytes: Uint32Array;
  readonly link: Uint16Array;
  readonly direction: Uint8Array;
  readonly mark: Uint32Array;
  /** The sending socket's uid and gid (NFQA_UID/GID), -1 when the kernel gave none. */
  readonly uid: Int32Array;
  readonly gid: Int32Array;
  /** Interface indexes in and out (NFQA_IFINDEX_INDEV/OUTDEV), 0 when none. */
  readonly indev: Uint32Array;
  readonly outdev: Uint32Array;
  readonly arrivalUs: Float64Array;
  /** Buffer holding slot i's bytes (the shared area, or the slot's own for a long payload). */
  readonly buffers: Buffer[];
  readonly offsets: Uint32Array;
  /** Slots in use. */
  heldCount = 0;

  private readonly area: Buffer;
  private readonly freeStack: Int32Array;
  private freeTop: number;
  private readonly keys: Uint32Array;
  private readonly values: Int32Array;
  private readonly mask: number;
  /** Table index of the entry the last successful find() returned. */
  private foundAt = 0;

  /** `area` must hold slotCount * slotBytes bytes; the caller chooses it (e.g. beside its send buffer). */
  constructor(slotCount: number, slotBytes: number, area: Buffer) {
    if (!Number.isInteger(slotCount) || slotCount < 1) throw new RangeError(`slot count ${slotCount} is not a positive integer`);
    if (area.length < slotCount * slotBytes) throw new RangeError(`slot area of ${area.length} bytes is below ${slotCount} x ${slotBytes}`);
    this.slotCount = slotCount;
    this.slotBytes = slotBytes;
    this.area = area;
    this.state = new Uint8Array(slotCount);
    this.packetId = new Uint32Array(slotCount);
    this.lengthBytes = new Uint32Array(slotCount);
    this.link = new Uint16Array(slotCount);
    this.direction = new Uint8Array(slotCount);
    this.mark = new Uint32Array(slotCount);
    this.uid = new Int32Array(slotCount);
    this.gid = new Int32Array(slotCount);
    this.indev = new Uint32Array(slotCount);
    this.outdev = new Uint32Array(slotCount);
    this.arrivalUs = new Float64Array(slotCount);
    this.offsets = new Uint32Array(slotCount);
    this.buffers = [];
    for (let i = 0; i < slotCount; i++) {
      this.buffers.push(area);
      this.offsets[i] = i * slotBytes;
    }
    this.freeStack = new Int32Array(slotCount);
    for (let i = 0; i < slotCount; i++) this.freeStack[i] = slotCount - 1 - i;
    this.freeTop = slotCount;
    let tableSize = 8;
    while (tableSize < slotCount * 2) tableSize *= 2;
    this.keys = new Uint32Array(tableSize);
    this.values = new Int32Array(tableSize).fill(EMPTY);
    this.mask = tableSize - 1;
  }

  /**
   * Takes a free slot for packet `id` and copies src[offset, +length) into it. The slot, or -1 when
   * every slot is in use or the id is already held (the caller then decides the packet's fate).
   */
  hold(id: number, src: Buffer, offset: number, length: number): number {
    if (this.freeTop === 0 || this.find(id) >= 0) return -1;
    const slot = this.freeStack[--this.freeTop];
    this.insert(id, slot);
    this.state[slot] = SlotState.HELD;
    this.packetId[slot] = id;
    this.lengthBytes[slot] = length;
    if (length <= this.slotBytes) {
      this.buffers[slot] = this.area;
      this.offsets[slot] = slot * this.slotBytes;
    } else {
      this.buffers[slot] = Buffer.allocUnsafe(length);
      this.offsets[slot] = 0;
    }
    copyBytes(src, offset, length, this.buffers[slot], this.offsets[slot]);
    this.heldCount++;
    return slot;
  }

  /** The slot holding packet `id`, or -1. Remembers where it was found, for releaseFound(). */
  find(id: number): number {
    const keys = this.keys;
    const values = this.values;
    let i = id & this.mask;
    for (;;) {
      const v = values[i];
      if (v === EMPTY) return -1;
      if (keys[i] === id) {
        this.foundAt = i;
        return v;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** Frees the slot of packet `id`. False when it was not held. */
  release(id: number): boolean {
    if (this.find(id) < 0) return false;
    this.releaseFound();
    return true;
  }

  /**
   * Frees the slot the last successful find() returned, without looking the id up again (a verdict
   * finds its packet, then releases it). Nothing may hold, release or find in between.
   */
  releaseFound(): void {
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let i = this.foundAt;
    const slot = values[i];
    // Backward shift: pull the displaced entries after the hole one step back, up to the first empty
    // bucket or the first entry in its home bucket (nothing after it can belong before it).
    let j = (i + 1) & mask;
    while (values[j] !== EMPTY && ((j - (keys[j] & mask)) & mask) !== 0) {
      keys[i] = keys[j];
      values[i] = values[j];
      i = j;
      j = (j + 1) & mask;
    }
    values[i] = EMPTY;
    this.freeSlot(slot);
  }

  /** Robin Hood insertion: an entry further from its home bucket takes the place of one nearer to its own. */
  private insert(id: number, slot: number): void {
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let key = id;
    let value = slot;
    let i = key & mask;
    let distance = 0;
    while (values[i] !== EMPTY) {
      const resident = (i - (keys[i] & mask)) & mask;
      if (resident < distance) {
        const k = keys[i];
        const v = values[i];
        keys[i] = key;
        values[i] = value;
        key = k;
        value = v;
        distance = resident;
      }
      i = (i + 1) & mask;
      distance++;
    }
    keys[i] = key;
    values[i] = value;
  }

  private freeSlot(slot: number): void {
    this.state[slot] = SlotState.FREE;
    this.buffers[slot] = this.area;
    this.freeStack[this.freeTop++] = slot;
    this.heldCount--;
  }
}
