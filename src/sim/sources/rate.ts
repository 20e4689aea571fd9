/**
 * Constant-rate and on/off sources (UDP-like: no feedback). A constant source sends packets of a
 * fixed size at a fixed rate from start to stop; the k-th packet leaves at start + k * interval, so
 * rounding never drifts and the source emits exactly `rate` over any whole number of intervals. An
 * on/off source does the same while on, stays silent while off, and starts each on period afresh.
 */
import { EventKind } from '../event-kinds.js';
import { Source, type SourceHost, type SourcePath } from './source.js';
import type { Template } from './templates.js';

export class RateSource extends Source {
  readonly kind: string;
  readonly dataPacket: Template;
  /** Time between packets, µs. */
  readonly intervalUs: number;
  /** Packets sent in the current on period (or since start when always on). */
  private k = 0;
  private periodStartUs: number;

  constructor(
    index: number, name: string, path: SourcePath, startUs: number, stopUs: number, host: SourceHost,
    private readonly data: Template,
    rateBps: number,
    /** Lengths of the on and off periods, µs; offUs = 0 for a constant source. */
    private readonly onUs: number,
    private readonly offUs: number,
  ) {
    super(index, name, path, startUs, stopUs, host);
    this.intervalUs = (data.lengthBytes * 8 * 1e6) / rateBps;
    this.periodStartUs = startUs;
    this.kind = offUs > 0 ? 'onoff' : 'constant';
    this.dataPacket = data;
  }

  onTimer(): void {
    const now = this.host.events.nowUs;
    if (now >= this.stopUs) return;
    this.emit(this.data.bytes, this.data.lengthBytes, true, 0, 0, now);
    this.counters.sentPackets++;
    this.counters.sentBytes += this.data.lengthBytes;
    this.k++;
    let next = this.periodStartUs + this.k * this.intervalUs;
    if (this.offUs > 0 && next >= this.periodStartUs + this.onUs) {
      this.periodStartUs += this.onUs + this.offUs;
      this.k = 0;
      next = this.periodStartUs;
    }
    if (next < this.stopUs) this.host.events.push(next, EventKind.SOURCE, this.index);
  }

  onDeliver(slot: number): void {
    const c = this.counters;
    c.deliveredPackets++;
    c.deliveredBytes += this.host.dp.lengthBytes[slot];
    if (this.host.dp.ce[slot] === 1) c.ceMarked++;
    this.recordSojourn(slot);
  }

  onLoss(): void {
    this.counters.droppedPackets++;
  }
}
