/**
 * BitTorrent in the clear (encrypted peer connections defeat signatures: see entropy.ts):
 * - the TCP peer handshake (BEP 3): byte 19 then "BitTorrent protocol";
 * - DHT and other bencoded UDP messages (BEP 5): a dictionary "d1:..." ending in "e" whose keys
 *   include y (message kind q, r or e); queries start "d1:ad2:id20:", responses "d1:rd2:id20:";
 * - uTP (BEP 29): a 20-byte header whose first byte is type << 4 | version 1. Only the two packets
 *   that open a connection are accepted, each with nothing after the header (and its extensions):
 *   ST_SYN from the initiator and ST_STATE from the responder, which keeps random datagrams out.
 */
import { ascii, indexOf, matchPrefix, MATCH, PARTIAL } from './bytes.js';
import { L7Result, L7Verdict } from './types.js';

const HANDSHAKE = ascii('\x13BitTorrent protocol');
const DHT_QUERY = ascii('d1:ad2:id20:');
const DHT_RESPONSE = ascii('d1:rd2:id20:');
const DICT_START = ascii('d1:');
const KEY_Y = ascii('1:y1:');

const UTP_HEADER = 20;
const UTP_VERSION = 1;
const UTP_ST_STATE = 2;
const UTP_ST_SYN = 4;
/** Extension types defined by BEP 29 and its selective-ACK / extension-bits additions. */
const UTP_MAX_EXTENSION = 2;

export function detectBittorrentTcp(buf: Buffer, offset: number, length: number, out: L7Result): L7Verdict {
  const r = matchPrefix(buf, offset, length, HANDSHAKE);
  if (r === MATCH) {
    out.protocol = 'bittorrent';
    return L7Verdict.DECIDED;
  }
  return r === PARTIAL ? L7Verdict.NEED_MORE : L7Verdict.UNKNOWN;
}

export function detectBittorrentUdp(buf: Buffer, offset: number, length: number, fromInitiator: boolean, out: L7Result): L7Verdict {
  if (isDht(buf, offset, length) || isUtpOpening(buf, offset, length, fromInitiator)) {
    out.protocol = 'bittorrent';
    return L7Verdict.DECIDED;
  }
  return L7Verdict.UNKNOWN;
}

function isDht(buf: Buffer, offset: number, length: number): boolean {
  const end = offset + length;
  if (length < 8 || buf[end - 1] !== 0x65 /* e */) return false;
  if (matchPrefix(buf, offset, length, DHT_QUERY) === MATCH || matchPrefix(buf, offset, length, DHT_RESPONSE) === MATCH) return true;
  if (matchPrefix(buf, offset, length, DICT_START) !== MATCH) return false;
  const y = indexOf(buf, offset, end, KEY_Y);
  if (y < 0 || y + KEY_Y.length >= end) return false;
  const kind = buf[y + KEY_Y.length];
  return kind === 0x71 /* q */ || kind === 0x72 /* r */ || kind === 0x65 /* e */;
}

function isUtpOpening(buf: Buffer, offset: number, length: number, fromInitiator: boolean): boolean {
  if (length < UTP_HEADER) return false;
  const first = buf[offset];
  if ((first & 0x0f) !== UTP_VERSION) return false;
  const type = first >> 4;
  if (type !== (fromInitiator ? UTP_ST_SYN : UTP_ST_STATE)) return false;
  // Extension chain: each entry is (next extension type, length, bytes); it must end exactly at the datagram's end.
  let ext = buf[offset + 1];
  let p = offset + UTP_HEADER;
  const end = offset + length;
  while (ext !== 0) {
    if (ext > UTP_MAX_EXTENSION || p + 2 > end) return false;
    ext = buf[p];
    p += 2 + buf[p + 1];
  }
  return p === end;
}
