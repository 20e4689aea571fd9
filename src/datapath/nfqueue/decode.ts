/**
 * Decoders for what the kernel sends on an nfnetlink_queue socket: a receive buffer holds one or more
 * netlink messages back to back; each is a packet (NFQNL_MSG_PACKET) or an NLMSG_ERROR (an error, or
 * with errno 0 an ACK of a configuration request).
 *
 * The message and attribute iterators and the error decoders are netlink's own (../netlink/messages.ts,
 * re-exported here); this file adds the packet message.
 *
 * Why it looks like this: it runs for every packet, so it allocates nothing. PacketMessage is a
 * reused object whose fields are overwritten by each call; they read with plain
 * indexing (bytes.ts) after checking every length against both the message and the buffer, so no
 * input (random bytes, truncation, lengths pointing anywhere) makes them throw or loop: a malformed
 * message stops the message iterator (and is counted), a malformed attribute makes read() return false.
 * Unknown attributes, and nested ones (NFQA_VLAN, NFQA_CT), are skipped by their length.
 */
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
  NLMSG_HDRLEN,
} from './constants.js';
import { readU16BE, readU16Host, readU32BE } from '../netlink/bytes.js';
import { NetlinkAttributeIterator } from '../netlink/messages.js';

export { decodeError, decodeErrorRequestType, decodeErrorText, NetlinkAttributeIterator, NetlinkMessageIterator } from '../netlink/messages.js';

const TWO_POW_32 = 4294967296;

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

