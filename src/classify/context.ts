/**
 * MatchContext: everything a rule may read about the packet in hand, in one reusable object. The
 * engine owns one per worker and refills it for every packet (pkt is parsed in place, the flow
 * figures come from the flow table), so evaluating a rule allocates nothing. Later attributes
 * (owner process, user, country, layer-7 protocol) add fields here and register accessors in
 * attributes.ts; the parser and compiler do not change.
 */
import { PacketInfo } from '../packet/types.js';

export class MatchContext {
  /** The parsed packet (addresses are read from pkt.buf at pkt.srcOffset/dstOffset). */
  pkt: PacketInfo;
  /** Direction.EGRESS (0) or Direction.INGRESS (1), from src/datapath/types.ts. */
  direction = 0;
  /** Bytes and packets the flow has carried so far, both directions. */
  flowBytes = 0;
  flowPackets = 0;
  /** Time since the flow's first packet, µs. */
  flowAgeUs = 0;
  /** Average rate since the flow's first packet, bits/s. */
  flowRateBps = 0;

  constructor(pkt: PacketInfo = new PacketInfo()) {
    this.pkt = pkt;
  }
}
