/**
 * Encoders for the messages sluice sends to nfnetlink_queue: queue configuration and verdicts. Each
 * writes one complete netlink message at buf[offset] and returns the bytes written, a multiple of 4,
 * so that many messages can be laid back to back in one send buffer and sent with one syscall.
 *
 * Layout of every message (see constants.ts for the headers each number comes from):
 *   nlmsghdr (16 bytes, host order: len, type, flags, seq, pid = 0)
 *   nfgenmsg (4 bytes: family = AF_UNSPEC, version = NFNETLINK_V0, res_id = queue number big-endian)
 *   attributes: nlattr (4 bytes, host order: len, type) + value (big-endian where the header says __be),
 *               padded with zero bytes to 4.
 *
 * Flags: configuration messages carry NLM_F_REQUEST | NLM_F_ACK, so the kernel answers every one with
 * an NLMSG_ERROR (errno 0 = ACK) that the caller can wait for. Verdicts carry only NLM_F_REQUEST: no
 * ACK per packet, but the kernel still reports a failed verdict (e.g. ENOENT for an unknown packet id)
 * with an NLMSG_ERROR, because netlink always answers errors.
 *
 * When the message does not fit in buf after offset, nothing is written and 0 is returned: the caller
 * flushes its buffer and encodes again. Invalid arguments that are a caller's bug (a payload range
 * outside the payload Buffer, a payload too long for an attribute) throw a RangeError.
 *
 * Per-packet cost: encodeVerdict and encodeBatchVerdict allocate nothing. A new payload is copied
 * with copyBytes (bytes.ts), which allocates nothing when it lives in the same ArrayBuffer as buf.
 */
import {
  AF_UNSPEC,
  NFGENMSG_LEN,
  NFNETLINK_V0,
  NFQ_TYPE_CONFIG,
  NFQ_TYPE_VERDICT,
  NFQ_TYPE_VERDICT_BATCH,
  NFQA_CFG_CMD,
  NFQA_CFG_FLAGS,
  NFQA_CFG_MASK,
  NFQA_CFG_PARAMS,
  NFQA_CFG_QUEUE_MAXLEN,
  NFQA_MARK,
  NFQA_PAYLOAD,
  NFQA_VERDICT_HDR,
  NFQNL_MSG_CONFIG_CMD_LEN,
  NFQNL_MSG_CONFIG_PARAMS_LEN,
  NFQNL_MSG_VERDICT_HDR_LEN,
  NLA_HDRLEN,
  NLM_F_ACK,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
} from './constants.js';
import { align4, copyBytes, writeU16BE, writeU16Host, writeU32BE, writeU32Host } from '../netlink/bytes.js';

/** nlmsghdr + nfgenmsg. */
const HEAD_BYTES = NLMSG_HDRLEN + NFGENMSG_LEN;
/** A u32 attribute: header and 4 value bytes. */
const U32_ATTR_BYTES = NLA_HDRLEN + 4;
const VERDICT_HDR_ATTR_BYTES = NLA_HDRLEN + NFQNL_MSG_VERDICT_HDR_LEN;
/** nla_len is 16 bits and counts its own header. */
export const MAX_PAYLOAD_ATTR_BYTES = 0xffff - NLA_HDRLEN;

const CONFIG_FLAGS = NLM_F_REQUEST | NLM_F_ACK;
const VERDICT_FLAGS = NLM_F_REQUEST;

const CMD_BYTES = HEAD_BYTES + NLA_HDRLEN + NFQNL_MSG_CONFIG_CMD_LEN;
const PARAMS_BYTES = HEAD_BYTES + align4(NLA_HDRLEN + NFQNL_MSG_CONFIG_PARAMS_LEN);
const MAXLEN_BYTES = HEAD_BYTES + U32_ATTR_BYTES;
const FLAGS_BYTES = HEAD_BYTES + 2 * U32_ATTR_BYTES;

/** Bytes a verdict message takes, for sizing send buffers: with or without a mark, with a payload of payloadLength bytes (0 = none). */
export function verdictBytes(hasMark: boolean, payloadLength: number): number {
  return (
    HEAD_BYTES +
    VERDICT_HDR_ATTR_BYTES +
    (hasMark ? U32_ATTR_BYTES : 0) +
    (payloadLength > 0 ? align4(NLA_HDRLEN + payloadLength) : 0)
  );
}

function writeHead(buf: Buffer, o: number, totalBytes: number, type: number, flags: number, seq: number, queueNum: number): void {
  writeU32Host(buf, o, totalBytes);
  writeU16Host(buf, o + 4, type);
  writeU16Host(buf, o + 6, flags);
  writeU32Host(buf, o + 8, seq);
  writeU32Host(buf, o + 12, 0);
  buf[o + 16] = AF_UNSPEC;
  buf[o + 17] = NFNETLINK_V0;
  writeU16BE(buf, o + 18, queueNum);
}

function writeAttrHead(buf: Buffer, o: number, attrLen: number, type: number): void {
  writeU16Host(buf, o, attrLen);
  writeU16Host(buf, o + 2, type);
}

function writeU32Attr(buf: Buffer, o: number, type: number, value: number): void {
  writeAttrHead(buf, o, U32_ATTR_BYTES, type);
  writeU32BE(buf, o + NLA_HDRLEN, value);
}

/** Binds (NFQNL_CFG_CMD_BIND) or unbinds (NFQNL_CFG_CMD_UNBIND) queueNum; pf goes in the command's pf field (the kernel ignores it for BIND/UNBIND). NLM_F_REQUEST | NLM_F_ACK. */
export function encodeConfigCommand(buf: Buffer, offset: number, seq: number, queueNum: number, command: number, pf = AF_UNSPEC): number {
  if (offset < 0 || offset + CMD_BYTES > buf.length) return 0;
  writeHead(buf, offset, CMD_BYTES, NFQ_TYPE_CONFIG, CONFIG_FLAGS, seq, queueNum);
  const a = offset + HEAD_BYTES;
  writeAttrHead(buf, a, NLA_HDRLEN + NFQNL_MSG_CONFIG_CMD_LEN, NFQA_CFG_CMD);
  buf[a + 4] = command;
  buf[a + 5] = 0;
  writeU16BE(buf, a + 6, pf);
  return CMD_BYTES;
}

/** Sets the copy mode (NFQNL_COPY_NONE / META / PACKET) and how many bytes of each packet to copy. NLM_F_REQUEST | NLM_F_ACK. */
export function encodeConfigParams(buf: Buffer, offset: number, seq: number, queueNum: number, copyMode: number, copyRange: number): number {
  if (offset < 0 || offset + PARAMS_BYTES > buf.length) return 0;
  writeHead(buf, offset, PARAMS_BYTES, NFQ_TYPE_CONFIG, CONFIG_FLAGS, seq, queueNum);
  const a = offset + HEAD_BYTES;
  writeAttrHead(buf, a, NLA_HDRLEN + NFQNL_MSG_CONFIG_PARAMS_LEN, NFQA_CFG_PARAMS);
  writeU32BE(buf, a + 4, copyRange);
  buf[a + 8] = copyMode;
  buf[a + 9] = 0;
  buf[a + 10] = 0;
  buf[a + 11] = 0;
  return PARAMS_BYTES;
}

/** Sets the most packets the kernel holds for this queue before it drops (or, with FAIL_OPEN, accepts). NLM_F_REQUEST | NLM_F_ACK. */
export function encodeConfigMaxlen(buf: Buffer, offset: number, seq: number, queueNum: number, maxlen: number): number {
  if (offset < 0 || offset + MAXLEN_BYTES > buf.length) return 0;
  writeHead(buf, offset, MAXLEN_BYTES, NFQ_TYPE_CONFIG, CONFIG_FLAGS, seq, queueNum);
  writeU32Attr(buf, offset + HEAD_BYTES, NFQA_CFG_QUEUE_MAXLEN, maxlen);
  return MAXLEN_BYTES;
}

/** Sets the NFQA_CFG_F_* bits selected by mask to their values in flags (the kernel needs both attributes). NLM_F_REQUEST | NLM_F_ACK. */
export function encodeConfigFlags(buf: Buffer, offset: number, seq: number, queueNum: number, flags: number, mask: number): number {
  if (offset < 0 || offset + FLAGS_BYTES > buf.length) return 0;
  writeHead(buf, offset, FLAGS_BYTES, NFQ_TYPE_CONFIG, CONFIG_FLAGS, seq, queueNum);
  writeU32Attr(buf, offset + HEAD_BYTES, NFQA_CFG_MASK, mask);
  writeU32Attr(buf, offset + HEAD_BYTES + U32_ATTR_BYTES, NFQA_CFG_FLAGS, flags);
  return FLAGS_BYTES;
}

/**
 * A verdict (NF_ACCEPT, NF_DROP, ...) for one packet, with an optional new mark (omitted or negative:
 * the packet keeps its mark) and optional new packet bytes: payload[payloadOffset, +payloadLength),
 * by default the whole payload Buffer. NLM_F_REQUEST only.
 */
export function encodeVerdict(
  buf: Buffer,
  offset: number,
  seq: number,
  queueNum: number,
  packetId: number,
  verdict: number,
  mark?: number,
  payload?: Buffer,
  payloadOffset?: number,
  payloadLength?: number,
): number {
  const hasMark = mark !== undefined && mark >= 0;
  let pOffset = 0;
  let pLength = 0;
  if (payload !== undefined) {
    pOffset = payloadOffset === undefined ? 0 : payloadOffset;
    pLength = payloadLength === undefined ? payload.length - pOffset : payloadLength;
    if (pOffset < 0 || pLength < 0 || pOffset + pLength > payload.length || pLength > MAX_PAYLOAD_ATTR_BYTES) {
      throw new RangeError(`verdict payload range ${pOffset}+${pLength} is outside its ${payload.length}-byte buffer or longer than ${MAX_PAYLOAD_ATTR_BYTES}`);
    }
  }
  const total = verdictBytes(hasMark, pLength);
  if (offset < 0 || offset + total > buf.length) return 0;
  writeHead(buf, offset, total, NFQ_TYPE_VERDICT, VERDICT_FLAGS, seq, queueNum);
  let a = offset + HEAD_BYTES;
  writeAttrHead(buf, a, VERDICT_HDR_ATTR_BYTES, NFQA_VERDICT_HDR);
  writeU32BE(buf, a + 4, verdict);
  writeU32BE(buf, a + 8, packetId);
  a += VERDICT_HDR_ATTR_BYTES;
  if (hasMark) {
    writeU32Attr(buf, a, NFQA_MARK, mark);
    a += U32_ATTR_BYTES;
  }
  if (pLength > 0) {
    writeAttrHead(buf, a, NLA_HDRLEN + pLength, NFQA_PAYLOAD);
    copyBytes(payload as Buffer, pOffset, pLength, buf, a + NLA_HDRLEN);
    for (let p = a + NLA_HDRLEN + pLength; p < offset + total; p++) buf[p] = 0;
  }
  return total;
}

/**
 * One verdict for every packet of the queue with an id up to and including maxPacketId that is
 * still waiting (NFQNL_MSG_VERDICT_BATCH), with an optional new mark for all of them. NLM_F_REQUEST only.
 */
export function encodeBatchVerdict(buf: Buffer, offset: number, seq: number, queueNum: number, maxPacketId: number, verdict: number, mark?: number): number {
  const hasMark = mark !== undefined && mark >= 0;
  const total = verdictBytes(hasMark, 0);
  if (offset < 0 || offset + total > buf.length) return 0;
  writeHead(buf, offset, total, NFQ_TYPE_VERDICT_BATCH, VERDICT_FLAGS, seq, queueNum);
  const a = offset + HEAD_BYTES;
  writeAttrHead(buf, a, VERDICT_HDR_ATTR_BYTES, NFQA_VERDICT_HDR);
  writeU32BE(buf, a + 4, verdict);
  writeU32BE(buf, a + 8, maxPacketId);
  if (hasMark) writeU32Attr(buf, a + VERDICT_HDR_ATTR_BYTES, NFQA_MARK, mark);
  return total;
}
