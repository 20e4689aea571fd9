/**
 * The datapath contract: the only code that talks to the kernel (or, in the simulator, to virtual
 * links) for packets. It hands the engine batches of packets and takes back verdicts. A packet is
 * known by its handle until it is accepted or dropped; a held handle *is* the packet's place in the
 * queue. Implementations: sim/ (virtual time), nfqueue and bridge (later). One contract test suite
 * (test/datapath/contract.ts) runs against every implementation.
 */

export const enum Direction {
  EGRESS = 0,
  INGRESS = 1,
}

/**
 * A batch of received packets, in structure-of-arrays form so that reading one allocates nothing.
 * The datapath owns and reuses it: it is valid until the next call that delivers a batch.
 */
export interface PacketBatch {
  /** Packets in this batch; entries [0, count) of every array are valid. */
  count: number;
  /** Handle of each packet: a uint32 unique among packets not yet given a verdict. */
  handles: Uint32Array;
  /** Index of the link each packet belongs to (in configuration order). */
  links: Uint16Array;
  /** Direction.EGRESS or Direction.INGRESS. */
  directions: Uint8Array;
  /** When the packet reached sluice, µs on the engine's clock. */
  arrivalUs: Float64Array;
  /** Mark the kernel gave the packet (0 when none). */
  marks: Uint32Array;
  /** Owner of the sending socket, from the kernel with locally generated packets; -1 when none. */
  uids: Int32Array;
  gids: Int32Array;
  /** Interface indexes the packet came in by and goes out by; 0 when none (or not known). */
  inIfindex: Uint32Array;
  outIfindex: Uint32Array;
  /** The IP packet: buffers[i] holds it at offsets[i], lengths[i] bytes long. */
  buffers: Buffer[];
  offsets: Uint32Array;
  lengths: Uint32Array;
}

export interface Datapath {
  /** Let the packet go, optionally with a new mark and/or new bytes for it (`payload`). */
  accept(handle: number, mark?: number, payload?: Buffer): void;
  /**
   * Let the packet go with the bytes it now has in the buffer it was delivered in: the engine
   * rewrote them in place (a new DSCP, CE). Nothing is copied or allocated to say so.
   */
  acceptRewritten(handle: number, mark?: number): void;
  /** Discard the packet. */
  drop(handle: number): void;
  /** Verdicts issued since the last flush are sent (the kernel datapath sends them in one syscall). */
  flush(): void;
}
