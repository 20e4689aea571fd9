/**
 * TCP-like bulk source, counted in segments (Reno-style, RFC 5681 in spirit, not byte-exact):
 *
 *   slow start            cwnd += 1 per segment acknowledged while cwnd < ssthresh (doubles per RTT);
 *   congestion avoidance  cwnd += 1/cwnd per segment acknowledged (+1 segment per RTT);
 *   decrease              on a loss notice or an ECN echo, ssthresh = cwnd/2 and cwnd = ssthresh, at
 *                         most once per smoothed RTT (one reduction per window, as fast recovery);
 *   receiver window       cwnd never exceeds rwnd (bytes / MSS);
 *   retransmission        every lost segment is sent again (goodput counts unique bytes delivered).
 *
 * The receiver acknowledges every segment with a pure ACK (40 bytes IPv4, 60 IPv6) carrying the
 * cumulative count of segments it holds and ECE when the segment arrived marked CE; ACKs travel back
 * as real packets, through the shaper when that direction is shaped. Because ACKs are cumulative a
 * lost ACK costs nothing unless the last ones of a window are lost: then a retransmission timeout
 * (no progress for max(200 ms, 2 * srtt)) restarts from cwnd 1 and learns what the receiver holds.
 * Optional `bytes` ends the transfer once delivered (completion time recorded); `stop` ends sending.
 */
import { TcpFlag } from '../../packet/types.js';
import { EventKind } from '../event-kinds.js';
import { Source, type SourceHost, type SourcePath } from './source.js';
import type { Template } from './templates.js';

const DATA = 0;
const ACK = 1;
const ACK_ECE = 2;
const INITIAL_CWND = 10;
const MIN_RTO_US = 200_000;

export interface TcpParams {
  /** Payload bytes per segment. */
  mssBytes: number;
  /** Receiver window, bytes. */
  rwndBytes: number;
  /** Bytes to transfer, 0 for unlimited. */
  totalBytes: number;
}

export class TcpSource extends Source {
  readonly kind = 'tcp';
  readonly dataPacket: Template;
  /** Congestion window and slow-start threshold, segments. */
  cwnd = INITIAL_CWND;
  ssthresh = Infinity;
  /** Smoothed round-trip time, µs. */
  srttUs: number;
  /** Window reductions made (losses and ECN echoes acted on). */
  reductions = 0;
  /** Retransmission timeouts. */
  timeouts = 0;
  /** Data segments emitted (retransmissions included), and new segments among them. */
  private sent = 0;
  private newSent = 0;
  /** Segments the sender knows were received (from ACKs) and lost (from loss notices). */
  private acked = 0;
  private lost = 0;
  private retransmitPending = 0;
  /** Receiver: segments held. */
  private received = 0;
  private lastReductionUs = -Infinity;
  private lastProgressUs = 0;
  private readonly rwndSegments: number;
  private readonly totalSegments: number;
  private readonly rtoCheckUs: number;

  constructor(
    index: number, name: string, path: SourcePath, startUs: number, stopUs: number, host: SourceHost,
    private readonly data: Template,
    private readonly ack: Template,
    private readonly ackEce: Template,
    readonly params: TcpParams,
  ) {
    super(index, name, path, startUs, stopUs, host);
    this.dataPacket = data;
    this.srttUs = path.rttUs;
    this.rwndSegments = Math.max(1, Math.floor(params.rwndBytes / params.mssBytes));
    this.totalSegments = params.totalBytes > 0 ? Math.ceil(params.totalBytes / params.mssBytes) : Infinity;
    this.rtoCheckUs = Math.max(MIN_RTO_US, 2 * path.rttUs);
  }

  /** Segments in flight as the sender sees them. */
  get inFlight(): number {
    return this.sent - this.acked - this.lost;
  }

  onTimer(): void {
    const now = this.host.events.nowUs;
    if (this.sent === 0) {
      this.lastProgressUs = now;
      this.trySend();
    } else if (this.inFlight > 0 && now - this.lastProgressUs >= this.rto()) {
      this.timeout();
    }
    if (this.received < this.totalSegments && (now < this.stopUs || this.inFlight > 0)) {
      this.host.events.push(now + this.rtoCheckUs, EventKind.SOURCE, this.index);
    }
  }

  onDeliver(slot: number): void {
    const dp = this.host.dp;
    const kind = dp.kind[slot];
    if (kind === DATA) this.receiveData(slot);
    else this.receiveAck(dp.aux[slot], kind === ACK_ECE, dp.sentUs[slot]);
  }

  onLoss(slot: number): void {
    this.counters.droppedPackets++;
    if (this.host.dp.kind[slot] !== DATA) return;
    this.lost++;
    this.retransmitPending++;
    this.reduce();
    this.trySend();
  }

  private receiveData(slot: number): void {
    const dp = this.host.dp;
    const c = this.counters;
    this.recordSojourn(slot);
    this.received++;
    c.deliveredPackets++;
    c.deliveredBytes += this.params.mssBytes;
    const ce = dp.ce[slot] === 1;
    if (ce) c.ceMarked++;
    if (this.received === this.totalSegments) c.completedUs = this.host.events.nowUs;
    const t = ce ? this.ackEce : this.ack;
    this.emit(t.bytes, t.lengthBytes, false, ce ? ACK_ECE : ACK, this.received, dp.sentUs[slot]);
  }

  private receiveAck(cumulative: number, ece: boolean, echoedSentUs: number): void {
    const now = this.host.events.nowUs;
    this.srttUs += (now - echoedSentUs - this.srttUs) / 8;
    if (ece) this.reduce();
    let newly = cumulative - this.acked;
    if (newly > 0) {
      this.acked = cumulative;
      this.lastProgressUs = now;
      for (; newly > 0; newly--) {
        this.cwnd += this.cwnd < this.ssthresh ? 1 : 1 / this.cwnd;
      }
      if (this.cwnd > this.rwndSegments) this.cwnd = this.rwndSegments;
    }
    this.trySend();
  }

  /** Multiplicative decrease, at most once per smoothed RTT. */
  private reduce(): void {
    const now = this.host.events.nowUs;
    if (now - this.lastReductionUs < this.srttUs) return;
    this.lastReductionUs = now;
    this.reductions++;
    this.ssthresh = Math.max(this.cwnd / 2, 2);
    this.cwnd = this.ssthresh;
  }

  /** The last ACKs of a window were lost: start again from one segment, knowing what arrived. */
  private timeout(): void {
    this.timeouts++;
    this.ssthresh = Math.max(this.cwnd / 2, 2);
    this.cwnd = 1;
    if (this.received > this.acked) this.acked = this.received;
    this.lastProgressUs = this.host.events.nowUs;
    this.trySend();
  }

  private rto(): number {
    return Math.max(MIN_RTO_US, 2 * this.srttUs);
  }

  /** Sends retransmissions first, then new segments, while the window allows. */
  private trySend(): void {
    const now = this.host.events.nowUs;
    const window = this.cwnd < this.rwndSegments ? this.cwnd : this.rwndSegments;
    const c = this.counters;
    while (this.inFlight < window) {
      if (this.retransmitPending > 0) {
        this.retransmitPending--;
      } else if (now < this.stopUs && this.newSent < this.totalSegments) {
        this.newSent++;
      } else {
        return;
      }
      this.sent++;
      c.sentPackets++;
      c.sentBytes += this.data.lengthBytes;
      this.emit(this.data.bytes, this.data.lengthBytes, true, DATA, 0, now);
    }
  }
}

/** The flags of the pure ACK templates. */
export const ACK_FLAGS = TcpFlag.ACK;
export const ACK_ECE_FLAGS = TcpFlag.ACK | TcpFlag.ECE;
