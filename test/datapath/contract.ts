/**
 * The contract every Datapath implementation passes (simulated, NFQUEUE, bridge...). An
 * implementation supplies a harness: a way to make packets arrive, to read the batches the engine
 * would receive, to let time pass, and to see what came out on the far side. The suite then checks
 * what the engine relies on: batches carry the packets' bytes with unique handles, each handle takes
 * exactly one verdict, an unknown or repeated verdict is ignored and counted (never thrown), accept
 * releases the bytes (or the new payload, or the bytes as rewritten in place), drop releases nothing,
 * and flush sends what was decided.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPacket } from '../../src/packet/build.js';
import { Proto } from '../../src/packet/types.js';
import type { Datapath } from '../../src/datapath/types.js';

export interface ReceivedPacket {
  handle: number;
  link: number;
  direction: number;
  arrivalUs: number;
  /** The packet's bytes, copied out. */
  bytes: Buffer;
  /** The packet's bytes where the datapath delivered them (not copied): valid until its verdict. */
  inPlace: Buffer;
}

export interface DatapathHarness {
  datapath: Datapath;
  /** Makes these IP packets arrive at the datapath (link 0, egress). */
  inject(packets: Buffer[]): Promise<void>;
  /** The packets of the next batch delivered (copied out); [] when none comes within a bounded wait. */
  nextBatch(): Promise<ReceivedPacket[]>;
  /** Lets at least `us` µs pass on the engine's clock, handling what happens meanwhile. */
  wait(us: number): Promise<void>;
  /** Packets that came out on the far side since the last call (bytes copied), after flushing. */
  released(): Promise<Buffer[]>;
  /** Verdicts the datapath ignored because it did not hold the handle. */
  unknownVerdicts(): number;
  close(): Promise<void>;
}

function packet(sport: number, payloadBytes = 100): Buffer {
  return buildPacket({ ipVersion: 4, proto: Proto.UDP, src: '192.0.2.10', dst: '198.51.100.20', sport, dport: 5000, payloadBytes });
}

async function receiveAll(h: DatapathHarness, n: number): Promise<ReceivedPacket[]> {
  const got: ReceivedPacket[] = [];
  for (let tries = 0; got.length < n && tries < 50; tries++) got.push(...(await h.nextBatch()));
  return got;
}

export function datapathContract(name: string, factory: () => Promise<DatapathHarness>): void {
  describe(`Datapath contract: ${name}`, () => {
    it('delivers injected packets in a batch with their bytes and unique handles', async () => {
      const h = await factory();
      try {
        const sent = [packet(1000), packet(1001), packet(1002, 700)];
        await h.inject(sent);
        const got = await receiveAll(h, 3);
        assert.equal(got.length, 3);
        assert.equal(new Set(got.map((p) => p.handle)).size, 3);
        const bytes = got.map((p) => p.bytes.toString('hex')).sort();
        assert.deepEqual(bytes, sent.map((b) => b.toString('hex')).sort());
      } finally {
        await h.close();
      }
    });

    it('releases accepted packets once, unchanged, and drops dropped ones', async () => {
      const h = await factory();
      try {
        const sent = [packet(2000), packet(2001), packet(2002)];
        await h.inject(sent);
        const got = await receiveAll(h, 3);
        const dropped = got.find((p) => p.bytes.equals(sent[1]));
        assert.ok(dropped);
        for (const p of got) {
          if (p === dropped) h.datapath.drop(p.handle);
          else h.datapath.accept(p.handle);
        }
        h.datapath.flush();
        const out = (await h.released()).map((b) => b.toString('hex')).sort();
        assert.deepEqual(out, [sent[0], sent[2]].map((b) => b.toString('hex')).sort());
        assert.deepEqual(await h.released(), [], 'nothing is released twice');
      } finally {
        await h.close();
      }
    });

    it('releases the bytes as the engine rewrote them in place when acceptRewritten is called', async () => {
      const h = await factory();
      try {
        await h.inject([packet(3100)]);
        const [p] = await receiveAll(h, 1);
        p.inPlace[1] = 46 << 2; // DSCP EF in the IPv4 TOS byte (checksum aside: the datapath does not check it)
        h.datapath.acceptRewritten(p.handle);
        h.datapath.flush();
        const out = await h.released();
        assert.equal(out.length, 1);
        assert.equal(out[0][1], 46 << 2);
        assert.equal(out[0].length, p.bytes.length);
      } finally {
        await h.close();
      }
    });

    it('releases the rewritten payload when accept is given one', async () => {
      const h = await factory();
      try {
        const original = packet(3000);
        await h.inject([original]);
        const [p] = await receiveAll(h, 1);
        const rewritten = buildPacket({
          ipVersion: 4, proto: Proto.UDP, src: '192.0.2.10', dst: '198.51.100.20', sport: 3000, dport: 5000, payloadBytes: 100, dscp: 46,
        });
        h.datapath.accept(p.handle, 0, rewritten);
        h.datapath.flush();
        const out = await h.released();
        assert.equal(out.length, 1);
        assert.ok(out[0].equals(rewritten));
      } finally {
        await h.close();
      }
    });

    it('ignores and counts a second verdict and a verdict for an unknown handle', async () => {
      const h = await factory();
      try {
        await h.inject([packet(4000)]);
        const [p] = await receiveAll(h, 1);
        h.datapath.accept(p.handle);
        const before = h.unknownVerdicts();
        assert.doesNotThrow(() => h.datapath.accept(p.handle));
        assert.doesNotThrow(() => h.datapath.drop(p.handle));
        assert.doesNotThrow(() => h.datapath.accept(0xfffffff0));
        h.datapath.flush();
        assert.equal(h.unknownVerdicts() - before, 3);
        assert.equal((await h.released()).length, 1);
      } finally {
        await h.close();
      }
    });

    it('never gives a held packet\'s handle to another packet', async () => {
      const h = await factory();
      try {
        const held = new Set<number>();
        for (let round = 0; round < 4; round++) {
          const batch: Buffer[] = [];
          for (let i = 0; i < 50; i++) batch.push(packet(10_000 + round * 100 + i));
          await h.inject(batch);
          const got = await receiveAll(h, 50);
          assert.equal(got.length, 50);
          for (const p of got) {
            assert.ok(!held.has(p.handle), `handle ${p.handle} reused while held`);
            held.add(p.handle);
          }
          // Release half of what is held; the rest stays held into the next round.
          let n = 0;
          for (const handle of [...held]) {
            if (n++ % 2 === 0) {
              h.datapath.accept(handle);
              held.delete(handle);
            }
          }
          h.datapath.flush();
          await h.wait(1000);
          await h.released();
        }
      } finally {
        await h.close();
      }
    });
  });
}
