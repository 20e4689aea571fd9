/**
 * The detector's contract: what one call answers (L7Verdict) and the reused object it fills
 * (L7Result). Kept apart from the detectors so the flow table and the classifier can depend on the
 * shapes without pulling in parsers or node:crypto.
 *
 * Calling convention: a flow feeds the payload of its first packets (per direction) to `detect` until
 * a call answers DECIDED or the bound (L7_MAX_PACKETS packets or L7_MAX_BYTES bytes per direction)
 * is reached; at the bound the flow takes `out.protocol` as it stands (a tentative protocol such as
 * 'http' whose Host header never came, or 'unknown').
 *
 * TCP: the detectors are stateless, so a message split over segments (a ClientHello larger than one
 * segment) is recognised by calling again with the in-order byte prefix of that direction's stream
 * (first segment, then first + second, ...), up to L7_MAX_BYTES. UDP: each datagram stands alone.
 */

export const L7Verdict = {
  /** `out` holds the final protocol (and host, if any): stop calling for this flow. */
  DECIDED: 0,
  /** A protocol is recognised or plausible but needs more bytes; `out.protocol` is the best guess so far. */
  NEED_MORE: 1,
  /** Nothing recognised in these bytes; `out.protocol` is 'unknown'. */
  UNKNOWN: 2,
} as const;
export type L7Verdict = (typeof L7Verdict)[keyof typeof L7Verdict];

export type L7Protocol = 'http' | 'tls' | 'quic' | 'ssh' | 'dns' | 'bittorrent' | 'stun' | 'rtp' | 'unknown';

/** Payload packets per direction a flow offers the detector before it settles. */
export const L7_MAX_PACKETS = 4;
/** Payload bytes per direction (the TCP stream prefix) a flow offers the detector before it settles. */
export const L7_MAX_BYTES = 2048;

/** Filled by `detect`; one instance is reused for every call (fields set in the constructor). */
export class L7Result {
  protocol: L7Protocol = 'unknown';
  /** HTTP Host header or TLS/QUIC server name, lower case, without a port; '' if none. */
  host = '';

  reset(): void {
    this.protocol = 'unknown';
    this.host = '';
  }
}
