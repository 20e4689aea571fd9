/**
 * Interactive request/response source (a ping, a game, a DNS lookup, a keystroke over ssh): a small
 * request every interval in the data direction; the far end answers at once with a response that
 * comes back the other way, through the shaper when that direction is shaped. It measures the round
 * trip from sending the request to receiving the response: propagation plus queueing both ways.
 * A lost request or response simply yields no sample (and counts as a drop).
 */
import { EventKind } from '../event-kinds.js';
import { Source, type SourceHost, type SourcePath } from './source.js';
import type { Template } from './templates.js';

const REQUEST = 0;
const RESPONSE = 1;

export class InteractiveSource extends Source {
  readonly kind = 'interactive';
  readonly dataPacket: Template;
  private k = 0;
  /** Responses received. */
  responses = 0;

  constructor(
    index: number, name: string, path: SourcePath, startUs: number, stopUs: number, host: SourceHost,
    private readonly request: Template,
    private readonly response: Template,
    /** Time between requests, µs. */
    readonly intervalUs: number,
  ) {
    super(index, name, path, startUs, stopUs, host);
    this.dataPacket = request;
  }

  onTimer(): void {
    const now = this.host.events.nowUs;
    if (now >= this.stopUs) return;
    this.emit(this.request.bytes, this.request.lengthBytes, true, REQUEST, 0, now);
    this.counters.sentPackets++;
    this.counters.sentBytes += this.request.lengthBytes;
    this.k++;
    const next = this.startUs + this.k * this.intervalUs;
    if (next < this.stopUs) this.host.events.push(next, EventKind.SOURCE, this.index);
  }

  onDeliver(slot: number): void {
    const dp = this.host.dp;
    this.recordSojourn(slot);
    if (dp.kind[slot] === REQUEST) {
      const c = this.counters;
      c.deliveredPackets++;
      c.deliveredBytes += dp.lengthBytes[slot];
      if (dp.ce[slot] === 1) c.ceMarked++;
      this.emit(this.response.bytes, this.response.lengthBytes, false, RESPONSE, 0, dp.sentUs[slot]);
      return;
    }
    this.responses++;
    this.recordRtt(this.host.events.nowUs - dp.sentUs[slot]);
  }

  onLoss(): void {
    this.counters.droppedPackets++;
  }
}
