/**
 * Decoding what the kernel sends: packet messages built by hand (helpers.ts) with every attribute and
 * with only the mandatory one, malformed ones, several messages in one buffer, and NLMSG_ERROR/ACK.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NetlinkMessageIterator,
  PacketMessage,
  decodeError,
  decodeErrorRequestType,
  decodeErrorText,
} from '../../../src/datapath/nfqueue/decode.js';
import { EBADMSG } from '../../../src/datapath/errno.js';
import {
  AF_INET,
  AF_INET6,
  NF_INET_FORWARD,
  NF_INET_POST_ROUTING,
  NFQ_TYPE_CONFIG,
  NFQ_TYPE_PACKET,
  NFQA_CAP_LEN,
  NFQA_GID,
  NFQA_HWADDR,
  NFQA_IFINDEX_INDEV,
  NFQA_IFINDEX_OUTDEV,
  NFQA_IFINDEX_PHYSINDEV,
  NFQA_IFINDEX_PHYSOUTDEV,
  NFQA_L2HDR,
  NFQA_MARK,
  NFQA_PACKET_HDR,
  NFQA_PAYLOAD,
  NFQA_PRIORITY,
  NFQA_SECCTX,
  NFQA_SKB_GSO,
  NFQA_SKB_CSUMNOTREADY,
  NFQA_SKB_INFO,
  NFQA_TIMESTAMP,
  NFQA_UID,
  NFQA_VLAN,
  NLA_F_NESTED,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_ERROR,
} from '../../../src/datapath/nfqueue/constants.js';
import { attr, errorMessage, message, packetHdr, packetMessage, u32be, type Attr } from './helpers.js';

const payload45 = Buffer.from(Array.from({ length: 45 }, (_, i) => (i * 7) & 0xff));

function timestamp(sec: number, usec: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(BigInt(sec), 0);
  b.writeBigUInt64BE(BigInt(usec), 8);
  return b;
}

function fullAttrs(): Attr[] {
  return [
    { type: NFQA_PACKET_HDR, value: packetHdr(0xfedcba98, 0x86dd, NF_INET_POST_ROUTING) },
    { type: NFQA_MARK, value: u32be(0x80000001) },
    { type: NFQA_TIMESTAMP, value: timestamp(1_700_000_000, 123_456) },
    { type: NFQA_IFINDEX_INDEV, value: u32be(2) },
    { type: NFQA_IFINDEX_OUTDEV, value: u32be(3) },
    { type: NFQA_IFINDEX_PHYSINDEV, value: u32be(4) },
    { type: NFQA_IFINDEX_PHYSOUTDEV, value: u32be(5) },
    { type: NFQA_HWADDR, value: Buffer.from('0006000002aabbccddee0000', 'hex') },
    { type: NFQA_L2HDR, value: Buffer.alloc(14, 0x42) },
    // a nested attribute as the kernel sends it (NLA_F_NESTED set): skipped whole
    { type: NFQA_VLAN | NLA_F_NESTED, value: Buffer.concat([attr({ type: 1, value: Buffer.from([0x81, 0]) }), attr({ type: 2, value: Buffer.from([0, 5]) })]) },
    { type: NFQA_PAYLOAD, value: payload45 },
    { type: NFQA_CAP_LEN, value: u32be(1500) },
    { type: NFQA_SKB_INFO, value: u32be(NFQA_SKB_GSO | NFQA_SKB_CSUMNOTREADY) },
    { type: NFQA_UID, value: u32be(1000) },
    { type: NFQA_GID, value: u32be(0) },
    { type: NFQA_SECCTX, value: Buffer.from('system_u\0') },
    { type: NFQA_PRIORITY, value: u32be(6) },
    { type: 99, value: Buffer.from([1, 2, 3]) }, // unknown to this kernel header: skipped
  ];
}

test('a packet message with every attribute', () => {
  const msg = packetMessage(7, AF_INET6, fullAttrs(), 0);
  const buf = Buffer.concat([Buffer.alloc(8, 0xaa), msg]);
  const p = new PacketMessage();
  assert.equal(p.read(buf, 8, msg.length), true);
  assert.equal(p.family, AF_INET6);
  assert.equal(p.queueNum, 7);
  assert.equal(p.packetId, 0xfedcba98);
  assert.equal(p.hwProtocol, 0x86dd);
  assert.equal(p.hook, NF_INET_POST_ROUTING);
  assert.equal(p.mark, 0x80000001);
  assert.equal(p.timestampUs, 1_700_000_000_123_456);
  assert.deepEqual([p.indev, p.outdev, p.physIndev, p.physOutdev], [2, 3, 4, 5]);
  assert.equal(p.payloadLength, 45);
  assert.deepEqual(buf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength), payload45);
  assert.equal(p.capLen, 1500);
  assert.equal(p.skbInfo, NFQA_SKB_GSO | NFQA_SKB_CSUMNOTREADY);
  assert.equal(p.uid, 1000);
  assert.equal(p.gid, 0);
});

test('a packet message with only NFQA_PACKET_HDR; fields from an earlier read are reset', () => {
  const p = new PacketMessage();
  const full = packetMessage(7, AF_INET6, fullAttrs());
  assert.equal(p.read(full, 0, full.length), true);
  const msg = packetMessage(1, AF_INET, [{ type: NFQA_PACKET_HDR, value: packetHdr(42, 0x0800, NF_INET_FORWARD) }]);
  assert.equal(p.read(msg, 0, msg.length), true);
  assert.equal(p.family, AF_INET);
  assert.equal(p.queueNum, 1);
  assert.equal(p.packetId, 42);
  assert.equal(p.hwProtocol, 0x0800);
  assert.equal(p.hook, NF_INET_FORWARD);
  assert.deepEqual(
    [p.mark, p.indev, p.outdev, p.physIndev, p.physOutdev, p.timestampUs, p.payloadLength, p.capLen, p.uid, p.gid, p.skbInfo],
    [0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 0],
  );
});

test('capLen is the payload length when NFQA_CAP_LEN is absent', () => {
  const msg = packetMessage(1, AF_INET, [
    { type: NFQA_PACKET_HDR, value: packetHdr(1, 0x0800, 0) },
    { type: NFQA_PAYLOAD, value: Buffer.alloc(61) },
  ]);
  const p = new PacketMessage();
  assert.equal(p.read(msg, 0, msg.length), true);
  assert.equal(p.payloadLength, 61);
  assert.equal(p.capLen, 61);
});

test('read() refuses malformed or foreign messages', () => {
  const p = new PacketMessage();
  const hdr = { type: NFQA_PACKET_HDR, value: packetHdr(1, 0x0800, 0) };
  const noHdr = packetMessage(1, AF_INET, [{ type: NFQA_MARK, value: u32be(1) }]);
  assert.equal(p.read(noHdr, 0, noHdr.length), false, 'no NFQA_PACKET_HDR');
  const shortHdr = packetMessage(1, AF_INET, [{ type: NFQA_PACKET_HDR, value: Buffer.alloc(6) }]);
  assert.equal(p.read(shortHdr, 0, shortHdr.length), false, 'header attribute too short');
  const shortMark = packetMessage(1, AF_INET, [hdr, { type: NFQA_MARK, value: Buffer.alloc(2) }]);
  assert.equal(p.read(shortMark, 0, shortMark.length), false, 'u32 attribute too short');
  const shortTs = packetMessage(1, AF_INET, [hdr, { type: NFQA_TIMESTAMP, value: Buffer.alloc(8) }]);
  assert.equal(p.read(shortTs, 0, shortTs.length), false, 'timestamp too short');
  const overrun = packetMessage(1, AF_INET, [hdr, { type: NFQA_PAYLOAD, value: Buffer.alloc(8) }]);
  overrun.writeUInt16LE(200, 20 + 12); // payload attribute claims 200 bytes
  assert.equal(p.read(overrun, 0, overrun.length), false, 'attribute past the message');
  const good = packetMessage(1, AF_INET, [hdr]);
  assert.equal(p.read(good, 0, good.length + 4), false, 'message past the buffer');
  assert.equal(p.read(good, 0, 19), false, 'shorter than nlmsghdr + nfgenmsg');
  const config = Buffer.from(good);
  config.writeUInt16LE(NFQ_TYPE_CONFIG, 4);
  assert.equal(p.read(config, 0, config.length), false, 'not a packet message');
  assert.equal(p.read(good, 0, good.length), true, 'the good one still reads');
});

test('the iterator walks several messages back to back, including unpadded lengths', () => {
  // nlmsg_len 41: the last attribute's padding is in the buffer but not counted (the kernel counts it;
  // a reader must not depend on that)
  const gen = Buffer.from([AF_INET, 0, 0, 3]);
  const body = Buffer.concat([gen, attr({ type: NFQA_PACKET_HDR, value: packetHdr(1, 0x0800, 0) }), attr({ type: NFQA_PAYLOAD, value: Buffer.alloc(5) }).subarray(0, 9)]);
  const m1 = message(NFQ_TYPE_PACKET, 0, 11, body);
  const req = message(NFQ_TYPE_CONFIG, 5, 12, Buffer.alloc(0));
  const m2 = errorMessage(16, 12, req);
  const m3 = errorMessage(0, 13, req, NLM_F_CAPPED);
  const m4 = packetMessage(3, AF_INET, [{ type: NFQA_PACKET_HDR, value: packetHdr(2, 0x0800, 0) }], 14);
  const buf = Buffer.concat([m1, m2, m3, m4]);
  assert.equal(m1.readUInt32LE(0) % 4, 1, 'first message length is unpadded');
  const it = new NetlinkMessageIterator();
  const p = new PacketMessage();
  it.reset(buf, 0, buf.length);
  const seen: string[] = [];
  while (it.next()) {
    if (it.type === NFQ_TYPE_PACKET) {
      assert.equal(p.read(buf, it.offset, it.length), true);
      seen.push(`packet ${p.packetId} seq ${it.seq}`);
    } else if (it.type === NLMSG_ERROR) {
      seen.push(`error ${decodeError(buf, it.offset)} seq ${it.seq}`);
    }
  }
  assert.deepEqual(seen, ['packet 1 seq 11', 'error 16 seq 12', 'error 0 seq 13', 'packet 2 seq 14']);
  assert.equal(it.truncated, 0);
  assert.equal(it.next(), false, 'stays at the end');
});

test('the iterator stops on a truncated message and counts it', () => {
  const m = packetMessage(3, AF_INET, [{ type: NFQA_PACKET_HDR, value: packetHdr(1, 0x0800, 0) }]);
  const buf = Buffer.concat([m, m]);
  const it = new NetlinkMessageIterator();
  it.reset(buf, 0, buf.length - 1);
  assert.equal(it.next(), true);
  assert.equal(it.next(), false);
  assert.equal(it.truncated, 1);
  it.reset(buf, 0, m.length + 10); // 10 trailing bytes: less than a header
  assert.equal(it.next(), true);
  assert.equal(it.next(), false);
  assert.equal(it.truncated, 2);
  const zero = Buffer.alloc(32); // nlmsg_len 0 would loop forever if accepted
  it.reset(zero, 0, zero.length);
  assert.equal(it.next(), false);
  assert.equal(it.truncated, 3);
  it.reset(buf, 0, m.length + 4000); // length past the buffer is clipped to it
  assert.equal(it.next(), true);
  assert.equal(it.next(), true);
  assert.equal(it.next(), false);
  assert.equal(it.truncated, 3);
  assert.equal(it.offset, m.length);
  assert.equal(it.payloadOffset, m.length + 16);
  assert.equal(it.payloadLength, m.length - 16);
});

test('decodeError: an errno, an ACK, and malformed errors', () => {
  const req = message(NFQ_TYPE_CONFIG, 5, 40, Buffer.alloc(8));
  const busy = errorMessage(16, 40, req);
  assert.equal(decodeError(busy, 0), 16);
  assert.equal(decodeErrorRequestType(busy, 0), NFQ_TYPE_CONFIG);
  const ack = errorMessage(0, 40, req.subarray(0, 16), NLM_F_CAPPED);
  assert.equal(decodeError(ack, 0), 0);
  assert.equal(decodeError(busy.subarray(0, 30), 0), EBADMSG, 'cut short');
  const notError = Buffer.from(busy);
  notError.writeUInt16LE(NFQ_TYPE_PACKET, 4);
  assert.equal(decodeError(notError, 0), EBADMSG, 'not an NLMSG_ERROR');
  assert.equal(decodeErrorRequestType(notError, 0), -1);
  const positive = Buffer.from(busy);
  positive.writeInt32LE(5, 16);
  assert.equal(decodeError(positive, 0), EBADMSG, 'a positive error is not a kernel errno');
});

test('decodeErrorText reads the extended ACK message', () => {
  const req = message(NFQ_TYPE_CONFIG, 5, 40, Buffer.alloc(8));
  const text = attr({ type: 1, value: Buffer.from('Unknown flags\0') });
  const withText = errorMessage(95, 40, req.subarray(0, 16), NLM_F_CAPPED | NLM_F_ACK_TLVS, text);
  assert.equal(decodeError(withText, 0), 95);
  assert.equal(decodeErrorText(withText, 0), 'Unknown flags');
  const uncapped = errorMessage(22, 40, req, NLM_F_ACK_TLVS, Buffer.concat([attr({ type: 2, value: u32be(20) }), text]));
  assert.equal(decodeErrorText(uncapped, 0), 'Unknown flags');
  assert.equal(decodeErrorText(errorMessage(22, 40, req), 0), '');
});
