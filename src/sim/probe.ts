/**
 * Which class each source's data lands in. The engine classifies inside and does not say per packet,
 * so before a run each flow's first data packet is sent through a separate probe engine built from
 * the same links (same rules, same order), and the leaf whose sent-packet count rose is the flow's
 * class. Classification is per flow and sticky, so the first packet decides for the whole flow.
 * Runs once per source instance before the simulation; allocates freely.
 */
import type { ResolvedLink } from '../control/resolve.js';
import type { Datapath, PacketBatch } from '../datapath/types.js';
import { Engine, type EngineStats } from '../engine/engine.js';
import type { Source } from './sources/source.js';

/** The probe's datapath: remembers which handles were accepted or dropped and what was deferred. */
class ProbeDatapath implements Datapath {
  verdict = 0;
  deferredUntilUs = -1;
  accept(): void {
    this.verdict = 1;
  }
  drop(): void {
    this.verdict = 2;
  }
  defer(_handle: number, untilUs: number): void {
    this.deferredUntilUs = untilUs;
  }
  flush(): void {}
}

const MAX_PUMPS = 1000;

/** For each source instance, the class path of its data packets, or '' when their direction is not shaped. */
export function classOfSources(links: ResolvedLink[], sources: Source[]): string[] {
  const dp = new ProbeDatapath();
  const engine = new Engine(links, dp, { maxFlows: Math.max(1024, sources.length * 2), flowSeed: 0x5eed });
  const batch: PacketBatch = {
    count: 1, handles: new Uint32Array(1), links: new Uint16Array(1), directions: new Uint8Array(1),
    arrivalUs: new Float64Array(1), marks: new Uint32Array(1), deferred: new Uint8Array(1),
    buffers: [Buffer.alloc(0)], offsets: new Uint32Array(1), lengths: new Uint32Array(1),
  };
  let nowUs = 0;
  let before = sentByClass(engine.stats(nowUs));
  const out: string[] = [];
  for (const s of sources) {
    const dir = s.path.dataDirection;
    const link = links[s.path.link];
    if ((dir === 0 ? link.egress : link.ingress) === null) {
      out.push('');
      continue;
    }
    const t = s.dataPacket;
    batch.handles[0] = out.length;
    batch.links[0] = s.path.link;
    batch.directions[0] = dir;
    batch.arrivalUs[0] = nowUs;
    batch.deferred[0] = 0;
    batch.buffers[0] = t.bytes;
    batch.offsets[0] = 0;
    batch.lengths[0] = t.lengthBytes;
    dp.verdict = 0;
    dp.deferredUntilUs = -1;
    engine.receive(batch);
    for (let i = 0; i < MAX_PUMPS && dp.verdict === 0; i++) {
      if (dp.deferredUntilUs >= 0) {
        nowUs = Math.max(nowUs, dp.deferredUntilUs);
        dp.deferredUntilUs = -1;
        batch.deferred[0] = 1;
        batch.arrivalUs[0] = nowUs;
        engine.receive(batch);
        continue;
      }
      const next = engine.pump(nowUs);
      if (dp.verdict !== 0 || next === Infinity) break;
      nowUs = Math.max(nowUs, next);
    }
    const after = sentByClass(engine.stats(nowUs));
    out.push(grownClass(before, after, link.name, dir === 0 ? 'egress' : 'ingress'));
    before = after;
  }
  return out;
}

/** Sent packets per `link/direction/class`, leaves only. */
function sentByClass(stats: EngineStats): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of stats.links) {
    for (const d of l.directions) {
      for (const c of d.classes) if (c.isLeaf) m.set(`${l.name}\u0000${d.direction}\u0000${c.path}`, c.sentPackets + sumOf(c.dropped));
    }
  }
  return m;
}

function grownClass(before: Map<string, number>, after: Map<string, number>, link: string, direction: string): string {
  const prefix = `${link}\u0000${direction}\u0000`;
  for (const [key, n] of after) {
    if (key.startsWith(prefix) && n > (before.get(key) ?? 0)) return key.slice(prefix.length);
  }
  return '';
}

function sumOf(xs: number[]): number {
  let n = 0;
  for (const x of xs) n += x;
  return n;
}
