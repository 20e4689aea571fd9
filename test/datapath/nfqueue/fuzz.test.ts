/**
 * Fuzz: random bytes, truncations and mutations of valid message streams never make the iterator or
 * PacketMessage.read throw or loop, and whatever they report stays inside the bytes they were given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkMessageIterator, PacketMessage, decodeError, decodeErrorText } from '../../../src/datapath/nfqueue/decode.js';
import {
  AF_INET,
  NFQ_TYPE_CONFIG,
  NFQ_TYPE_PACKET,
  NFQA_CAP_LEN,
  NFQA_MARK,
  NFQA_PACKET_HDR,
  NFQA_PAYLOAD,
  NFQA_TIMESTAMP,
  NFQA_UID,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
} from '../../../src/datapath/nfqueue/constants.js';
import { attr, errorMessage, message, packetHdr, packetMessage, u32be } from './helpers.js';
import { rng } from '../../support/rng.js';

const CASES = 100_000;

function validStream(random: () => number): Buffer {
  const parts: Buffer[] = [];
  const count = 1 + Math.floor(random() * 4);
  for (let i = 0; i < count; i++) {
    if (random() < 0.75) {
      parts.push(
        packetMessage(3, AF_INET, [
          { type: NFQA_PACKET_HDR, value: packetHdr(i, 0x0800, 4) },
          { type: NFQA_MARK, value: u32be(i) },
          { type: NFQA_TIMESTAMP, value: Buffer.alloc(16, 1) },
          { type: NFQA_PAYLOAD, value: Buffer.alloc(Math.floor(random() * 60), 0x45) },
          { type: NFQA_CAP_LEN, value: u32be(1500) },
          { type: NFQA_UID, value: u32be(0) },
        ]),
      );
    } else {
      const req = message(NFQ_TYPE_CONFIG, 5, i, Buffer.alloc(0));
      parts.push(errorMessage(Math.floor(random() * 130), i, req, NLM_F_CAPPED | NLM_F_ACK_TLVS, attr({ type: 1, value: Buffer.from('why\0') })));
    }
  }
  return Buffer.concat(parts);
}

function testCase(random: () => number): Buffer {
  const kind = random();
  if (kind < 0.3) {
    const b = Buffer.alloc(Math.floor(random() * 200));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(random() * 256);
    if (b.length >= 6 && random() < 0.5) b.writeUInt16LE(random() < 0.5 ? NFQ_TYPE_PACKET : 2, 4);
    return b;
  }
  const b = validStream(random);
  if (kind < 0.6) return b.subarray(0, Math.floor(random() * (b.length + 1)));
  const flips = 1 + Math.floor(random() * 4);
  for (let f = 0; f < flips; f++) b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
  return b;
}

test(`${CASES} random, truncated and mutated buffers never throw, loop or point outside the buffer`, () => {
  const random = rng(20240601);
  const it = new NetlinkMessageIterator();
  const p = new PacketMessage();
  let messages = 0;
  let packets = 0;
  for (let c = 0; c < CASES; c++) {
    const buf = testCase(random);
    const start = random() < 0.9 ? 0 : Math.floor(random() * 8) - 2;
    const length = random() < 0.9 ? buf.length - Math.max(start, 0) : Math.floor(random() * (buf.length + 40));
    it.reset(buf, start, length);
    let steps = 0;
    while (it.next()) {
      steps++;
      assert.ok(steps <= buf.length / 16, 'each message advances by at least a header');
      assert.ok(it.offset >= 0 && it.offset + it.length <= buf.length);
      messages++;
      if (p.read(buf, it.offset, it.length)) {
        packets++;
        assert.ok(p.payloadOffset + p.payloadLength <= it.offset + it.length);
        assert.ok(p.payloadLength === 0 || p.payloadOffset >= it.offset + 20);
      }
      const errno = decodeError(buf, it.offset);
      assert.ok(Number.isInteger(errno) && errno >= 0);
      assert.equal(typeof decodeErrorText(buf, it.offset), 'string');
    }
    // read() at arbitrary places, with arbitrary lengths
    const o = Math.floor(random() * (buf.length + 4)) - 2;
    if (p.read(buf, o, Math.floor(random() * (buf.length + 8)))) assert.ok(p.payloadOffset + p.payloadLength <= buf.length);
    decodeError(buf, o);
    decodeErrorText(buf, o);
  }
  assert.ok(messages > CASES / 2, `${messages} messages walked`);
  assert.ok(packets > CASES / 10, `${packets} packets read: the fuzz reaches the attribute decoder`);
});
