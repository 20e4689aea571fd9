/**
 * The simulation loop: virtual time, the event queue, the simulated datapath and the sources around
 * one engine. Each step pops every event due at the earliest time t (arrivals gather into one
 * batch), hands the batch to engine.receive, calls engine.pump(t) and schedules a wake for the time
 * it returns; it stops at the end time. Nothing here reads a wall clock or does I/O.
 *
 * Cost per packet: one heap push and pop per hop (arrival, delivery), a template copy into a slot,
 * and whatever the engine costs. The loop itself allocates nothing per event.
 */
import type { Datapath } from '../datapath/types.js';
import { SojournHistograms } from '../sched/histogram.js';
import { SimDatapath, type SimPacketSink } from './datapath.js';
import { EventKind } from './event-kinds.js';
import { EventQueue } from './event-queue.js';
import type { SimEngine } from './immediate-engine.js';
import type { Source, SourceHost } from './sources/source.js';

export class Simulation implements SimPacketSink, SourceHost {
  readonly events = new EventQueue(4096);
  readonly dp: SimDatapath;
  hist: SojournHistograms = new SojournHistograms(0);
  sources: Source[] = [];
  private engine: SimEngine | null = null;
  /** Time of the latest wake scheduled for the engine, µs. */
  private wakeUs = -Infinity;
  /** Events handled and engine pumps made (for benchmarks). */
  eventsHandled = 0;
  pumps = 0;

  constructor(slotBytes: number) {
    this.dp = new SimDatapath(this.events, this, slotBytes);
  }

  /** The datapath the engine is to be built on. */
  get datapath(): Datapath {
    return this.dp;
  }

  /** Sets the engine and the sources (built with this simulation as their host) and starts them. */
  start(engine: SimEngine, sources: Source[]): void {
    this.engine = engine;
    this.sources = sources;
    this.hist = new SojournHistograms(2 * sources.length);
    for (const s of sources) s.begin();
  }

  /** Runs every event due before or at untilUs; afterwards the clock reads untilUs. */
  runUntil(untilUs: number): void {
    const ev = this.events;
    const dp = this.dp;
    const engine = this.engine;
    if (engine === null) throw new Error('Simulation.runUntil before start');
    for (;;) {
      const t = ev.peekTime();
      if (t > untilUs) break;
      while (ev.peekTime() === t) {
        ev.pop();
        this.eventsHandled++;
        const kind = ev.kind;
        if (kind === EventKind.SOURCE) this.sources[ev.arg].onTimer();
        else if (kind !== EventKind.WAKE) dp.handleEvent(kind, ev.arg);
      }
      if (dp.batch.count > 0) {
        engine.receive(dp.batch);
        dp.clearBatch();
      }
      this.pumps++;
      let next = engine.pump(t);
      if (next <= t) next = t + 1;
      if (next !== Infinity && (next < this.wakeUs || this.wakeUs <= t)) {
        this.wakeUs = next;
        ev.push(next, EventKind.WAKE, 0);
      }
    }
    if (ev.nowUs < untilUs) ev.nowUs = untilUs;
  }

  onDeliver(slot: number): void {
    this.sources[this.dp.source[slot]].onDeliver(slot);
  }

  onLoss(slot: number): void {
    this.sources[this.dp.source[slot]].onLoss(slot);
  }
}
