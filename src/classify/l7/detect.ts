/**
 * Protocol detection over the first payload bytes of one direction of a flow: the entry point that
 * tries each protocol's detector, strongest signatures first, and merges their answers (any
 * DECIDED wins, else any NEED_MORE, else UNKNOWN). See types.ts for the calling convention.
 *
 * TCP: http, tls, ssh, bittorrent (handshake), dns (length-prefixed), stun. UDP: quic, bittorrent
 * (DHT, uTP), stun, dns, rtp. Each detector rejects on its first byte or two, so an unknown payload
 * costs a handful of comparisons per detector; a recognised one costs a walk over the fields it
 * reads (a ClientHello's extension headers, an HTTP header block up to Host).
 *
 * Allocation: none, except one string when a host is extracted (once per flow) and the node:crypto
 * objects of opening a QUIC client Initial (once per QUIC flow, see quic-initial.ts). No exceptions
 * escape: every read is bounds-checked against the clamped range.
 */
import { detectBittorrentTcp, detectBittorrentUdp } from './bittorrent.js';
import { detectDns } from './dns.js';
import { detectHttp } from './http.js';
import { detectQuic } from './quic.js';
import { detectRtp } from './rtp.js';
import { detectSsh } from './ssh.js';
import { detectStun } from './stun.js';
import { detectTls } from './tls.js';
import { L7Protocol, L7Result, L7Verdict } from './types.js';

export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

/**
 * Detects the protocol of payload[offset, offset+length) — for TCP the in-order stream prefix of
 * one direction, for UDP one datagram — sent by the flow's initiator or responder. Fills `out`
 * (reset first) and answers whether the protocol is decided.
 */
export function detect(
  payload: Buffer,
  offset: number,
  length: number,
  proto: 6 | 17,
  fromInitiator: boolean,
  out: L7Result,
): L7Verdict {
  out.reset();
  if (offset < 0 || offset > payload.length) return L7Verdict.UNKNOWN;
  if (length > payload.length - offset) length = payload.length - offset;
  if (length <= 0) return L7Verdict.NEED_MORE;
  return proto === PROTO_TCP ? detectTcp(payload, offset, length, out) : detectUdp(payload, offset, length, fromInitiator, out);
}

/** Merge state of one detect call: some detector wants more bytes, and the first tentative protocol. */
let pending = false;
let guess: L7Protocol = 'unknown';

/** Records one detector's answer; true when it decided. */
function settled(v: L7Verdict, out: L7Result): boolean {
  if (v === L7Verdict.NEED_MORE) {
    pending = true;
    if (guess === 'unknown') guess = out.protocol;
  }
  return v === L7Verdict.DECIDED;
}

function undecided(out: L7Result): L7Verdict {
  out.protocol = guess;
  out.host = '';
  return pending ? L7Verdict.NEED_MORE : L7Verdict.UNKNOWN;
}

function detectTcp(buf: Buffer, offset: number, length: number, out: L7Result): L7Verdict {
  pending = false;
  guess = 'unknown';
  if (settled(detectTls(buf, offset, length, out), out)) return L7Verdict.DECIDED;
  if (settled(detectHttp(buf, offset, length, out), out)) return L7Verdict.DECIDED;
  if (settled(detectSsh(buf, offset, length, out), out)) return L7Verdict.DECIDED;
  if (settled(detectBittorrentTcp(buf, offset, length, out), out)) return L7Verdict.DECIDED;
  if (settled(detectStun(buf, offset, length, true, out), out)) return L7Verdict.DECIDED;
  if (settled(detectDns(buf, offset, length, true, out), out)) return L7Verdict.DECIDED;
  return undecided(out);
}

function detectUdp(buf: Buffer, offset: number, length: number, fromInitiator: boolean, out: L7Result): L7Verdict {
  pending = false;
  guess = 'unknown';
  if (settled(detectQuic(buf, offset, length, fromInitiator, out), out)) return L7Verdict.DECIDED;
  if (settled(detectStun(buf, offset, length, false, out), out)) return L7Verdict.DECIDED;
  if (settled(detectBittorrentUdp(buf, offset, length, fromInitiator, out), out)) return L7Verdict.DECIDED;
  if (settled(detectDns(buf, offset, length, false, out), out)) return L7Verdict.DECIDED;
  if (settled(detectRtp(buf, offset, length, out), out)) return L7Verdict.DECIDED;
  return undecided(out);
}
