/**
 * The per-packet codec allocates nothing: 1M rounds of receive-side decoding (iterator + read) and
 * send-side encoding (verdicts with a mark, and with a rewritten payload copied from the receive
 * buffer sharing the send buffer's ArrayBuffer) run without garbage collections. Allocating even 16
 * bytes per call would fill the young generation several times over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeBatchVerdict, encodeVerdict } from '../../../src/datapath/nfqueue/encode.js';
import { NetlinkMessageIterator, PacketMessage } from '../../../src/datapath/nfqueue/decode.js';
import {
  AF_INET,
  NF_ACCEPT,
  NFQ_TYPE_PACKET,
  NFQA_IFINDEX_OUTDEV,
  NFQA_MARK,
  NFQA_PACKET_HDR,
  NFQA_PAYLOAD,
  NFQA_TIMESTAMP,
} from '../../../src/datapath/nfqueue/constants.js';
import { packetHdr, packetMessage, u32be } from './helpers.js';
import { collectionsDuring } from '../../support/gc.js';

test('encodeVerdict, NetlinkMessageIterator and PacketMessage.read cause no garbage collection over 1M rounds', async () => {
  const arena = new ArrayBuffer(1 << 16);
  const recv = Buffer.from(arena, 0, 1 << 15);
  const send = Buffer.from(arena, 1 << 15, 1 << 15);
  const parts = [0, 1, 2].map((i) =>
    packetMessage(3, AF_INET, [
      { type: NFQA_PACKET_HDR, value: packetHdr(100 + i, 0x0800, 4) },
      { type: NFQA_MARK, value: u32be(i) },
      { type: NFQA_TIMESTAMP, value: Buffer.alloc(16, 1) },
      { type: NFQA_IFINDEX_OUTDEV, value: u32be(2) },
      { type: NFQA_PAYLOAD, value: Buffer.alloc(1400 + i, 0x45) },
    ]),
  );
  const stream = Buffer.concat(parts);
  stream.copy(recv, 0);
  const it = new NetlinkMessageIterator();
  const p = new PacketMessage();
  let sink = 0;
  const run = (rounds: number) => {
    for (let r = 0; r < rounds; r++) {
      it.reset(recv, 0, stream.length);
      let off = 0;
      while (it.next()) {
        if (it.type !== NFQ_TYPE_PACKET || !p.read(recv, it.offset, it.length)) continue;
        sink += p.mark + p.outdev;
        if ((p.packetId & 1) === 0) off += encodeVerdict(send, off, r, 3, p.packetId, NF_ACCEPT, r & 0xff);
        else off += encodeVerdict(send, off, r, 3, p.packetId, NF_ACCEPT, -1, recv, p.payloadOffset, p.payloadLength);
      }
      off += encodeBatchVerdict(send, off, r, 3, 102, NF_ACCEPT);
      sink += off;
    }
  };
  run(100_000); // let the JIT settle before counting

  const collections = await collectionsDuring(() => run(1_000_000));
  assert.ok(sink > 0);
  assert.ok(collections <= 1, `${collections} collections`);
});
