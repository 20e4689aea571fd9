/**
 * Walking what a netlink socket receives: the messages back to back in a buffer, the attributes
 * (nlattr TLVs) inside one, and the errno and extended-ACK text of an NLMSG_ERROR. Shared by the
 * nfnetlink_queue codec (../nfqueue/decode.ts) and inet_diag (src/host).
 *
 * Why it looks like this: it runs for every packet, so it allocates nothing. The iterators are reused
 * objects whose fields are overwritten by each call; they read with plain indexing (bytes.ts) after
 * checking every length against both the message and the buffer, so no input (random bytes,
 * truncation, lengths pointing anywhere) makes them throw or loop: a malformed message stops the
 * message iterator and is counted in `truncated`.
 */
import { NLA_HDRLEN, NLA_TYPE_MASK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_ERROR, NLMSG_HDRLEN, NLMSGERR_ATTR_MSG, NLMSGERR_MIN_LEN } from './constants.js';
import { EBADMSG } from '../errno.js';
import { align4, readI32Host, readU16Host, readU32Host } from './bytes.js';

const EMPTY = Buffer.alloc(0);

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

/** Offset of the nlmsgerr body, after checking there is one; -1 when buf[msgOffset] is no well-formed NLMSG_ERROR. */
function errorBody(buf: Buffer, msgOffset: number): number {
  if (msgOffset < 0 || msgOffset + NLMSG_HDRLEN + NLMSGERR_MIN_LEN > buf.length) return -1;
  const len = readU32Host(buf, msgOffset);
  if (len < NLMSG_HDRLEN + NLMSGERR_MIN_LEN || msgOffset + len > buf.length) return -1;
  if (readU16Host(buf, msgOffset + 4) !== NLMSG_ERROR) return -1;
  return msgOffset + NLMSG_HDRLEN;
}
