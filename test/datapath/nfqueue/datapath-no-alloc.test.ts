/**
 * The whole NFQUEUE datapath allocates nothing per packet (root, in a private network namespace):
 * 200k real packets through a kernel queue — received with recvmmsg, decoded, copied into held
 * slots, then accepted in order (the batch verdict), accepted out of order and dropped, in one send
 * per round — cause no garbage collection. 16 bytes per packet would fill the young generation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NfqueueDatapath, type PacketPlace } from '../../../src/datapath/nfqueue/datapath.js';
import { Direction } from '../../../src/datapath/types.js';
import { buildPacket } from '../../../src/packet/build.js';
import { Proto } from '../../../src/packet/types.js';
import { collectionsDuring } from '../../support/gc.js';
import { DST_ADDRESS, DST_PORT, enterPrivateNetns, Injector } from '../nfqueue-netns.js';

const QUEUE = 9;
const PER_ROUND = 64;
const PLACE: PacketPlace = { link: 0, direction: Direction.EGRESS };

test('receive, hold, accept in and out of order, drop and flush cause no garbage collection over 200k kernel packets', async () => {
  enterPrivateNetns(QUEUE);
  const dp = NfqueueDatapath.open({ queueNum: QUEUE, maxlenPackets: 1024, failOpen: false, classify: () => PLACE });
  const injector = new Injector();
  const packets = Array.from({ length: PER_ROUND }, (_, i) =>
    buildPacket({ ipVersion: 4, proto: Proto.UDP, src: '192.0.2.10', dst: DST_ADDRESS, sport: 2000 + i, dport: DST_PORT, payloadBytes: 200 }));
  const handles = new Uint32Array(PER_ROUND);
  let delivered = 0;
  const round = (): void => {
    injector.inject(packets);
    let got = 0;
    for (let spins = 0; got < PER_ROUND && spins < 1000; spins++) {
      const b = dp.receive(got === 0 ? 100_000 : 0);
      for (let i = 0; i < b.count; i++) handles[got++] = b.handles[i];
    }
    assert.equal(got, PER_ROUND);
    // The first half in order (one batch verdict), then the rest newest first with every 8th dropped.
    for (let i = 0; i < PER_ROUND / 2; i++) dp.accept(handles[i]);
    for (let i = PER_ROUND - 1; i >= PER_ROUND / 2; i--) {
      if (i % 8 === 0) dp.drop(handles[i]);
      else dp.accept(handles[i]);
    }
    dp.flush();
    delivered += got;
  };
  try {
    for (let r = 0; r < 300; r++) round();
    const collections = await collectionsDuring(() => {
      for (let r = 0; r < 200_000 / PER_ROUND; r++) round();
    });
    assert.equal(dp.heldCount, 0);
    assert.equal(dp.counters.kernelErrors, 0, 'the kernel took every verdict');
    assert.ok(dp.counters.batchVerdicts >= 3000, `${dp.counters.batchVerdicts} batch verdicts`);
    assert.ok(collections <= 1, `${collections} garbage collections over ${delivered} packets`);
  } finally {
    injector.close();
    dp.close();
  }
});
