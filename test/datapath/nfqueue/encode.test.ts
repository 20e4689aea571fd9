/**
 * Byte-exact encodings. Expected bytes are derived by hand from the header layouts (little-endian
 * host): nlmsghdr = len(4 LE) type(2 LE) flags(2 LE) seq(4 LE) pid(4); nfgenmsg = family, version,
 * res_id (2 BE); nlattr = len(2 LE) type(2 LE) then value, padded to 4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeBatchVerdict,
  encodeConfigCommand,
  encodeConfigFlags,
  encodeConfigMaxlen,
  encodeConfigParams,
  encodeVerdict,
  verdictBytes,
} from '../../../src/datapath/nfqueue/encode.js';
import {
  AF_INET,
  NF_ACCEPT,
  NF_DROP,
  NFQA_CFG_F_FAIL_OPEN,
  NFQA_CFG_F_GSO,
  NFQA_CFG_F_UID_GID,
  NFQNL_CFG_CMD_BIND,
  NFQNL_COPY_PACKET,
} from '../../../src/datapath/nfqueue/constants.js';
import { hex, hostIsLE } from './helpers.js';

function encoded(n: number, buf: Buffer): string {
  return buf.subarray(0, n).toString('hex');
}

test('the host is little-endian, as the expected bytes below assume', () => {
  assert.equal(hostIsLE, true);
});

test('encodeConfigCommand: bind queue 3', () => {
  const buf = Buffer.alloc(64, 0xff);
  const n = encodeConfigCommand(buf, 0, 0x01020304, 3, NFQNL_CFG_CMD_BIND, AF_INET);
  const expected = hex(
    '1c000000' + // nlmsg_len 28
      '0203' + // type (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG = 0x0302
      '0500' + // NLM_F_REQUEST | NLM_F_ACK
      '04030201' + // seq
      '00000000' + // pid
      '00 00 0003' + // nfgenmsg: AF_UNSPEC, NFNETLINK_V0, res_id 3 big-endian
      '0800 0100' + // nlattr len 8, NFQA_CFG_CMD
      '01 00 0002', // command BIND, pad, pf AF_INET big-endian
  );
  assert.equal(n, 28);
  assert.equal(encoded(n, buf), expected.toString('hex'));
  assert.equal(buf[28], 0xff, 'nothing written past the message');
});

test('encodeConfigCommand: pf defaults to AF_UNSPEC', () => {
  const buf = Buffer.alloc(28, 0xff);
  encodeConfigCommand(buf, 0, 1, 3, NFQNL_CFG_CMD_BIND);
  assert.equal(buf.readUInt16BE(26), 0);
});

test('encodeConfigParams: copy whole packets, range 0xffff; 9-byte attribute padded with zeros', () => {
  const buf = Buffer.alloc(64, 0xff);
  const n = encodeConfigParams(buf, 0, 7, 0x1234, NFQNL_COPY_PACKET, 0xffff);
  const expected = hex(
    '20000000 0203 0500 07000000 00000000' + // len 32, CONFIG, REQUEST|ACK, seq 7
      '00 00 1234' + // queue 0x1234 big-endian
      '0900 0200' + // nlattr len 9 (4 + packed struct of 5), NFQA_CFG_PARAMS
      '0000ffff' + // copy_range big-endian
      '02' + // copy_mode NFQNL_COPY_PACKET
      '000000', // padding
  );
  assert.equal(n, 32);
  assert.equal(encoded(n, buf), expected.toString('hex'));
});

test('encodeConfigMaxlen: 4096 packets', () => {
  const buf = Buffer.alloc(64, 0xff);
  const n = encodeConfigMaxlen(buf, 0, 1, 3, 4096);
  const expected = hex(
    '1c000000 0203 0500 01000000 00000000 00000003' + // header, nfgenmsg
      '0800 0300 00001000', // NFQA_CFG_QUEUE_MAXLEN, 4096 big-endian
  );
  assert.equal(n, 28);
  assert.equal(encoded(n, buf), expected.toString('hex'));
});

test('encodeConfigFlags: FAIL_OPEN|GSO set, UID_GID cleared (mask and flags both sent)', () => {
  const buf = Buffer.alloc(64, 0xff);
  const flags = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;
  const mask = flags | NFQA_CFG_F_UID_GID;
  const n = encodeConfigFlags(buf, 0, 2, 3, flags, mask);
  const expected = hex(
    '24000000 0203 0500 02000000 00000000 00000003' + // len 36
      '0800 0400 0000000d' + // NFQA_CFG_MASK = 0b1101 big-endian
      '0800 0500 00000005', // NFQA_CFG_FLAGS = 0b0101 big-endian
  );
  assert.equal(n, 36);
  assert.equal(encoded(n, buf), expected.toString('hex'));
});

test('encodeVerdict: accept, no mark, no payload; NLM_F_REQUEST only', () => {
  const buf = Buffer.alloc(64, 0xff);
  const n = encodeVerdict(buf, 0, 9, 3, 0x01020304, NF_ACCEPT);
  const expected = hex(
    '20000000' + // len 32
      '0103' + // (3 << 8) | NFQNL_MSG_VERDICT
      '0100' + // NLM_F_REQUEST
      '09000000 00000000 00000003' +
      '0c00 0200' + // nlattr len 12, NFQA_VERDICT_HDR
      '00000001' + // verdict NF_ACCEPT big-endian
      '01020304', // packet id big-endian
  );
  assert.equal(n, 32);
  assert.equal(n, verdictBytes(false, 0));
  assert.equal(encoded(n, buf), expected.toString('hex'));
});

test('encodeVerdict: mark -1 means none; mark 0xdeadbeef is sent big-endian', () => {
  const a = Buffer.alloc(64, 0xff);
  assert.equal(encodeVerdict(a, 0, 9, 3, 5, NF_ACCEPT, -1), 32);
  const buf = Buffer.alloc(64, 0xff);
  const n = encodeVerdict(buf, 0, 9, 3, 5, NF_ACCEPT, 0xdeadbeef);
  const expected = hex(
    '28000000 0103 0100 09000000 00000000 00000003' + // len 40
      '0c00 0200 00000001 00000005' +
      '0800 0300 deadbeef', // NFQA_MARK
  );
  assert.equal(n, 40);
  assert.equal(encoded(n, buf), expected.toString('hex'));
});

test('encodeVerdict: a 5-byte payload range, padded with zeros, from each kind of source buffer', () => {
  const expected = hex(
    '2c000000 0103 0100 09000000 00000000 00000003' + // len 44 = 20 + 12 + 12
      '0c00 0200 00000000 00000007' + // NF_DROP, id 7
      '0900 0a00' + // nlattr len 9, NFQA_PAYLOAD
      'aabbccddee 000000', // payload, padding
  ).toString('hex');
  const bytes = hex('11 aabbccddee 22');

  const separate = Buffer.alloc(64, 0xff);
  assert.equal(encodeVerdict(separate, 0, 9, 3, 7, NF_DROP, undefined, bytes, 1, 5), 44);
  assert.equal(encoded(44, separate), expected);

  const whole = Buffer.alloc(64, 0xff);
  encodeVerdict(whole, 0, 9, 3, 7, NF_DROP, -1, bytes.subarray(1, 6));
  assert.equal(encoded(44, whole), expected);

  const shared = new ArrayBuffer(256);
  const recv = Buffer.from(shared, 0, 128);
  const send = Buffer.from(shared, 128, 128).fill(0xff);
  bytes.copy(recv, 40);
  encodeVerdict(send, 0, 9, 3, 7, NF_DROP, undefined, recv, 41, 5);
  assert.equal(encoded(44, send), expected);
  assert.equal(recv.subarray(40, 47).toString('hex'), bytes.toString('hex'), 'source untouched');
});

test('encodeVerdict: a payload range outside its buffer is a RangeError', () => {
  const buf = Buffer.alloc(128);
  assert.throws(() => encodeVerdict(buf, 0, 1, 3, 1, NF_ACCEPT, -1, Buffer.alloc(10), 8, 4), RangeError);
  assert.throws(() => encodeVerdict(buf, 0, 1, 3, 1, NF_ACCEPT, -1, Buffer.alloc(10), -1, 4), RangeError);
});

test('encodeBatchVerdict: drop everything up to id 100, with mark 1', () => {
  const buf = Buffer.alloc(64, 0xff);
  const n = encodeBatchVerdict(buf, 0, 10, 3, 100, NF_DROP, 1);
  const expected = hex(
    '28000000' +
      '0303' + // (3 << 8) | NFQNL_MSG_VERDICT_BATCH
      '0100 0a000000 00000000 00000003' +
      '0c00 0200 00000000 00000064' + // NF_DROP, max id 100
      '0800 0300 00000001',
  );
  assert.equal(n, 40);
  assert.equal(encoded(n, buf), expected.toString('hex'));
  assert.equal(encodeBatchVerdict(Buffer.alloc(64), 0, 10, 3, 100, NF_DROP), 32);
});

test('encoders write at an offset, back to back, and return 0 without writing when out of room', () => {
  const buf = Buffer.alloc(100, 0xee);
  let off = 4;
  off += encodeVerdict(buf, off, 1, 3, 1, NF_ACCEPT);
  off += encodeVerdict(buf, off, 2, 3, 2, NF_ACCEPT, 7);
  assert.equal(off, 4 + 32 + 40);
  assert.equal(buf.readUInt32LE(4), 32);
  assert.equal(buf.readUInt32LE(36), 40);
  assert.equal(buf.readUInt32BE(36 + 28), 2, 'second packet id');
  const before = Buffer.from(buf);
  assert.equal(encodeVerdict(buf, off, 3, 3, 3, NF_ACCEPT), 0, '24 bytes left, 32 needed');
  assert.equal(encodeConfigFlags(buf, 70, 3, 3, 1, 1), 0);
  assert.equal(encodeConfigCommand(buf, 80, 3, 3, 1), 0);
  assert.equal(encodeConfigParams(buf, 80, 3, 3, 2, 1), 0);
  assert.equal(encodeConfigMaxlen(buf, 80, 3, 3, 1), 0);
  assert.equal(encodeBatchVerdict(buf, 80, 3, 3, 1, 1), 0);
  assert.equal(encodeVerdict(buf, 40, 3, 3, 3, NF_ACCEPT, -1, Buffer.alloc(60)), 0);
  assert.deepEqual(buf, before);
});
