/**
 * The per-packet functions allocate nothing: 5M calls run without garbage collections. Allocating even
 * 16 bytes per call would fill the young generation (a few MB to 16 MB) several times over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePacket } from '../../src/packet/parse.js';
import { setDscp, setEcnCE } from '../../src/packet/rewrite.js';
import { wireBytes } from '../../src/packet/wire.js';
import { buildPacket } from '../../src/packet/build.js';
import { PacketInfo, Proto } from '../../src/packet/types.js';
import { ipv6WithChain } from './helpers.js';
import { collectionsDuring } from '../support/gc.js';

test('parsePacket, setDscp, setEcnCE and wireBytes cause no garbage collection over 5M packets', async () => {
  const bufs = [
    buildPacket({ ipVersion: 4, src: '10.0.0.1', dst: '10.0.0.2', proto: Proto.TCP, sport: 1, ecn: 2 }),
    buildPacket({ ipVersion: 6, src: '::1', dst: '::2', proto: Proto.UDP, sport: 2, payloadBytes: 10, ecn: 1 }),
    ipv6WithChain([{ type: 0, bytes: 8 }, { type: 44, bytes: 8, fragOffsetBytes: 16 }], Proto.TCP, Buffer.alloc(8)),
    Buffer.from([0x45, 0, 0, 9]),
  ];
  const info = new PacketInfo();
  let sink = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const b = bufs[i & 3];
      if (parsePacket(b, 0, b.length, info)) sink += info.sport + wireBytes(info.ipBytes, 38, 84);
      setDscp(b, 0, i & 63);
      if (setEcnCE(b, 0)) sink++;
    }
  };
  run(200_000); // let the JIT settle before counting

  const collections = await collectionsDuring(() => run(5_000_000));
  assert.ok(sink > 0);
  assert.ok(collections <= 1, `${collections} collections`);
});
