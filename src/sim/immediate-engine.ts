/**
 * The null shaper: accepts every packet the moment it arrives. The simulator runs it to show what a
 * scenario does with no shaping at all, benchmarks run it as the event loop's baseline, and source
 * tests use it to watch a source alone. Same shape as the Engine's packet methods.
 */
import type { Datapath, PacketBatch } from '../datapath/types.js';

/** What the simulation loop needs from an engine. */
export interface SimEngine {
  receive(batch: PacketBatch): void;
  /** Releases what is due at nowUs; returns when the next queued packet becomes eligible (Infinity: none). */
  pump(nowUs: number): number;
}

export class ImmediateEngine implements SimEngine {
  constructor(private readonly datapath: Datapath) {}

  receive(batch: PacketBatch): void {
    for (let i = 0; i < batch.count; i++) this.datapath.accept(batch.handles[i]);
  }

  pump(): number {
    this.datapath.flush();
    return Infinity;
  }
}
