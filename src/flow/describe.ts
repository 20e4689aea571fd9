/**
 * One flow of the table as plain values with text addresses, for the CLI, status and tests. Reads the
 * table's per-slot records through its accessors; not hot path (it allocates an object and strings per call).
 */
import { formatAddress } from '../packet/addr.js';
import { TCP_STATE_NAMES } from './tcp-state.js';
import type { FlowTable } from './table.js';

/** One flow in plain values, for the CLI and status (not hot path). */
export interface FlowDescription {
  id: number;
  generation: number;
  proto: number;
  ipVersion: number;
  initiator: string;
  initiatorPort: number;
  responder: string;
  responderPort: number;
  tcpState: string;
  classId: number;
  firstSeenUs: number;
  lastSeenUs: number;
  /** When the flow expires if no packet comes, µs. */
  expiresAtUs: number;
  origBytes: number;
  origPackets: number;
  replyBytes: number;
  replyPackets: number;
}

/** Describe the flow in slot id; the caller checks that the slot is active. */
export function describeFlow(t: FlowTable, id: number): FlowDescription {
  const v = t.ipVersion(id);
  return {
    id,
    generation: t.generation(id),
    proto: t.proto(id),
    ipVersion: v,
    initiator: addrText(t.addrWords(id, 0), v),
    initiatorPort: t.initPort(id),
    responder: addrText(t.addrWords(id, 1), v),
    responderPort: t.respPort(id),
    tcpState: TCP_STATE_NAMES[t.tcpState(id)],
    classId: t.classId[id],
    firstSeenUs: t.firstSeenUs(id),
    lastSeenUs: t.lastSeenUs(id),
    expiresAtUs: t.expiresAtUs(id),
    origBytes: t.origBytes(id),
    origPackets: t.origPackets(id),
    replyBytes: t.replyBytes(id),
    replyPackets: t.replyPackets(id),
  };
}

/** Text of an address given as four big-endian words (IPv4 in the last one). */
function addrText(words: Int32Array, ipVersion: number): string {
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) bytes.writeInt32BE(words[i], 4 * i);
  return ipVersion === 4 ? formatAddress(bytes, 12, 4) : formatAddress(bytes, 0, 16);
}
