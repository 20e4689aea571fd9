/**
 * Which class each source's data lands in, for the report: the engine's own classifier is asked
 * about each source's data packet (engine.classPathOf), so the report names the class the real run
 * used. Classification of a flow's data packets is sticky, so one packet decides for the flow.
 * Runs once per source instance before the simulation; allocates freely.
 */
import type { Engine } from '../engine/engine.js';
import type { Source } from './sources/source.js';

/** For each source instance, the class path of its data packets, or '' when their direction is not shaped. */
export function classOfSources(engine: Engine, sources: Source[]): string[] {
  return sources.map((s) => {
    const t = s.dataPacket;
    return engine.classPathOf(s.path.link, s.path.dataDirection, t.bytes, 0, t.lengthBytes, s.owner ?? undefined) ?? '';
  });
}
