/**
 * The foreground loop that drives an Engine from a kernel queue: sleep in the datapath until a
 * packet arrives or the next departure is due, hand the batch to the engine, release what is due.
 * The engine is pure; this loop is the edge that reads the clock (monotonicUs, the datapath's own).
 *
 * Sub-millisecond sleeps come from the datapath's ppoll. A sleep never exceeds MAX_WAIT_US, so a
 * stop request is seen promptly even when idle. The loop owns its thread, so it gives the
 * event loop a turn (signal handlers, timers) every YIELD_EVERY_US: that turn allocates a promise,
 * a few dozen times a second, never per packet or per iteration. The worker (worker/entry.ts) runs it
 * the same way, taking its counter snapshots in beforeTurn.
 */
import type { PacketBatch } from '../types.js';
import { monotonicUs } from './datapath.js';

/** The longest sleep in one receive, µs. */
export const MAX_WAIT_US = 50_000;
/**
 * How much later than the next departure the loop may wake, µs. At shaped rates every departure
 * would otherwise be a wake-up of its own (every 120 µs at 100 Mbit/s); waking a little late lets
 * each wake-up release several packets. Tokens keep accruing meanwhile (every bucket holds far more
 * than this), so rates hold; a packet leaves at most this much later.
 */
export const DEPARTURE_SLACK_US = 250;
/** How often the loop lets the event loop run, µs. */
export const YIELD_EVERY_US = 20_000;

/** What runLoop needs of the engine (Engine satisfies it). */
export interface LoopEngine {
  receive(batch: PacketBatch): void;
  /** Releases what is due at nowUs; returns when to call again, µs (Infinity when nothing is queued). */
  pump(nowUs: number): number;
}

/** What runLoop needs of the datapath (NfqueueDatapath satisfies it). */
export interface LoopDatapath {
  /** Waits up to timeoutUs (0: just look) and returns what arrived (count may be 0). */
  receive(timeoutUs: number): PacketBatch;
}

export interface RunLoopOptions {
  /** Asked once per iteration; true ends the loop. */
  shouldStop(): boolean;
  /** Called before each turn of the event loop (every YIELD_EVERY_US or so), between two batches. */
  beforeTurn?(nowUs: number): void;
}

/** Counts kept by one runLoop call. */
export interface LoopCounters {
  iterations: number;
  batches: number;
}

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs until shouldStop() returns true. Resolves with its counters; rejects with whatever the
 * engine or datapath threw (the caller cleans up).
 */
export async function runLoop(engine: LoopEngine, datapath: LoopDatapath, options: RunLoopOptions): Promise<LoopCounters> {
  const counters: LoopCounters = { iterations: 0, batches: 0 };
  let nextUs = engine.pump(monotonicUs());
  let lastTurnUs = monotonicUs();
  while (!options.shouldStop()) {
    let waitUs = nextUs - monotonicUs();
    if (!(waitUs < MAX_WAIT_US)) waitUs = MAX_WAIT_US;
    else if (waitUs <= 0) waitUs = 0;
    else waitUs += DEPARTURE_SLACK_US;
    const batch = datapath.receive(waitUs);
    if (batch.count > 0) {
      engine.receive(batch);
      counters.batches++;
    }
    const nowUs = monotonicUs();
    nextUs = engine.pump(nowUs);
    counters.iterations++;
    if (nowUs - lastTurnUs >= YIELD_EVERY_US) {
      options.beforeTurn?.(nowUs);
      await turn();
      lastTurnUs = monotonicUs();
    }
  }
  return counters;
}
