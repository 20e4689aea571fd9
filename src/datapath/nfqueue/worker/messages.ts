/**
 * What the main thread and the shaping worker say to each other. The worker owns the queue, the
 * engine and the clock; the main thread owns the firewall, signals and output. Only plain data
 * crosses (structured clone): the configuration as resolved links (ShaperConfig, parsed and checked
 * in the main thread), counters as CounterSnapshot. Compiled rules cannot cross a thread, so the
 * worker's engine compiles them from the rule text the resolved classes carry.
 */
import type { ShaperConfig } from '../../../control/load.js';
import type { FlowExplanation } from '../../../engine/explain-flow.js';
import type { CounterSnapshot, FlowRow } from '../../../engine/snapshot.js';

/** workerData of the shaping worker. */
export interface WorkerSettings {
  /** What to run, resolved and checked by the main thread. */
  shaper: ShaperConfig;
  queueNum: number;
  failOpen: boolean;
  /** How often the worker posts a counters message, ms. */
  countersEveryMs: number;
  /** Int32Array over it: index 0 set to 1 asks the worker to stop (seen within one receive). */
  stopFlag: SharedArrayBuffer;
}

/** Worker → main. */
export type WorkerMessage =
  /** The queue is bound and configured: the firewall may now send packets to it. nice: the worker thread's, null if it could not be raised. */
  | {
    type: 'ready';
    maxlenPackets: number;
    nice: number | null;
    /** What the rules classify by beyond the packet, for the start line (null: nothing), and what of it does not work. */
    facts: string | null;
    warnings: string[];
  }
  /** Starting failed in a way a person can act on: one line, e.g. "queue 0: already bound by another process". */
  | { type: 'failed'; message: string }
  | { type: 'counters'; snapshot: CounterSnapshot }
  /** The loop ended and the queue is closed (every held packet got its verdict); the counters as the loop stopped. */
  | { type: 'stopped'; snapshot: CounterSnapshot }
  | { type: 'reloaded' }
  /** Every live flow, answering a `flows` request. */
  | { type: 'flows'; flows: FlowRow[] }
  /** Why a live flow is in its class, answering an `explain` request (null: no live flow has that id), or why it could not be told. */
  | { type: 'explained'; explanation: FlowExplanation | null; error?: string }
  /** A reload was refused; the running configuration stays. Each line names file:line:col or the cause. */
  | { type: 'reload-failed'; lines: string[] };

/** Main → worker. */
export type ControlMessage =
  /** A configuration to run instead, resolved and checked by the main thread (a file reloaded, `set link`, a schedule window). */
  | { type: 'reload'; shaper: ShaperConfig }
  | { type: 'flows' }
  | { type: 'explain'; id: number };
