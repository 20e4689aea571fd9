/**
 * Round trips: messages from the encoders, read back with the message iterator and the attribute
 * walker, give back every value that went in — many messages in one send buffer, as the datapath sends them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeConfigFlags, encodeConfigParams, encodeVerdict } from '../../../src/datapath/nfqueue/encode.js';
import { NetlinkAttributeIterator, NetlinkMessageIterator } from '../../../src/datapath/nfqueue/decode.js';
import {
  NF_ACCEPT,
  NF_DROP,
  NFQ_TYPE_CONFIG,
  NFQ_TYPE_VERDICT,
  NFQA_CFG_FLAGS,
  NFQA_CFG_MASK,
  NFQA_CFG_PARAMS,
  NFQA_MARK,
  NFQA_PAYLOAD,
  NFQA_VERDICT_HDR,
  NLM_F_ACK,
  NLM_F_REQUEST,
} from '../../../src/datapath/nfqueue/constants.js';
import { rng } from '../../support/rng.js';

interface Sent {
  id: number;
  verdict: number;
  mark: number;
  payload: Buffer | null;
}

test('verdicts written back to back decode to what was encoded', () => {
  const random = rng(7);
  const send = Buffer.alloc(1 << 16);
  const sent: Sent[] = [];
  let off = 0;
  for (let i = 0; i < 200; i++) {
    const mark = random() < 0.5 ? -1 : Math.floor(random() * 4294967296);
    const payload = random() < 0.3 ? Buffer.from(Array.from({ length: 1 + Math.floor(random() * 90) }, () => Math.floor(random() * 256))) : null;
    const id = Math.floor(random() * 4294967296);
    const verdict = random() < 0.5 ? NF_ACCEPT : NF_DROP;
    const n = payload ? encodeVerdict(send, off, i, 5, id, verdict, mark, payload) : encodeVerdict(send, off, i, 5, id, verdict, mark);
    assert.ok(n > 0 && n % 4 === 0);
    off += n;
    sent.push({ id, verdict, mark, payload });
  }
  const it = new NetlinkMessageIterator();
  const attrs = new NetlinkAttributeIterator();
  it.reset(send, 0, off);
  let i = 0;
  while (it.next()) {
    const s = sent[i];
    assert.equal(it.type, NFQ_TYPE_VERDICT);
    assert.equal(it.flags, NLM_F_REQUEST);
    assert.equal(it.seq, i);
    assert.equal(send.readUInt16BE(it.payloadOffset + 2), 5, 'queue number in nfgenmsg');
    let verdict = -1;
    let id = -1;
    let mark = -1;
    let payload: Buffer | null = null;
    attrs.reset(send, it.payloadOffset + 4, it.length - 20);
    while (attrs.next()) {
      if (attrs.type === NFQA_VERDICT_HDR) {
        verdict = send.readUInt32BE(attrs.payloadOffset);
        id = send.readUInt32BE(attrs.payloadOffset + 4);
      } else if (attrs.type === NFQA_MARK) {
        mark = send.readUInt32BE(attrs.payloadOffset);
      } else if (attrs.type === NFQA_PAYLOAD) {
        payload = Buffer.from(send.subarray(attrs.payloadOffset, attrs.payloadOffset + attrs.payloadLength));
      } else {
        assert.fail(`unexpected attribute ${attrs.type}`);
      }
    }
    assert.equal(attrs.malformed, false);
    assert.deepEqual({ id, verdict, mark, payload }, s);
    i++;
  }
  assert.equal(i, sent.length);
  assert.equal(it.truncated, 0);
});

test('configuration messages decode to their values and ask for an ACK', () => {
  const buf = Buffer.alloc(128);
  let off = encodeConfigParams(buf, 0, 1, 9, 2, 0x10000);
  off += encodeConfigFlags(buf, off, 2, 9, 0x5, 0x7);
  const it = new NetlinkMessageIterator();
  const attrs = new NetlinkAttributeIterator();
  it.reset(buf, 0, off);
  const values: number[] = [];
  while (it.next()) {
    assert.equal(it.type, NFQ_TYPE_CONFIG);
    assert.equal(it.flags, NLM_F_REQUEST | NLM_F_ACK);
    attrs.reset(buf, it.payloadOffset + 4, it.length - 20);
    while (attrs.next()) {
      if (attrs.type === NFQA_CFG_PARAMS) {
        assert.equal(attrs.payloadLength, 5);
        values.push(buf.readUInt32BE(attrs.payloadOffset), buf[attrs.payloadOffset + 4]);
      } else if (attrs.type === NFQA_CFG_MASK || attrs.type === NFQA_CFG_FLAGS) {
        values.push(attrs.type, buf.readUInt32BE(attrs.payloadOffset));
      }
    }
  }
  assert.deepEqual(values, [0x10000, 2, NFQA_CFG_MASK, 7, NFQA_CFG_FLAGS, 5]);
});
