/**
 * How long a flow may sit idle before the table forgets it, by what kind of flow it is. Shorter than
 * conntrack's (which keeps an established TCP connection for five days): a shaper only loses the
 * flow's class and counters when it forgets one, and a returning packet re-creates it.
 *
 * Each timeout class has its own idle list in the table (see idle-order.ts): within a list every flow
 * has the same timeout, so the list head is also (nearly) the flow whose idle deadline comes first.
 */
import { Proto } from '../packet/types.js';
import { TcpState } from './tcp-state.js';

export interface FlowTimeouts {
  /** TCP after the handshake completed (or both directions seen), µs. */
  tcpEstablishedUs: number;
  /** TCP after a FIN or RST, µs. */
  tcpClosingUs: number;
  /** TCP that never got past its SYN (or a stray segment never answered), µs. */
  tcpOpeningUs: number;
  /** UDP, µs. */
  udpUs: number;
  /** Every other protocol (ICMP, GRE, ESP, ...), µs. */
  otherUs: number;
}

export const DEFAULT_FLOW_TIMEOUTS: Readonly<FlowTimeouts> = {
  tcpEstablishedUs: 300_000_000,
  tcpClosingUs: 10_000_000,
  tcpOpeningUs: 30_000_000,
  udpUs: 60_000_000,
  otherUs: 30_000_000,
};

/** Index of a timeout class; also the index of its idle list. */
export const enum TimeoutClass {
  TCP_OPENING = 0,
  TCP_ESTABLISHED = 1,
  TCP_CLOSING = 2,
  UDP = 3,
  OTHER = 4,
}
export const TIMEOUT_CLASSES = 5;

/** The timeout class of a flow with this protocol and TCP state. */
export function timeoutClassOf(proto: number, tcpState: TcpState): TimeoutClass {
  if (proto === Proto.TCP) {
    if (tcpState === TcpState.ESTABLISHED) return TimeoutClass.TCP_ESTABLISHED;
    if (tcpState >= TcpState.CLOSING) return TimeoutClass.TCP_CLOSING;
    return TimeoutClass.TCP_OPENING;
  }
  return proto === Proto.UDP ? TimeoutClass.UDP : TimeoutClass.OTHER;
}

/** The timeouts as an array indexed by TimeoutClass, µs; validated (finite, >= 0). */
export function timeoutsByClass(partial: Partial<FlowTimeouts> | undefined): Float64Array {
  const t: FlowTimeouts = { ...DEFAULT_FLOW_TIMEOUTS };
  for (const name of Object.keys(t) as (keyof FlowTimeouts)[]) {
    const us = partial?.[name] ?? t[name];
    t[name] = us;
    if (!Number.isFinite(us) || us < 0) throw new RangeError(`flow timeout ${name} must be a finite number of µs >= 0, got ${us}`);
  }
  const out = new Float64Array(TIMEOUT_CLASSES);
  out[TimeoutClass.TCP_OPENING] = t.tcpOpeningUs;
  out[TimeoutClass.TCP_ESTABLISHED] = t.tcpEstablishedUs;
  out[TimeoutClass.TCP_CLOSING] = t.tcpClosingUs;
  out[TimeoutClass.UDP] = t.udpUs;
  out[TimeoutClass.OTHER] = t.otherUs;
  return out;
}
