/**
 * The packets the scheduler holds, as slots in typed arrays: the datapath's handle, the bytes the
 * packet costs on the wire, when it was queued, whether it is ECN-capable, and the next slot in its
 * sub-queue. The pool is sized once from the global buffer limit (plus one: a packet is queued
 * first and the limit enforced after), so holding a packet allocates nothing.
 */
export class PacketPool {
  readonly handle: Uint32Array;
  readonly wireBytes: Uint32Array;
  readonly enqueuedUs: Float64Array;
  readonly ect: Uint8Array;
  /** Next slot in the same sub-queue, -1 at the tail. */
  readonly next: Int32Array;
  private readonly free: Int32Array;
  private freeTop: number;

  constructor(readonly capacity: number) {
    this.handle = new Uint32Array(capacity);
    this.wireBytes = new Uint32Array(capacity);
    this.enqueuedUs = new Float64Array(capacity);
    this.ect = new Uint8Array(capacity);
    this.next = new Int32Array(capacity).fill(-1);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeTop = capacity;
  }

  get used(): number {
    return this.capacity - this.freeTop;
  }

  /** A free slot, or -1 when the pool is exhausted. */
  alloc(handle: number, wireBytes: number, nowUs: number, ect: boolean): number {
    if (this.freeTop === 0) return -1;
    const p = this.free[--this.freeTop];
    this.handle[p] = handle;
    this.wireBytes[p] = wireBytes;
    this.enqueuedUs[p] = nowUs;
    this.ect[p] = ect ? 1 : 0;
    this.next[p] = -1;
    return p;
  }

  release(p: number): void {
    this.free[this.freeTop++] = p;
  }
}
