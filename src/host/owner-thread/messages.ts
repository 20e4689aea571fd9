/**
 * What the packet thread (OwnerResolver, resolver.ts) and the owner thread (entry.ts) say to each
 * other over one MessageChannel. Only plain data crosses (structured clone), and the cheapest that
 * will do: a request is an array of 14 numbers — never the caller's SocketTuple, whose addresses may
 * be views into a large packet buffer that a clone would copy whole — and an answer an array of four.
 *
 * The channel's order is the order of work: the thread answers requests in arrival order, so
 * answers come back in request order.
 */
import type { MessagePort } from 'node:worker_threads';
import type { OwnerLookupOptions, SocketOwner } from '../owner-lookup.js';
import type { SocketTuple } from '../sock-diag.js';

/** The OwnerLookup options that can cross to another thread (no functions, no class instances). */
export type OwnerThreadLookupOptions = Pick<OwnerLookupOptions, 'replyTimeoutUs' | 'procRoot' | 'cgroupRoot' | 'fullScanIntervalUs' | 'processInfoTtlUs'>;

/** workerData of the owner thread. */
export interface OwnerThreadSettings {
  lookup: OwnerThreadLookupOptions;
  /** The thread's end of the channel (transferred). */
  port: MessagePort;
  /** An eventfd the thread writes 1 to after each answer, waking the packet thread's ppoll; -1 for none. */
  wakeFd: number;
}

/**
 * Packet thread → owner thread: [flow, generation, family, protocol, localPort, remotePort,
 * l0, l1, l2, l3, r0, r1, r2, r3], the addresses as 32-bit big-endian words (IPv4: l0 and r0 only).
 * flow and generation are Uint32, as FlowTable gives them.
 */
export type OwnerRequest = number[];
export const REQUEST_LENGTH = 14;
/** Packet thread → owner thread: finish the request being served, close sock_diag, exit. */
export const CLOSE = 'close';

/** Owner thread → packet thread: [flow, generation, lookupUs (the thread's time for this lookup), owner]. */
export type OwnerReply = [number, number, number, SocketOwner];
/** Owner thread → packet thread: a fatal error as one line; the thread has stopped answering. */
export type OwnerFailure = string;

/** The 32-bit big-endian word at address[at..at+4); missing bytes read as 0. */
function word(address: Uint8Array, at: number): number {
  return ((address[at] << 24) | (address[at + 1] << 16) | (address[at + 2] << 8) | address[at + 3]) >>> 0;
}

/** The request for connection `t` (one array; nothing else allocated). */
export function encodeOwnerRequest(flow: number, generation: number, t: SocketTuple): OwnerRequest {
  const v6 = t.family === 6;
  const l = t.localAddress;
  const r = t.remoteAddress;
  return [
    flow >>> 0,
    generation >>> 0,
    v6 ? 6 : 4,
    t.protocol,
    t.localPort,
    t.remotePort,
    word(l, 0),
    v6 ? word(l, 4) : 0,
    v6 ? word(l, 8) : 0,
    v6 ? word(l, 12) : 0,
    word(r, 0),
    v6 ? word(r, 4) : 0,
    v6 ? word(r, 8) : 0,
    v6 ? word(r, 12) : 0,
  ];
}

function writeWords(m: OwnerRequest, at: number, out: Uint8Array): void {
  for (let i = 0; i < out.length; i += 4) {
    const w = m[at + (i >> 2)];
    out[i] = w >>> 24;
    out[i + 1] = (w >>> 16) & 0xff;
    out[i + 2] = (w >>> 8) & 0xff;
    out[i + 3] = w & 0xff;
  }
}

/** Reusable tuples the thread decodes requests into: one per family, addresses of the right length. */
export class TupleScratch {
  readonly v4: SocketTuple = { family: 4, protocol: 0, localAddress: new Uint8Array(4), localPort: 0, remoteAddress: new Uint8Array(4), remotePort: 0 };
  readonly v6: SocketTuple = { family: 6, protocol: 0, localAddress: new Uint8Array(16), localPort: 0, remoteAddress: new Uint8Array(16), remotePort: 0 };

  /** Request m as a tuple (one of this object's, overwritten by the next call). */
  decode(m: OwnerRequest): SocketTuple {
    const t = m[2] === 6 ? this.v6 : this.v4;
    t.protocol = m[3];
    t.localPort = m[4];
    t.remotePort = m[5];
    writeWords(m, 6, t.localAddress);
    writeWords(m, 10, t.remoteAddress);
    return t;
  }
}
