/**
 * Decoders for what the kernel sends on an nfnetlink_queue socket: a receive buffer holds one or more
 * netlink messages back to back; each is a packet (NFQNL_MSG_PACKET) or an NLMSG_ERROR (an error, or
 * with errno 0 an ACK of a configuration request).
 *
 * Why it looks like this: it runs for every packet, so it allocates nothing. The iterators and
 * PacketMessage are reused objects whose fields are overwritten by each call; they read with plain
 * indexing (bytes.ts) after checking every length against both the message and the buffer, so no
 * input (random bytes, truncation, lengths pointing anywhere) makes them throw or loop: a malformed
 * message stops the message iterator (and is counted), a malformed attribute makes read() return false.
 * Unknown attributes, and nested ones (NFQA_VLAN, NFQA_CT), are skipped by their length.
 */
import { EBADMSG } from '../errno.js';
import {
  NFGENMSG_LEN,
  NFQ_TYPE_PACKET,
  NFQA_CAP_LEN,
  NFQA_GID,
  NFQA_IFINDEX_INDEV,
  NFQA_IFINDEX_OUTDEV,
  NFQA_IFINDEX_PHYSINDEV,
  NFQA_IFINDEX_PHYSOUTDEV,
  NFQA_MARK,
  NFQA_PACKET_HDR,
  NFQA_PAYLOAD,
  NFQA_SKB_INFO,
  NFQA_TIMESTAMP,
  NFQA_UID,
  NFQNL_MSG_PACKET_HDR_LEN,
  NFQNL_MSG_PACKET_TIMESTAMP_LEN,
  NLA_HDRLEN,
  NLA_TYPE_MASK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_MIN_LEN,
} from './constants.js';
import { align4, readI32Host, readU16BE, readU16Host, readU32BE, readU32Host } from './bytes.js';


const EMPTY = Buffer.alloc(0);
const TWO_POW_32 = 4294967296;

/** Walks the netlink messages in buf[offset, offset + length). Fields describe the current message. */
export class NetlinkMessageIterator {
  /** nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid of the current message. */
  type = 0;
  flags = 0;
  seq = 0;
  pid = 0;
  /** Offset in the buffer of the current message's header, and its nlmsg_len in bytes. */
  offset = 0;
  length = 0;
  /** Offset and length of what follows the 16-byte header. */
  payloadOffset = 0;
  payloadLength = 0;
  /** Messages (or trailing bytes) cut short or with an impossible length, since construction. */
  truncated = 0;

  private buf: Buffer = EMPTY;
  private pos = 0;
  private end = 0;

  reset(buf: Buffer, offset: number, length: number): void {
    this.buf = buf;
    const start = offset < 0 ? 0 : offset;
    const end = offset + length;
    this.pos = start;
    this.end = end > buf.length ? buf.length : end;
  }

  /** Moves to the next message; false at the end of the bytes or on a malformed message (counted in truncated). */
  next(): boolean {
    const rest = this.end - this.pos;
    if (rest < NLMSG_HDRLEN) {
      if (rest > 0) {
        this.truncated++;
        this.pos = this.end;
      }
      return false;
    }
    const buf = this.buf;
    const o = this.pos;
    const len = readU32Host(buf, o);
    if (len < NLMSG_HDRLEN || len > rest) {
      this.truncated++;
      this.pos = this.end;
      return false;
    }
    this.offset = o;
    this.length = len;
    this.type = readU16Host(buf, o + 4);
    this.flags = readU16Host(buf, o + 6);
    this.seq = readU32Host(buf, o + 8);
    this.pid = readU32Host(buf, o + 12);
    this.payloadOffset = o + NLMSG_HDRLEN;
    this.payloadLength = len - NLMSG_HDRLEN;
    this.pos = o + align4(len);
    return true;
  }
}

/** Walks the attributes (nlattr TLVs) in buf[offset, offset + length). Fields describe the current attribute. */
export class NetlinkAttributeIterator {
  /** nla_type without the NLA_F_NESTED / NLA_F_NET_BYTEORDER bits, and the raw nla_type. */
  type = 0;
  rawType = 0;
  /** Offset and length of the attribute's value (nla_len minus the header, without padding). */
  payloadOffset = 0;
  payloadLength = 0;
  /** Set when the walk stopped on an attribute that claims more bytes than remain. */
  malformed = false;

  private buf: Buffer = EMPTY;
  private pos = 0;
  private end = 0;

  reset(buf: Buffer, offset: number, length: number): void {
    this.buf = buf;
    const end = offset + length;
    this.pos = offset < 0 ? 0 : offset;
    this.end = end > buf.length ? buf.length : end;
    this.malformed = false;
  }

  next(): boolean {
    const rest = this.end - this.pos;
    if (rest < NLA_HDRLEN) {
      if (rest > 0) {
        this.malformed = true;
        this.pos = this.end;
      }
      return false;
    }
    const o = this.pos;
    const len = readU16Host(this.buf, o);
    if (len < NLA_HDRLEN || len > rest) {
      this.malformed = true;
      this.pos = this.end;
      return false;
    }
    this.rawType = readU16Host(this.buf, o + 2);
    this.type = this.rawType & NLA_TYPE_MASK;
    this.payloadOffset = o + NLA_HDRLEN;
    this.payloadLength = len - NLA_HDRLEN;
    this.pos = o + align4(len);
    return true;
  }
}

/** One packet message (NFQNL_MSG_PACKET), read in place; a reused object. */
export class PacketMessage {
  /** nfgenmsg: address family (AF_INET, AF_INET6, ...) and queue number. */
  family = 0;
  queueNum = 0;
  /** NFQA_PACKET_HDR (mandatory): the id to give in the verdict, the EtherType, the NF_INET_* hook. */
  packetId = 0;
  hwProtocol = 0;
  hook = 0;
  /** NFQA_MARK; 0 when absent. */
  mark = 0;
  /** Interface indexes; 0 when absent. */
  indev = 0;
  outdev = 0;
  physIndev = 0;
  physOutdev = 0;
  /** NFQA_TIMESTAMP in µs since the epoch; 0 when absent. */
  timestampUs = 0;
  /** Where the packet bytes (NFQA_PAYLOAD) are in the buffer; length 0 when absent (NFQNL_COPY_META). */
  payloadOffset = 0;
  payloadLength = 0;
  /** The packet's length before the copy range cut it (NFQA_CAP_LEN), else payloadLength. */
  capLen = 0;
  /** Owner of the sending socket (with NFQA_CFG_F_UID_GID); -1 when absent. */
  uid = -1;
  gid = -1;
  /** NFQA_SKB_INFO flags (NFQA_SKB_GSO, NFQA_SKB_CSUMNOTREADY, ...); 0 when absent. */
  skbInfo = 0;

  private readonly attrs = new NetlinkAttributeIterator();

  /**
   * Reads the message whose header is at buf[msgOffset], msgLength bytes long. False when it is not a
   * packet message, lacks NFQA_PACKET_HDR, or any attribute is cut short or too small for its type;
   * the fields are then unspecified.
   */
  read(buf: Buffer, msgOffset: number, msgLength: number): boolean {
    const bodyOffset = msgOffset + NLMSG_HDRLEN + NFGENMSG_LEN;
    if (msgOffset < 0 || msgLength < NLMSG_HDRLEN + NFGENMSG_LEN || msgOffset + msgLength > buf.length) return false;
    if (readU16Host(buf, msgOffset + 4) !== NFQ_TYPE_PACKET) return false;
    this.family = buf[msgOffset + NLMSG_HDRLEN];
    this.queueNum = readU16BE(buf, msgOffset + NLMSG_HDRLEN + 2);
    this.mark = 0;
    this.indev = 0;
    this.outdev = 0;
    this.physIndev = 0;
    this.physOutdev = 0;
    this.timestampUs = 0;
    this.payloadOffset = 0;
    this.payloadLength = 0;
    this.uid = -1;
    this.gid = -1;
    this.skbInfo = 0;
    let capLen = -1;
    let haveHeader = false;
    const it = this.attrs;
    it.reset(buf, bodyOffset, msgOffset + msgLength - bodyOffset);
    while (it.next()) {
      const v = it.payloadOffset;
      const n = it.payloadLength;
      switch (it.type) {
        case NFQA_PACKET_HDR:
          if (n < NFQNL_MSG_PACKET_HDR_LEN) return false;
          this.packetId = readU32BE(buf, v);
          this.hwProtocol = readU16BE(buf, v + 4);
          this.hook = buf[v + 6];
          haveHeader = true;
          break;
        case NFQA_PAYLOAD:
          this.payloadOffset = v;
          this.payloadLength = n;
          break;
        case NFQA_TIMESTAMP:
          if (n < NFQNL_MSG_PACKET_TIMESTAMP_LEN) return false;
          this.timestampUs =
            (readU32BE(buf, v) * TWO_POW_32 + readU32BE(buf, v + 4)) * 1e6 +
            readU32BE(buf, v + 8) * TWO_POW_32 + readU32BE(buf, v + 12);
          break;
        case NFQA_MARK:
        case NFQA_IFINDEX_INDEV:
        case NFQA_IFINDEX_OUTDEV:
        case NFQA_IFINDEX_PHYSINDEV:
        case NFQA_IFINDEX_PHYSOUTDEV:
        case NFQA_CAP_LEN:
        case NFQA_SKB_INFO:
        case NFQA_UID:
        case NFQA_GID: {
          if (n < 4) return false;
          const x = readU32BE(buf, v);
          const t = it.type;
          if (t === NFQA_MARK) this.mark = x;
          else if (t === NFQA_IFINDEX_INDEV) this.indev = x;
          else if (t === NFQA_IFINDEX_OUTDEV) this.outdev = x;
          else if (t === NFQA_IFINDEX_PHYSINDEV) this.physIndev = x;
          else if (t === NFQA_IFINDEX_PHYSOUTDEV) this.physOutdev = x;
          else if (t === NFQA_CAP_LEN) capLen = x;
          else if (t === NFQA_SKB_INFO) this.skbInfo = x;
          else if (t === NFQA_UID) this.uid = x;
          else this.gid = x;
          break;
        }
        default:
          break;
      }
    }
    if (it.malformed || !haveHeader) return false;
    this.capLen = capLen < 0 ? this.payloadLength : capLen;
    return true;
  }
}

/** Offset of the nlmsgerr body, after checking there is one; -1 when buf[msgOffset] is no well-formed NLMSG_ERROR. */
function errorBody(buf: Buffer, msgOffset: number): number {
  if (msgOffset < 0 || msgOffset + NLMSG_HDRLEN + NLMSGERR_MIN_LEN > buf.length) return -1;
  const len = readU32Host(buf, msgOffset);
  if (len < NLMSG_HDRLEN + NLMSGERR_MIN_LEN || msgOffset + len > buf.length) return -1;
  if (readU16Host(buf, msgOffset + 4) !== NLMSG_ERROR) return -1;
  return msgOffset + NLMSG_HDRLEN;
}

/**
 * The errno an NLMSG_ERROR at buf[msgOffset] reports, as a positive number; 0 for an ACK. EBADMSG
 * when the message is not a well-formed NLMSG_ERROR.
 */
export function decodeError(buf: Buffer, msgOffset: number): number {
  const body = errorBody(buf, msgOffset);
  if (body < 0) return EBADMSG;
  const err = readI32Host(buf, body);
  return err > 0 ? EBADMSG : 0 - err;
}

/** nlmsg_type of the request an NLMSG_ERROR answers (the kernel echoes its header), or -1. */
export function decodeErrorRequestType(buf: Buffer, msgOffset: number): number {
  const body = errorBody(buf, msgOffset);
  return body < 0 ? -1 : readU16Host(buf, body + 4 + 4);
}

/**
 * The kernel's own explanation attached to an NLMSG_ERROR (NLMSGERR_ATTR_MSG, sent when the socket
 * set NETLINK_EXT_ACK), or "" when there is none. Allocates a string: for error paths only.
 */
export function decodeErrorText(buf: Buffer, msgOffset: number): string {
  const body = errorBody(buf, msgOffset);
  if (body < 0) return '';
  const flags = readU16Host(buf, msgOffset + 6);
  if ((flags & NLM_F_ACK_TLVS) === 0) return '';
  const msgEnd = msgOffset + readU32Host(buf, msgOffset);
  const echoed = (flags & NLM_F_CAPPED) !== 0 ? NLMSG_HDRLEN : align4(readU32Host(buf, body + 4));
  const tlvs = body + 4 + echoed;
  if (echoed < NLMSG_HDRLEN || tlvs > msgEnd) return '';
  const it = new NetlinkAttributeIterator();
  it.reset(buf, tlvs, msgEnd - tlvs);
  while (it.next()) {
    if (it.type !== NLMSGERR_ATTR_MSG) continue;
    let end = it.payloadOffset;
    const stop = it.payloadOffset + it.payloadLength;
    while (end < stop && buf[end] !== 0) end++;
    return buf.toString('utf8', it.payloadOffset, end);
  }
  return '';
}
