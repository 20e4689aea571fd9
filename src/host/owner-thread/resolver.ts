/**
 * OwnerResolver: the packet thread's handle on the owner thread (entry.ts). The packet thread loops
 * synchronously and cannot await, so nothing here waits: request() posts a lookup on a MessageChannel
 * and returns; poll(), called once per loop iteration, takes every answer that has arrived with
 * receiveMessageOnPort — synchronous, so answers are collected by a thread that never yields to its
 * event loop (tested) — and hands each to a callback, in request order.
 *
 * A packet thread asleep in ppoll learns of an answer through `wakeFd`: an eventfd (EFD_NONBLOCK) it
 * also polls (NfqueueDatapath's wakeFd); the owner thread writes it after each answer.
 *
 * Bounded: at most maxOutstanding requests wait; past that request() refuses (false, counted) and the
 * caller goes on with an unknown owner. If the thread fails (its one-line reason is `error`), every
 * request still waiting is answered with NO_SOCKET by the next poll() and counted as failed, and
 * request() refuses from then on: a flow is never left waiting for an answer that will not come.
 *
 * Costs in the calling thread (bench/host/owner-thread.bench.ts, its own CPU time, on a loaded
 * 2-core machine): poll() with nothing arrived is one receiveMessageOnPort, 0.1-0.5 µs, so it needs
 * no guard. request() allocates one 14-number array and posts it: 15-20 µs when the owner thread is
 * idle, nearly all of it waking that thread (libuv's async eventfd write and the kernel's wake-up),
 * and a few µs while it is busy (wake-ups coalesce: 256 requests at once cost 5-8 µs each, request
 * and answer together). The poll() that delivers an answer costs about 10 µs: the structured clone
 * of the SocketOwner, which the flow keeps. Inline resolve() costs 30-70 µs here on an index hit, and
 * 100-250 ms when it builds or rescans the /proc index: the stall this thread exists to take.
 *
 * The thread is spawned by the thread that calls start() and inherits its network namespace: call it
 * from a thread in the namespace whose connections it should look up.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { spawnBesideCaller } from '../threads.js';
import { NO_SOCKET, type SocketOwner } from '../owner-lookup.js';
import type { SocketTuple } from '../sock-diag.js';
import { CLOSE, encodeOwnerRequest, type OwnerFailure, type OwnerReply, type OwnerThreadLookupOptions, type OwnerThreadSettings } from './messages.js';

export type { OwnerThreadLookupOptions } from './messages.js';

export interface OwnerAnswer {
  flow: number;
  generation: number;
  owner: SocketOwner;
}

export interface OwnerResolverOptions extends OwnerThreadLookupOptions {
  /** Requests that may wait for an answer at once; 256 by default. */
  maxOutstanding?: number;
  /** An eventfd (EFD_NONBLOCK) the owner thread writes after each answer; owned by the caller. */
  wakeFd?: number;
}

/** Counted by the packet thread; read by whoever asks. requested = answered + failed + outstanding. */
export interface OwnerResolverStats {
  /** Lookups queued (request() returned true). */
  requested: number;
  /** Answers from the thread (found or not). */
  answered: number;
  /** request() calls refused because maxOutstanding were waiting. */
  refused: number;
  /** Requests answered NO_SOCKET because the thread had failed. */
  failed: number;
  /** The thread's time in OwnerLookup.resolve over every answer, and the longest one, µs. */
  lookupSumUs: number;
  lookupMaxUs: number;
}

const DEFAULT_MAX_OUTSTANDING = 256;
/** How long close() waits for the thread to finish the lookup in hand before terminating it, ms. */
const CLOSE_GRACE_MS = 5000;

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

export class OwnerResolver {
  readonly maxOutstanding: number;
  readonly stats: OwnerResolverStats = { requested: 0, answered: 0, refused: 0, failed: 0, lookupSumUs: 0, lookupMaxUs: 0 };
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly exited: Promise<void>;
  /** The requests waiting, oldest first: a ring of capacity `mask + 1` (a power of two ≥ maxOutstanding). */
  private readonly waitingFlows: Uint32Array;
  private readonly waitingGenerations: Uint32Array;
  private readonly mask: number;
  private head = 0;
  private count = 0;
  /** Handed to every onAnswer call, refilled each time. */
  private readonly answer: OwnerAnswer = { flow: 0, generation: 0, owner: NO_SOCKET };
  /** The thread's own failure line, read from the channel. */
  private failure: string | null = null;
  /** Why the thread ended without saying so on the channel (an uncaught error, a non-zero exit). */
  private gone: string | null = null;
  private closed = false;

  private constructor(maxOutstanding: number, lookup: OwnerThreadLookupOptions, wakeFd: number) {
    this.maxOutstanding = maxOutstanding;
    const capacity = 2 ** Math.ceil(Math.log2(maxOutstanding));
    this.waitingFlows = new Uint32Array(capacity);
    this.waitingGenerations = new Uint32Array(capacity);
    this.mask = capacity - 1;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const settings: OwnerThreadSettings = { lookup, port: port2, wakeFd };
    this.worker = spawnBesideCaller(import.meta.url, 'entry', { workerData: settings, transferList: [port2] });
    this.worker.on('error', (err) => {
      this.gone ??= `owner thread: ${oneLine(err)}`;
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        if (!this.closed && code !== 0) this.gone ??= `the owner thread exited with code ${code}`;
        resolve();
      });
    });
  }

  /** Spawns the owner thread, which opens sock_diag in the calling thread's network namespace. */
  static start(options: OwnerResolverOptions = {}): OwnerResolver {
    const { maxOutstanding = DEFAULT_MAX_OUTSTANDING, wakeFd = -1, ...lookup } = options;
    if (!Number.isInteger(maxOutstanding) || maxOutstanding < 1 || maxOutstanding > 1 << 20) {
      throw new RangeError(`owner resolver: maxOutstanding ${maxOutstanding} is not an integer from 1 to ${1 << 20}`);
    }
    return new OwnerResolver(maxOutstanding, lookup, wakeFd);
  }

  /** Requests waiting for their answer. */
  get outstanding(): number {
    return this.count;
  }

  /** The thread's fatal error as one line, or null. After it, request() returns false. */
  get error(): string | null {
    return this.failure ?? this.gone;
  }

  /**
   * Queues a lookup of connection `t` for the flow (flow, generation), both Uint32; false (nothing
   * queued) when maxOutstanding are already waiting, the thread failed or close() was called.
   * Never blocks, never throws.
   */
  request(flow: number, generation: number, t: SocketTuple): boolean {
    if (this.closed || this.failure !== null || this.gone !== null) return false;
    if (this.count >= this.maxOutstanding) {
      this.stats.refused++;
      return false;
    }
    this.port.postMessage(encodeOwnerRequest(flow, generation, t));
    const at = (this.head + this.count) & this.mask;
    this.waitingFlows[at] = flow;
    this.waitingGenerations[at] = generation;
    this.count++;
    this.stats.requested++;
    return true;
  }

  /**
   * Calls onAnswer for every answer that has arrived, in request order; never blocks. The answer
   * object is reused by the next call (keep its owner, not it). Returns how many.
   */
  poll(onAnswer: (a: OwnerAnswer) => void): number {
    if (this.closed) return 0;
    const a = this.answer;
    const stats = this.stats;
    let n = 0;
    while (this.failure === null) {
      const got = receiveMessageOnPort(this.port);
      if (got === undefined) break;
      const m = got.message as OwnerReply | OwnerFailure;
      if (typeof m === 'string') {
        this.failure = m;
        break;
      }
      this.head = (this.head + 1) & this.mask;
      this.count--;
      stats.answered++;
      stats.lookupSumUs += m[2];
      if (m[2] > stats.lookupMaxUs) stats.lookupMaxUs = m[2];
      a.flow = m[0];
      a.generation = m[1];
      a.owner = m[3];
      onAnswer(a);
      n++;
    }
    if (this.failure === null && this.gone !== null) this.failure = this.gone;
    return this.failure === null ? n : n + this.answerUnknown(onAnswer);
  }

  /** Ends the thread (after the lookup in hand) and resolves once it has exited. Answers not yet polled are dropped. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.port.postMessage(CLOSE);
      const timer = setTimeout(() => void this.worker.terminate(), CLOSE_GRACE_MS);
      await this.exited;
      clearTimeout(timer);
      this.port.close();
    }
    await this.exited;
  }

  /** Answers every waiting request with NO_SOCKET (the thread will not). */
  private answerUnknown(onAnswer: (a: OwnerAnswer) => void): number {
    const a = this.answer;
    const n = this.count;
    for (; this.count > 0; this.count--) {
      a.flow = this.waitingFlows[this.head];
      a.generation = this.waitingGenerations[this.head];
      a.owner = NO_SOCKET;
      this.head = (this.head + 1) & this.mask;
      this.stats.failed++;
      onAnswer(a);
    }
    return n;
  }
}
