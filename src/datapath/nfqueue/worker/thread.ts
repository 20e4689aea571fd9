/**
 * The main thread's handle on the shaping worker (entry.ts). start() resolves once the worker has
 * bound the queue (so the firewall may send packets to it) or rejects with the worker's one-line
 * reason; counters arrive through onCounters; stop() raises the shared stop flag and resolves with the
 * last snapshot once the queue is closed. A worker that dies of a bug rejects `done` with its error.
 *
 * The worker is entry.js from the compiled build, entry.ts from the sources (host/threads.ts).
 */
import type { Worker } from 'node:worker_threads';
import { spawnBesideCaller } from '../../../host/threads.js';
import type { ShaperConfig } from '../../../control/load.js';
import type { FlowExplanation } from '../../../engine/explain-flow.js';
import type { CounterSnapshot, FlowRow } from '../../../engine/snapshot.js';
import type { ControlMessage, WorkerMessage, WorkerSettings } from './messages.js';

/** A start-up failure the person can act on: its message is one line. */
export class WorkerStartError extends Error {}

export interface ShaperThreadOptions extends Omit<WorkerSettings, 'stopFlag'> {
  onCounters?(snapshot: CounterSnapshot): void;
}

export class ShaperThread {
  readonly maxlenPackets: number;
  /** The worker thread's nice value, null when raising its priority was refused. */
  readonly workerNice: number | null;
  /** What the rules classify by beyond the packet (process, country, l7), and what of it does not work. */
  readonly facts: string | null;
  readonly warnings: readonly string[];
  /** Settles when the worker exits: resolves after a stop, rejects if it died of an error. */
  readonly done: Promise<void>;
  private readonly worker: Worker;
  private readonly stopFlag: Int32Array;
  private last: CounterSnapshot | null = null;
  private waitingReload: ((lines: string[] | null) => void)[] = [];
  private waitingFlows: ((flows: FlowRow[]) => void)[] = [];
  private waitingExplain: ((m: Extract<WorkerMessage, { type: 'explained' }>) => void)[] = [];

  private constructor(worker: Worker, stopFlag: Int32Array, ready: Extract<WorkerMessage, { type: 'ready' }>, done: Promise<void>) {
    this.worker = worker;
    this.stopFlag = stopFlag;
    this.maxlenPackets = ready.maxlenPackets;
    this.workerNice = ready.nice;
    this.facts = ready.facts;
    this.warnings = ready.warnings;
    this.done = done;
  }

  static start(options: ShaperThreadOptions): Promise<ShaperThread> {
    const { onCounters, ...rest } = options;
    const stopBuffer = new SharedArrayBuffer(4);
    const settings: WorkerSettings = { ...rest, stopFlag: stopBuffer };
    const worker = spawnBesideCaller(import.meta.url, 'entry', { workerData: settings });
    return new Promise((resolve, reject) => {
      let thread: ShaperThread | null = null;
      let failure: Error | null = null;
      const done = new Promise<void>((resolveDone, rejectDone) => {
        worker.on('error', (err) => {
          failure = err;
          if (thread === null) reject(err);
        });
        worker.on('exit', (code) => {
          if (thread === null) {
            reject(failure ?? new WorkerStartError(`the shaping worker exited (code ${code}) before binding the queue`));
            return;
          }
          if (failure !== null) rejectDone(failure);
          else if (code !== 0) rejectDone(new Error(`the shaping worker exited with code ${code}`));
          else resolveDone();
        });
      });
      worker.on('message', (m: WorkerMessage) => {
        switch (m.type) {
          case 'ready':
            thread = new ShaperThread(worker, new Int32Array(stopBuffer), m, done);
            resolve(thread);
            break;
          case 'failed':
            failure = new WorkerStartError(m.message);
            break;
          case 'counters':
          case 'stopped':
            if (thread !== null) thread.last = m.snapshot;
            onCounters?.(m.snapshot);
            break;
          case 'reloaded':
          case 'reload-failed':
            thread?.waitingReload.shift()?.(m.type === 'reloaded' ? null : m.lines);
            break;
          case 'flows':
            thread?.waitingFlows.shift()?.(m.flows);
            break;
          case 'explained':
            thread?.waitingExplain.shift()?.(m);
            break;
        }
      });
      done.catch(() => undefined);
    });
  }

  /** The latest snapshot the worker sent (after stop(): its last one). */
  get lastSnapshot(): CounterSnapshot | null {
    return this.last;
  }

  /** Every live flow, as the worker lists them between two batches. */
  flows(): Promise<FlowRow[]> {
    return new Promise((resolve) => {
      this.waitingFlows.push(resolve);
      const m: ControlMessage = { type: 'flows' };
      this.worker.postMessage(m);
    });
  }

  /** Why live flow `id` is in its class under the configuration the worker runs; null when no live flow has that id. */
  explainFlow(id: number): Promise<FlowExplanation | null> {
    return new Promise((resolve, reject) => {
      this.waitingExplain.push((m) => (m.error === undefined ? resolve(m.explanation) : reject(new Error(m.error))));
      const m: ControlMessage = { type: 'explain', id };
      this.worker.postMessage(m);
    });
  }

  /** Sends a new configuration; resolves null when the worker runs it, or the lines saying why not. */
  reload(shaper: ShaperConfig): Promise<string[] | null> {
    return new Promise((resolve) => {
      this.waitingReload.push(resolve);
      const m: ControlMessage = { type: 'reload', shaper };
      this.worker.postMessage(m);
    });
  }

  /** Asks the worker to stop; resolves with its last snapshot once the queue is closed and it has exited. */
  async stop(): Promise<CounterSnapshot | null> {
    Atomics.store(this.stopFlag, 0, 1);
    await this.done;
    return this.last;
  }
}
