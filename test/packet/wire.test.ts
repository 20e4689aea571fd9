/** wireBytes: overhead added, the minimum packet unit applied, never negative. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ETHERNET_MPU_BYTES, ETHERNET_OVERHEAD_BYTES, wireBytes } from '../../src/packet/wire.js';

test('no link accounting: wire bytes are IP bytes', () => {
  assert.equal(wireBytes(1500, 0, 0), 1500);
  assert.equal(wireBytes(40, 0, 0), 40);
});

test('Ethernet: a full-size packet costs 1538 bytes, a bare ACK the 84-byte minimum', () => {
  assert.equal(ETHERNET_OVERHEAD_BYTES, 38);
  assert.equal(ETHERNET_MPU_BYTES, 84);
  assert.equal(wireBytes(1500, ETHERNET_OVERHEAD_BYTES, ETHERNET_MPU_BYTES), 1538);
  assert.equal(wireBytes(40, ETHERNET_OVERHEAD_BYTES, ETHERNET_MPU_BYTES), 84);
  // Exactly at the boundary: 46 + 38 = 84, 47 + 38 = 85.
  assert.equal(wireBytes(46, ETHERNET_OVERHEAD_BYTES, ETHERNET_MPU_BYTES), 84);
  assert.equal(wireBytes(47, ETHERNET_OVERHEAD_BYTES, ETHERNET_MPU_BYTES), 85);
});

test('mpu applies to the framed length, not the IP length', () => {
  assert.equal(wireBytes(60, 10, 64), 70);
  assert.equal(wireBytes(50, 10, 64), 64);
});

test('a negative overhead subtracts, and the result is never below 0', () => {
  assert.equal(wireBytes(100, -14, 0), 86);
  assert.equal(wireBytes(10, -64, 0), 0);
  assert.equal(wireBytes(10, -64, 20), 20);
});
