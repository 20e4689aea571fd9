/**
 * DNS, recognised by structure rather than port (RFC 1035 section 4.1): a 12-byte header with a
 * standard opcode, zero Z bit, exactly one question and plausible record counts, then a question
 * name of valid labels (1..63 bytes of letters, digits, '-' or '_', at most 255 bytes in all,
 * uncompressed) and a type and class. A query with no other records must end right after its
 * question, which pins random data down hard. Over TCP the message follows a 2-byte length
 * (RFC 7766) that must match the bytes offered or exceed them (the message is split).
 */
import { L7Result, L7Verdict } from './types.js';

const HEADER = 12;
/** Record counts a first message plausibly carries (answers, authority, additional). */
const MAX_RECORDS = 64;
/** A query carries at most an EDNS OPT and a TSIG/COOKIE-like additional record. */
const MAX_QUERY_ADDITIONAL = 2;
const MAX_NAME = 255;
const CLASS_IN = 1;
const CLASS_CH = 3;
const CLASS_HS = 4;
const CLASS_ANY = 255;
/** mDNS sets the top bit of the question class (unicast response wanted). */
const CLASS_MASK = 0x7fff;

export function detectDns(buf: Buffer, offset: number, length: number, isTcp: boolean, out: L7Result): L7Verdict {
  if (isTcp) {
    if (length < 2 + HEADER) return L7Verdict.UNKNOWN;
    const messageLen = (buf[offset] << 8) | buf[offset + 1];
    if (messageLen < length - 2) return L7Verdict.UNKNOWN;
    offset += 2;
    length -= 2;
  }
  if (!isDnsMessage(buf, offset, length, isTcp)) return L7Verdict.UNKNOWN;
  out.protocol = 'dns';
  return L7Verdict.DECIDED;
}

/** `mayBeCut`: the message may continue past `length` (TCP), so the exact-end test is skipped. */
function isDnsMessage(buf: Buffer, offset: number, length: number, mayBeCut: boolean): boolean {
  if (length < HEADER + 5) return false;
  const flags = (buf[offset + 2] << 8) | buf[offset + 3];
  const isResponse = (flags & 0x8000) !== 0;
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== 0 && opcode !== 1 && opcode !== 2 && opcode !== 4 && opcode !== 5) return false;
  if ((flags & 0x0040) !== 0) return false; // Z
  const rcode = flags & 0xf;
  if (!isResponse && rcode !== 0) return false;
  if (rcode > 10) return false;
  const qdcount = (buf[offset + 4] << 8) | buf[offset + 5];
  const ancount = (buf[offset + 6] << 8) | buf[offset + 7];
  const nscount = (buf[offset + 8] << 8) | buf[offset + 9];
  const arcount = (buf[offset + 10] << 8) | buf[offset + 11];
  if (qdcount !== 1 || ancount > MAX_RECORDS || nscount > MAX_RECORDS || arcount > MAX_RECORDS) return false;
  if (!isResponse && (ancount !== 0 || nscount !== 0 || arcount > MAX_QUERY_ADDITIONAL)) return false;
  // Question name.
  const end = offset + length;
  let p = offset + HEADER;
  let nameLen = 0;
  for (;;) {
    if (p >= end) return false;
    const labelLen = buf[p];
    if (labelLen === 0) break;
    if (labelLen > 63) return false; // compression pointers do not appear in a first question
    nameLen += labelLen + 1;
    if (nameLen > MAX_NAME || p + 1 + labelLen > end) return false;
    for (let i = p + 1; i <= p + labelLen; i++) if (!isLabelByte(buf[i])) return false;
    p += 1 + labelLen;
  }
  p++;
  if (p + 4 > end) return false;
  const qtype = (buf[p] << 8) | buf[p + 1];
  const qclass = ((buf[p + 2] << 8) | buf[p + 3]) & CLASS_MASK;
  if (qtype === 0) return false;
  if (qclass !== CLASS_IN && qclass !== CLASS_CH && qclass !== CLASS_HS && qclass !== CLASS_ANY) return false;
  p += 4;
  const alone = ancount === 0 && nscount === 0 && arcount === 0;
  return alone && !mayBeCut ? p === end : true;
}

/** Letters, digits, '-', '_' (service labels such as _sip._udp), and '*' (wildcard queries). */
function isLabelByte(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f || b === 0x2a;
}
