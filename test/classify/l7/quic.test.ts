import { test } from 'node:test';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import assert from 'node:assert/strict';
import { detect, L7Result, L7Verdict } from '../../../src/classify/l7/index.js';
import { clientInitialKeys } from '../../../src/classify/l7/quic-initial.js';
import { RFC9001_CLIENT_HP, RFC9001_CLIENT_INITIAL, RFC9001_CLIENT_IV, RFC9001_CLIENT_KEY, RFC9001_DCID } from './rfc9001.js';

const out = new L7Result();

test('client Initial keys match RFC 9001 appendix A.1', () => {
  const keys = clientInitialKeys(RFC9001_DCID);
  assert.equal(keys.key.toString('hex'), RFC9001_CLIENT_KEY);
  assert.equal(keys.iv.toString('hex'), RFC9001_CLIENT_IV);
  assert.equal(keys.hp.toString('hex'), RFC9001_CLIENT_HP);
});

test('the RFC 9001 A.2 client Initial is quic with server name example.com, and is left unmodified', () => {
  assert.equal(RFC9001_CLIENT_INITIAL.length, 1200);
  const buf = Buffer.alloc(1200 + 11, 0x33);
  RFC9001_CLIENT_INITIAL.copy(buf, 7);
  const before = Buffer.from(buf);
  assert.equal(detect(buf, 7, 1200, 17, true, out), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'quic');
  assert.equal(out.host, 'example.com');
  assert.ok(buf.equals(before), 'detect must not write into the payload');
});

test('the same packet from the responder, tampered or cut short is quic without host', () => {
  assert.equal(detect(RFC9001_CLIENT_INITIAL, 0, 1200, 17, false, out), L7Verdict.DECIDED);
  assert.deepEqual([out.protocol, out.host], ['quic', '']);
  const tampered = Buffer.from(RFC9001_CLIENT_INITIAL);
  tampered[600] ^= 0x01;
  assert.equal(detect(tampered, 0, 1200, 17, true, out), L7Verdict.DECIDED);
  assert.deepEqual([out.protocol, out.host], ['quic', '']);
  assert.equal(detect(RFC9001_CLIENT_INITIAL, 0, 1100, 17, true, out), L7Verdict.DECIDED);
  assert.deepEqual([out.protocol, out.host], ['quic', '']);
});

test('other long headers of known versions are quic; unknown versions and short headers are not', () => {
  const v2 = Buffer.from(RFC9001_CLIENT_INITIAL);
  v2.writeUInt32BE(0x6b3343cf, 1);
  assert.equal(detect(v2, 0, 1200, 17, true, out), L7Verdict.DECIDED);
  assert.deepEqual([out.protocol, out.host], ['quic', '']);
  const vn = Buffer.from([0x80 | 0x2a, 0, 0, 0, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0, 1, 0x6b, 0x33, 0x43, 0xcf]);
  assert.equal(detect(vn, 0, vn.length, 17, false, out), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'quic');
  const unknown = Buffer.from(RFC9001_CLIENT_INITIAL);
  unknown.writeUInt32BE(0x12345678, 1);
  assert.equal(detect(unknown, 0, 1200, 17, true, out), L7Verdict.UNKNOWN);
  const short = Buffer.from(RFC9001_CLIENT_INITIAL);
  short[0] = 0x43;
  detect(short, 0, 1200, 17, true, out);
  assert.notEqual(out.protocol, 'quic');
});

/**
 * Re-seals the RFC 9001 A.2 packet with its CRYPTO frame replaced by `frames(clientHello)`, using the
 * appendix's keys directly (not the detector's derivation): unprotect and open as the RFC describes,
 * swap the frames, pad to the same size, seal and protect again.
 */
function resealed(frames: (hello: Buffer) => Buffer): Buffer {
  const key = Buffer.from(RFC9001_CLIENT_KEY, 'hex');
  const iv = Buffer.from(RFC9001_CLIENT_IV, 'hex');
  const hp = Buffer.from(RFC9001_CLIENT_HP, 'hex');
  const pkt = Buffer.from(RFC9001_CLIENT_INITIAL);
  const PN_OFFSET = 18;
  const mask = (p: Buffer): Buffer =>
    createCipheriv('aes-128-ecb', hp, null)
      .setAutoPadding(false)
      .update(p.subarray(PN_OFFSET + 4, PN_OFFSET + 20));
  let m = mask(pkt);
  pkt[0] ^= m[0] & 0x0f;
  const pnLen = (pkt[0] & 3) + 1;
  for (let i = 0; i < pnLen; i++) pkt[PN_OFFSET + i] ^= m[1 + i];
  const headerLen = PN_OFFSET + pnLen;
  const nonce = Buffer.from(iv);
  for (let i = 0; i < pnLen; i++) nonce[12 - pnLen + i] ^= pkt[PN_OFFSET + i];
  const d = createDecipheriv('aes-128-gcm', key, nonce);
  d.setAAD(pkt.subarray(0, headerLen));
  d.setAuthTag(pkt.subarray(1200 - 16));
  const plain = Buffer.concat([d.update(pkt.subarray(headerLen, 1200 - 16)), d.final()]);
  // The plaintext opens with CRYPTO(offset 0, 2-byte length) carrying the ClientHello.
  assert.equal(plain[0], 0x06);
  const helloLen = plain.readUInt16BE(2) & 0x3fff;
  const hello = plain.subarray(4, 4 + helloLen);
  const body = Buffer.alloc(plain.length); // zero bytes are PADDING frames
  frames(hello).copy(body);
  const c = createCipheriv('aes-128-gcm', key, nonce);
  c.setAAD(pkt.subarray(0, headerLen));
  Buffer.concat([c.update(body), c.final(), c.getAuthTag()]).copy(pkt, headerLen);
  m = mask(pkt);
  pkt[0] ^= m[0] & 0x0f;
  for (let i = 0; i < pnLen; i++) pkt[PN_OFFSET + i] ^= m[1 + i];
  return pkt;
}

function cryptoFrame(streamOffset: number, data: Buffer): Buffer {
  const varint2 = (n: number): number[] => [0x40 | (n >> 8), n & 0xff];
  return Buffer.concat([Buffer.from([0x06, ...varint2(streamOffset), ...varint2(data.length)]), data]);
}

test('CRYPTO frames out of order (as Chrome sends them) are reassembled: the host is found', () => {
  const pkt = resealed((hello) =>
    Buffer.concat([
      Buffer.from([0x01]), // PING
      cryptoFrame(100, hello.subarray(100)),
      Buffer.from([0, 0, 0x01]), // PADDING, PADDING, PING
      cryptoFrame(0, hello.subarray(0, 100)),
    ]),
  );
  assert.equal(detect(pkt, 0, pkt.length, 17, true, out), L7Verdict.DECIDED);
  assert.deepEqual([out.protocol, out.host], ['quic', 'example.com']);
});

test('an Initial holding only the later part of the ClientHello is quic without host', () => {
  const pkt = resealed((hello) => cryptoFrame(100, hello.subarray(100)));
  assert.equal(detect(pkt, 0, pkt.length, 17, true, out), L7Verdict.DECIDED);
  assert.deepEqual([out.protocol, out.host], ['quic', '']);
});
