/**
 * Test helpers: a MatchContext holding a real packet, made with the packet builder and parsed by the
 * packet parser, so the rules are tested against what the engine will really hand them.
 */
import assert from 'node:assert/strict';
import { MatchContext } from '../../src/classify/context.js';
import { compileRule, type CompiledRule } from '../../src/classify/compile.js';
import { Direction } from '../../src/datapath/types.js';
import { buildPacket, type PacketSpec } from '../../src/packet/build.js';
import { parsePacket } from '../../src/packet/parse.js';
import { PacketInfo } from '../../src/packet/types.js';
import { collectionsDuring } from '../support/gc.js';

export interface FlowFigures {
  flowBytes?: number;
  flowPackets?: number;
  flowAgeUs?: number;
  flowRateBps?: number;
}

/** A context for the packet `spec`, seen in `direction` (default egress). */
export function ctxFor(spec: PacketSpec, direction: number = Direction.EGRESS, flow: FlowFigures = {}): MatchContext {
  const buf = buildPacket(spec);
  const pkt = new PacketInfo();
  assert.equal(parsePacket(buf, 0, buf.length, pkt), true, 'test packet must parse');
  const ctx = new MatchContext(pkt);
  ctx.direction = direction;
  Object.assign(ctx, flow);
  return ctx;
}

/** Refills `ctx` in place with another packet (as the engine does). */
export function refill(ctx: MatchContext, spec: PacketSpec, direction: number = Direction.EGRESS): MatchContext {
  const buf = buildPacket(spec);
  assert.equal(parsePacket(buf, 0, buf.length, ctx.pkt), true);
  ctx.direction = direction;
  return ctx;
}

export function rule(source: string): CompiledRule {
  return compileRule(source, { label: 'test' });
}

/** Whether `source` holds for the packet. */
export function holds(source: string, ctx: MatchContext): boolean {
  return rule(source).test(ctx);
}

/**
 * Runs `fn` and reports how many garbage collections happened during it and how much the heap grew.
 * Code that allocates nothing triggers no scavenge; a million small allocations trigger several
 * (heap growth alone could hide them, since a collection may shrink the heap).
 */
export async function allocationsDuring(fn: () => void): Promise<{ collections: number; grewBytes: number }> {
  let grewBytes = 0;
  const collections = await collectionsDuring(() => {
    const before = process.memoryUsage().heapUsed;
    fn();
    grewBytes = process.memoryUsage().heapUsed - before;
  });
  return { collections, grewBytes };
}
