/**
 * SimDatapath passes the shared Datapath contract. The harness drives virtual time itself: injected
 * packets arrive now, nextBatch runs events until a batch forms, and the far side is a sink that
 * copies what is delivered.
 */
import { SimDatapath, type SimPacketSink } from '../../src/sim/datapath.js';
import { EventQueue } from '../../src/sim/event-queue.js';
import { datapathContract, type DatapathHarness, type ReceivedPacket } from './contract.js';

class SimHarness implements DatapathHarness, SimPacketSink {
  readonly events = new EventQueue(16);
  readonly dp = new SimDatapath(this.events, this, 1500);
  private out: Buffer[] = [];

  get datapath() {
    return this.dp;
  }

  onDeliver(slot: number): void {
    const off = this.dp.offsetOf(slot);
    this.out.push(Buffer.from(this.dp.bufferOf(slot).subarray(off, off + this.dp.lengthBytes[slot])));
  }
  onLoss(): void {}

  async inject(packets: Buffer[]): Promise<void> {
    for (const p of packets) {
      const slot = this.dp.open(p, p.length);
      this.dp.link[slot] = 0;
      this.dp.direction[slot] = 0;
      this.dp.postDelayUs[slot] = 0;
      this.dp.lossDelayUs[slot] = 0;
      this.dp.arriveAt(slot, this.events.nowUs);
    }
  }

  /** Runs events time step by time step until one leaves a batch behind. */
  async nextBatch(): Promise<ReceivedPacket[]> {
    const b = this.dp.batch;
    while (b.count === 0 && this.events.size > 0) {
      const t = this.events.peekTime();
      while (this.events.peekTime() === t) {
        this.events.pop();
        this.dp.handleEvent(this.events.kind, this.events.arg);
      }
    }
    const got: ReceivedPacket[] = [];
    for (let i = 0; i < b.count; i++) {
      got.push({
        handle: b.handles[i], link: b.links[i], direction: b.directions[i], arrivalUs: b.arrivalUs[i],
        bytes: Buffer.from(b.buffers[i].subarray(b.offsets[i], b.offsets[i] + b.lengths[i])),
        inPlace: b.buffers[i].subarray(b.offsets[i], b.offsets[i] + b.lengths[i]),
      });
    }
    this.dp.clearBatch();
    return got;
  }

  async wait(us: number): Promise<void> {
    const until = this.events.nowUs + us;
    while (this.events.peekTime() <= until) {
      this.events.pop();
      this.dp.handleEvent(this.events.kind, this.events.arg);
    }
    this.events.nowUs = until;
  }

  async released(): Promise<Buffer[]> {
    await this.wait(0);
    const out = this.out;
    this.out = [];
    return out;
  }

  unknownVerdicts(): number {
    return this.dp.counters.unknownVerdicts;
  }

  async close(): Promise<void> {}
}

datapathContract('SimDatapath', async () => new SimHarness());
