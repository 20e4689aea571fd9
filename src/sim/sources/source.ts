/**
 * What every simulated traffic source shares: where its packets go (a SourcePath: link, direction of
 * its data, whether each direction is shaped, propagation delays), how it puts a packet on its way
 * (emit), and what it counts (SourceCounters). A source instance is one flow (one 5-tuple); a
 * scenario's `count:` / `hosts:` make several instances.
 *
 * Geometry: the local side of a link is next to sluice (no delay); the remote side is half the round
 * trip away. So a packet going egress reaches sluice at once and its receiver rttUs/2 after leaving
 * sluice; a packet coming in (ingress) reaches sluice rttUs/2 after it was sent and its receiver at
 * once. A direction that is not shaped is skipped: the packet reaches its receiver rttUs/2 after it
 * was sent. A drop reaches the sender as a loss notice rttUs after the drop.
 */
import type { OwnerFacts } from '../../classify/context.js';
import { Direction } from '../../datapath/types.js';
import type { SimDatapath } from '../datapath.js';
import type { EventQueue } from '../event-queue.js';
import { EventKind } from '../event-kinds.js';
import { HIST_BUCKETS, type SojournHistograms } from '../../sched/histogram.js';

export class SourcePath {
  constructor(
    /** Index of the link in configuration order. */
    readonly link: number,
    /** Direction of the source's data packets; replies (ACKs, responses) go the other way. */
    readonly dataDirection: Direction,
    /** Whether the engine shapes each direction of this link, indexed by Direction. */
    readonly shaped: readonly [boolean, boolean],
    /** Propagation round trip, µs. */
    readonly rttUs: number,
  ) {}
}

/** Everything a source reads and writes while the simulation runs. */
export interface SourceHost {
  readonly events: EventQueue;
  readonly dp: SimDatapath;
  /** Histogram rows: instance i records sojourn in row 2i and round-trip time above propagation in row 2i+1. */
  readonly hist: SojournHistograms;
}

/** Counters of one source instance. Bytes are IP bytes. */
export class SourceCounters {
  /** Data packets and bytes emitted (retransmissions included). */
  sentPackets = 0;
  sentBytes = 0;
  /** Data packets and bytes that reached the receiver (for TCP: unique payload bytes, i.e. goodput). */
  deliveredPackets = 0;
  deliveredBytes = 0;
  /** Packets of this flow (either direction) dropped by the shaper. */
  droppedPackets = 0;
  /** Data packets that arrived marked ECN CE. */
  ceMarked = 0;
  /** When a byte-limited transfer completed, µs (NaN while unfinished). */
  completedUs = NaN;
}

export abstract class Source {
  readonly counters = new SourceCounters();
  /** The scenario kind: tcp, constant, onoff or interactive. */
  abstract readonly kind: string;
  /** The flow's address and port on the local side of the link (the LAN host). */
  localAddress = '';
  localPort = 0;
  /** The program that owns the flow's local socket, from the scenario; null: none (as forwarded traffic). */
  owner: OwnerFacts | null = null;
  /** The data packet's template (what the probe classifies). */
  abstract readonly dataPacket: { bytes: Buffer; lengthBytes: number };

  constructor(
    /** Index of the instance among all of the scenario's instances (its SOURCE timer argument). */
    readonly index: number,
    /** Name shown in reports: the scenario's name plus `#n` for replicated instances. */
    readonly name: string,
    readonly path: SourcePath,
    /** When the source starts and stops sending new data, µs. */
    readonly startUs: number,
    readonly stopUs: number,
    protected readonly host: SourceHost,
  ) {}

  /** Schedules the first timer; called once before the run. */
  begin(): void {
    this.host.events.push(this.startUs, EventKind.SOURCE, this.index);
  }

  /** Clears the counters and histograms (end of the warm-up). */
  resetCounters(): void {
    const c = this.counters;
    c.sentPackets = c.sentBytes = c.deliveredPackets = c.deliveredBytes = c.droppedPackets = c.ceMarked = 0;
    const h = this.host.hist;
    h.counts.fill(0, 2 * this.index * HIST_BUCKETS, (2 * this.index + 2) * HIST_BUCKETS);
    h.totals[2 * this.index] = 0;
    h.totals[2 * this.index + 1] = 0;
  }

  /** The source's timer fired at host.events.nowUs. */
  abstract onTimer(): void;
  /** One of this source's packets (data or reply, by dp.kind[slot]) reached its receiver. */
  abstract onDeliver(slot: number): void;
  /** The sender of one of this source's packets learns it was dropped. */
  abstract onLoss(slot: number): void;

  /**
   * Sends the first `lengthBytes` of `template` now: forward (data direction) or back (reply).
   * `kind` and `aux` are the source's own per-packet fields, `sentUs` a timestamp it wants echoed.
   * Returns the slot.
   */
  protected emit(template: Buffer, lengthBytes: number, forward: boolean, kind: number, aux: number, sentUs: number): number {
    const dp = this.host.dp;
    const path = this.path;
    const now = this.host.events.nowUs;
    const dir = forward ? path.dataDirection : path.dataDirection === Direction.EGRESS ? Direction.INGRESS : Direction.EGRESS;
    const halfUs = path.rttUs / 2;
    const slot = dp.open(template, lengthBytes);
    dp.link[slot] = path.link;
    dp.direction[slot] = dir;
    dp.source[slot] = this.index;
    dp.kind[slot] = kind;
    dp.aux[slot] = aux;
    dp.sentUs[slot] = sentUs;
    dp.lossDelayUs[slot] = path.rttUs;
    if (!path.shaped[dir]) {
      dp.arrivalUs[slot] = now;
      dp.acceptUs[slot] = now;
      dp.bypassAt(slot, now + halfUs);
    } else if (dir === Direction.INGRESS) {
      dp.postDelayUs[slot] = 0;
      dp.arriveAt(slot, now + halfUs);
    } else {
      dp.postDelayUs[slot] = halfUs;
      dp.arriveAt(slot, now);
    }
    return slot;
  }

  /** Records the shaper sojourn of a delivered packet in this instance's histogram. */
  protected recordSojourn(slot: number): void {
    const dp = this.host.dp;
    this.host.hist.record(2 * this.index, dp.acceptUs[slot] - dp.arrivalUs[slot]);
  }

  /**
   * Records a round trip. The histogram holds the part above the propagation round trip (queueing),
   * so its bucket rounding applies to the queueing alone; readers add path.rttUs back.
   */
  protected recordRtt(us: number): void {
    this.host.hist.record(2 * this.index + 1, us - this.path.rttUs);
  }
}
