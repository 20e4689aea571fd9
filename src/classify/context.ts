/**
 * MatchContext: everything a rule may read about the packet in hand, in one reusable object. The
 * engine owns one per worker and refills it for every packet (pkt is parsed in place, the flow
 * figures come from the flow table), so evaluating a rule allocates nothing. What sluice learns
 * about a flow beyond its packets — the owning process, the country of the remote address, the
 * application protocol — is filled in only when the flow is (re)classified and only when some rule
 * reads it (flow-facts.ts registers those attributes).
 */
import { PacketInfo } from '../packet/types.js';

/**
 * The owner of a flow's socket, as the host lookup (src/host) found it. `found` false: no socket
 * (forwarded traffic, a connection already gone, or not looked up): every process attribute is
 * absent and no comparison on one holds. `found` but not `known`: the socket's uid (and user) are
 * real, the process was not found: numbers are -1 and names 'unknown'.
 */
export interface OwnerFacts {
  readonly found: boolean;
  readonly known: boolean;
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  readonly user: string;
  readonly group: string;
  readonly cmd: string;
  readonly exe: string;
  readonly args: string;
  readonly cgroup: string;
  readonly unit: string;
}

/** The owner of a flow with no socket (or none looked up yet). */
export const NO_OWNER: OwnerFacts = Object.freeze({
  found: false,
  known: false,
  pid: -1,
  uid: -1,
  gid: -1,
  user: '',
  group: '',
  cmd: '',
  exe: '',
  args: '',
  cgroup: '',
  unit: '',
});

/** `l7` codes (flow-facts.ts names them); PENDING until the flow's protocol is decided. */
export const L7_PENDING_CODE = 0;

export class MatchContext {
  /** The parsed packet (addresses are read from pkt.buf at pkt.srcOffset/dstOffset). */
  pkt: PacketInfo;
  /** Direction.EGRESS (0) or Direction.INGRESS (1), from src/datapath/types.ts. */
  direction = 0;
  /** The packet's firewall mark as it arrived. */
  mark = 0;
  /** Names of the interfaces the packet came in by and goes out by ('' when none: sent or received by this host). */
  iif = '';
  oif = '';
  /** Bytes and packets the flow has carried so far, both directions. */
  flowBytes = 0;
  flowPackets = 0;
  /** Time since the flow's first packet, µs. */
  flowAgeUs = 0;
  /** Average rate since the flow's first packet, bits/s. */
  flowRateBps = 0;
  /** The application protocol's code (L7_PENDING_CODE until decided), its host name, payload entropy (bits per byte, -1 until decided). */
  l7Code = L7_PENDING_CODE;
  l7Host = '';
  entropyBits = -1;
  /** Who owns the flow's socket. */
  owner: OwnerFacts = NO_OWNER;
  /** Country of the remote address: ISO 3166 code ('--' private or local, '??' not in the database) and English name. */
  cc = '--';
  country = '';

  constructor(pkt: PacketInfo = new PacketInfo()) {
    this.pkt = pkt;
  }
}
