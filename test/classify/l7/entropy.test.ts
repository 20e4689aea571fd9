import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entropyBits } from '../../../src/classify/l7/index.js';

test('entropy of a constant run is 0, of 256 distinct bytes 8, of two equally frequent values 1', () => {
  assert.equal(entropyBits(Buffer.alloc(1000), 0, 1000), 0);
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.ok(Math.abs(entropyBits(all, 0, 256) - 8) < 1e-9);
  const two = Buffer.from(Array.from({ length: 64 }, (_, i) => (i & 1 ? 0x41 : 0x42)));
  assert.ok(Math.abs(entropyBits(two, 0, 64) - 1) < 1e-9);
});

test('entropy reads only its range, keeps no counts between calls, and clamps to the buffer', () => {
  const buf = Buffer.alloc(600);
  for (let i = 0; i < 256; i++) buf[100 + i] = i;
  assert.ok(Math.abs(entropyBits(buf, 100, 256) - 8) < 1e-9);
  assert.equal(entropyBits(buf, 400, 200), 0); // zeros only: the earlier call left nothing behind
  assert.equal(entropyBits(buf, 0, 100), 0);
  assert.ok(Math.abs(entropyBits(buf, 100, 10_000) - entropyBits(buf, 100, 500)) < 1e-12);
  assert.equal(entropyBits(buf, 0, 0), 0);
  assert.equal(entropyBits(buf, 700, 10), 0);
});

test('text sits between a constant run and random bytes', () => {
  const text = Buffer.from('GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n');
  const h = entropyBits(text, 0, text.length);
  assert.ok(h > 3 && h < 5.5, `text entropy ${h}`);
});
