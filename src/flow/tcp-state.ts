/**
 * A small TCP state tracker, in the spirit of conntrack's but only as fine as idle expiry needs: a
 * connection that never got past its handshake should go quickly, an established one may sit idle
 * for minutes, and one that has seen a FIN or RST is about to end. No sequence-number checks: the
 * shaper only needs to know how long to remember the flow, not whether a segment is valid.
 *
 * Transitions (orig = initiator→responder, reply = responder→initiator):
 *   created by SYN            → SYN_SENT
 *   created by SYN+ACK        → SYN_RECV (the table makes the SYN+ACK's receiver the initiator)
 *   created by RST / FIN      → CLOSED / CLOSING
 *   created by anything else  → MIDSTREAM (picked up mid-connection, e.g. after a restart or eviction)
 *   SYN_SENT  + reply SYN+ACK → SYN_RECV
 *   SYN_RECV  + orig ACK      → ESTABLISHED
 *   MIDSTREAM + any reply     → ESTABLISHED (both directions seen: a real connection, not a stray segment)
 *   any       + RST           → CLOSED
 *   any open  + FIN           → CLOSING
 *   CLOSING/CLOSED + bare SYN → SYN_SENT (the port pair is reused for a new connection)
 */
import { TcpFlag } from '../packet/types.js';

export const enum TcpState {
  /** Not a TCP flow. */
  NONE = 0,
  SYN_SENT = 1,
  SYN_RECV = 2,
  /** First packet seen was not a SYN; waiting to see the other direction. */
  MIDSTREAM = 3,
  ESTABLISHED = 4,
  /** A FIN was seen in either direction. */
  CLOSING = 5,
  /** A RST was seen. */
  CLOSED = 6,
}

export const TCP_STATE_NAMES: readonly string[] = [
  'none',
  'syn_sent',
  'syn_recv',
  'midstream',
  'established',
  'closing',
  'closed',
];

const SYN_ACK_MASK = TcpFlag.SYN | TcpFlag.ACK;

/** State of a flow created by a TCP segment with these flags (as seen from the initiator). */
export function tcpInitialState(flags: number): TcpState {
  if (flags & TcpFlag.RST) return TcpState.CLOSED;
  if (flags & TcpFlag.FIN) return TcpState.CLOSING;
  if ((flags & SYN_ACK_MASK) === TcpFlag.SYN) return TcpState.SYN_SENT;
  if ((flags & SYN_ACK_MASK) === SYN_ACK_MASK) return TcpState.SYN_RECV;
  return TcpState.MIDSTREAM;
}

/** State after a segment with these flags travels in the given direction. */
export function tcpNextState(state: TcpState, flags: number, isReply: boolean): TcpState {
  if (flags & TcpFlag.RST) return TcpState.CLOSED;
  if (state >= TcpState.CLOSING) {
    return (flags & SYN_ACK_MASK) === TcpFlag.SYN ? TcpState.SYN_SENT : state;
  }
  if (flags & TcpFlag.FIN) return TcpState.CLOSING;
  switch (state) {
    case TcpState.SYN_SENT:
      return isReply && (flags & SYN_ACK_MASK) === SYN_ACK_MASK ? TcpState.SYN_RECV : state;
    case TcpState.SYN_RECV:
      return !isReply && (flags & SYN_ACK_MASK) === TcpFlag.ACK ? TcpState.ESTABLISHED : state;
    case TcpState.MIDSTREAM:
      return isReply ? TcpState.ESTABLISHED : state;
    default:
      return state;
  }
}
