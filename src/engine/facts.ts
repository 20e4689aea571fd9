/**
 * What the engine asks of the edges for the flow facts rules may read beyond the packet: the owner
 * of a connection's socket (src/host looks it up, in a thread of its own) and the country of an
 * address (a database the edge loads). The engine stays pure: it calls these, it never does I/O.
 */
import type { OwnerFacts } from '../classify/context.js';
import type { Direction } from '../datapath/types.js';
import type { PacketInfo } from '../packet/types.js';

export type OwnerAnswerSink = (flow: number, generation: number, owner: OwnerFacts) => void;

export interface OwnerSource {
  /**
   * Starts looking up the owner of the connection `pkt` belongs to (seen in `direction`, so the
   * local side is known); the answer comes later through poll(). False when nothing was started
   * (too many lookups waiting, or the lookup is not available): the flow then has no owner.
   */
  request(flow: number, generation: number, pkt: PacketInfo, direction: Direction): boolean;
  /** The owner as far as the uid and gid the kernel gave a locally sent packet tell it (no lookup). */
  fromKernel(uid: number, gid: number): OwnerFacts;
  /** Hands every answer that has arrived to `sink`; never blocks. Returns how many. */
  poll(sink: OwnerAnswerSink): number;
}

export interface CountryAnswer {
  cc: string;
  name: string;
}

export interface CountryLookup {
  /** The country of the address at buf[offset] (4 or 16 bytes by ipVersion) into `out`. */
  lookup(buf: Buffer, offset: number, ipVersion: number, out: CountryAnswer): void;
}
