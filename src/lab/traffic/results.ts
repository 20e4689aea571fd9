/**
 * The one JSON line each traffic-agent role prints at the end of its run. Shared by the agent, which
 * writes them, and the API (index.ts), which reads them and joins a sender's line with its receiver's.
 * Byte counts are payload bytes (what the application sent or received, not what went on the wire);
 * bins are 100 ms wide and start at the first byte received (see bins.ts).
 */

/** What the agent adds to every role's line: the CPU time (user + system, µs) the role used, startup excluded. */
export interface AgentResult {
  cpuUs: number;
}

export interface TcpSinkResult {
  /** Payload bytes received per 100 ms bin, across all connections, from the first byte. */
  binsBytes: number[];
  /** The first byte's arrival, Unix time in ms (-1: none arrived); see ByteBins.firstByteAtMs. */
  firstByteAtMs: number;
  bytes: number;
  connections: number;
  /** Milliseconds from the first byte received to the last. */
  spanMs: number;
}

export interface TcpBulkSendResult {
  /** Bytes accepted by the sockets (write() calls), all streams together. */
  sentBytes: number;
  streams: number;
  /** How long the streams were written to, from the first connect to the stop. */
  durationMs: number;
  /** Every stream closed gracefully within lingerMs, so everything sent was delivered. */
  flushed: boolean;
}

export interface UdpSinkResult {
  binsBytes: number[];
  bytes: number;
  /** Distinct datagrams of this run (right tag) received. */
  received: number;
  duplicates: number;
  /** Datagrams that arrived after one with a higher sequence number. */
  reordered: number;
  /** Datagrams without this run's tag, ignored. */
  foreign: number;
  spanMs: number;
}

export interface UdpRateSendResult {
  sent: number;
  /** Datagrams the rate called for over the duration; fewer are sent only if the socket stayed full. */
  wanted: number;
  /** From the first datagram sent to the last. */
  durationMs: number;
}

export interface RrServerResult {
  /** Requests answered. */
  requests: number;
}

export interface RrProbeResult {
  sent: number;
  /** Round trip of each answered probe, in microseconds, in the order the probes were sent. */
  rttsUs: number[];
  /** Probes without a reply within timeoutMs. */
  lost: number;
  /** Send or receive errors seen (e.g. ICMP port unreachable on a connected UDP socket). */
  errors: number;
}

export interface UdpFloodResult {
  sent: number;
  wanted: number;
  durationMs: number;
  /** Send errors (the flood goes on past them). */
  errors: number;
}
