/**
 * HeldPackets: the NFQUEUE datapath's store of held packets. Ids map to slots exactly through any
 * mix of holds and releases (checked against a Map, with ids chosen to collide in the table), bytes
 * are copied out (the source may be overwritten), long payloads get their own buffer, slots run out
 * cleanly, and a released slot is free again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeldPackets, SlotState } from '../../../src/datapath/nfqueue/held-packets.js';

function store(slots: number, slotBytes = 64): HeldPackets {
  return new HeldPackets(slots, slotBytes, Buffer.alloc(slots * slotBytes));
}

function bytesOf(h: HeldPackets, slot: number): Buffer {
  return h.buffers[slot].subarray(h.offsets[slot], h.offsets[slot] + h.lengthBytes[slot]);
}

describe('HeldPackets', () => {
  it('copies the packet bytes into the slot, so the source can be reused', () => {
    const h = store(4);
    const src = Buffer.from('xxhello packetyy');
    const slot = h.hold(77, src, 2, 12);
    assert.ok(slot >= 0);
    src.fill(0);
    assert.equal(bytesOf(h, slot).toString(), 'hello packet');
    assert.equal(h.find(77), slot);
    assert.equal(h.state[slot], SlotState.HELD);
    assert.equal(h.heldCount, 1);
    assert.ok(h.release(77));
    assert.equal(h.state[slot], SlotState.FREE);
    assert.equal(h.heldCount, 0);
  });

  it('gives a payload longer than a slot a buffer of its own, and the slot area back afterwards', () => {
    const h = store(2, 16);
    const big = Buffer.alloc(100, 7);
    const slot = h.hold(1, big, 0, 100);
    assert.equal(bytesOf(h, slot).length, 100);
    assert.ok(bytesOf(h, slot).equals(big));
    assert.ok(h.release(1));
    const again = h.hold(2, Buffer.from('small'), 0, 5);
    assert.equal(bytesOf(h, again).toString(), 'small');
  });

  it('refuses a hold when every slot is taken or the id is already held', () => {
    const h = store(2);
    const b = Buffer.alloc(4);
    assert.ok(h.hold(10, b, 0, 4) >= 0);
    assert.equal(h.hold(10, b, 0, 4), -1, 'same id twice');
    assert.ok(h.hold(11, b, 0, 4) >= 0);
    assert.equal(h.hold(12, b, 0, 4), -1, 'no free slot');
    assert.ok(h.release(10));
    assert.ok(h.hold(12, b, 0, 4) >= 0);
    assert.equal(h.release(10), false, 'released twice');
    assert.equal(h.release(999), false, 'never held');
  });

  it('maps ids to slots exactly through random holds and releases, with colliding and wrapping ids', () => {
    const slots = 64;
    const h = store(slots, 8);
    const ref = new Map<number, number>();
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
    const b = Buffer.alloc(8);
    // Ids collide in the 128-entry table (same low bits) and cross 2^32.
    const idAt = (k: number) => (0xffffff00 + (k % 7) * 128 + Math.floor(k / 7)) >>> 0;
    for (let step = 0; step < 20_000; step++) {
      const id = idAt(Math.floor(rand() * 400));
      if (rand() < 0.55 && ref.size < slots && !ref.has(id)) {
        b.writeUInt32LE(id, 0);
        const slot = h.hold(id, b, 0, 4);
        assert.ok(slot >= 0);
        ref.set(id, slot);
      } else {
        assert.equal(h.release(id), ref.delete(id));
      }
      if (step % 500 === 0) {
        for (const [k, slot] of ref) {
          assert.equal(h.find(k), slot);
          assert.equal(bytesOf(h, slot).readUInt32LE(0), k);
        }
        assert.equal(h.heldCount, ref.size);
      }
    }
    for (let k = 0; k < 400; k++) assert.equal(h.find(idAt(k)), ref.get(idAt(k)) ?? -1);
  });
});
