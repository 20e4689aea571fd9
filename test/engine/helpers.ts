/** The engine's other side, driven by hand: a recording datapath, batches built from packets, an engine from YAML text. */
import { parseConfigText } from '../../src/control/load.js';
import { resolveLinks } from '../../src/control/resolve.js';
import { Direction, type Datapath, type PacketBatch } from '../../src/datapath/types.js';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';

/** A datapath that records verdicts: the engine's other side, driven by hand. */
export class RecordingDatapath implements Datapath {
  accepted: number[] = [];
  droppedHandles: number[] = [];
  rewritten = new Set<number>();
  /** The mark each accepted packet was given (absent: left as it was). */
  marks = new Map<number, number>();
  flushes = 0;
  accept(handle: number, mark?: number): void {
    this.accepted.push(handle);
    if (mark !== undefined) this.marks.set(handle, mark);
  }
  acceptRewritten(handle: number, mark?: number): void {
    this.accept(handle, mark);
    this.rewritten.add(handle);
  }
  drop(handle: number): void {
    this.droppedHandles.push(handle);
  }
  flush(): void {
    this.flushes++;
  }
}

export function batchOf(packets: { handle: number; buf: Buffer; dir?: Direction; atUs?: number; link?: number; uid?: number; gid?: number; inIfindex?: number; outIfindex?: number }[]): PacketBatch {
  const n = packets.length;
  return {
    count: n,
    handles: Uint32Array.from(packets, (p) => p.handle),
    links: Uint16Array.from(packets, (p) => p.link ?? 0),
    directions: Uint8Array.from(packets, (p) => p.dir ?? Direction.EGRESS),
    arrivalUs: Float64Array.from(packets, (p) => p.atUs ?? 0),
    marks: new Uint32Array(n),
    uids: Int32Array.from(packets, (p) => p.uid ?? -1),
    gids: Int32Array.from(packets, (p) => p.gid ?? -1),
    inIfindex: Uint32Array.from(packets, (p) => p.inIfindex ?? 0),
    outIfindex: Uint32Array.from(packets, (p) => p.outIfindex ?? 0),
    buffers: packets.map((p) => p.buf),
    offsets: new Uint32Array(n),
    lengths: Uint32Array.from(packets, (p) => p.buf.length),
  };
}

export function engineFor(text: string, dp: Datapath, opts: EngineOptions = {}): Engine {
  const r = parseConfigText(text, 'test.yaml');
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  return new Engine(resolveLinks(r.config), dp, { maxFlows: 1024, flowSeed: 1, ...opts });
}
