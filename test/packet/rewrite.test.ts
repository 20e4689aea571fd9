/** setEcnCE and setDscp: the right bits change, nothing else does, and the IPv4 checksum stays valid. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ECN_CE, ECN_ECT0, ECN_ECT1, ECN_NOT_ECT, setDscp, setEcnCE } from '../../src/packet/rewrite.js';
import { buildPacket } from '../../src/packet/build.js';
import { parsePacket } from '../../src/packet/parse.js';
import { PacketInfo, Proto } from '../../src/packet/types.js';
import { ipv4ChecksumFromScratch, ipv4ChecksumValid } from './helpers.js';
import { rng } from '../support/rng.js';

function v4(ecn: number, dscp = 0, offset = 0): Buffer {
  const spec = { ipVersion: 4 as const, src: '10.1.2.3', dst: '172.16.9.8', proto: Proto.TCP, sport: 5, dport: 6, ecn, dscp };
  return buildPacket(spec, Buffer.alloc(offset + 40 + 7, 0xcc), offset);
}
function v6(ecn: number, dscp = 0): Buffer {
  const b = buildPacket({ ipVersion: 6, src: 'fe80::1', dst: 'ff02::1', proto: Proto.UDP, ecn, dscp });
  b.writeUInt32BE(0x60000000 | (((dscp << 2) | ecn) << 20) | 0xabcde, 0); // with a flow label
  return b;
}
function fields(buf: Buffer, offset = 0): PacketInfo {
  const info = new PacketInfo();
  assert.equal(parsePacket(buf, offset, buf.length - offset, info), true);
  return info;
}
/** Indexes of the bytes that differ. */
function changed(a: Buffer, b: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

test('IPv4 ECT(0) and ECT(1) become CE; DSCP kept; checksum valid and equal to a fresh one', () => {
  for (const ecn of [ECN_ECT0, ECN_ECT1]) {
    const b = v4(ecn, 26, 5);
    const before = Buffer.from(b);
    assert.equal(setEcnCE(b, 5), true);
    const info = fields(b, 5);
    assert.equal(info.ecn, ECN_CE);
    assert.equal(info.dscp, 26);
    assert.ok(ipv4ChecksumValid(b, 5));
    assert.equal(b.readUInt16BE(5 + 10), ipv4ChecksumFromScratch(b, 5));
    assert.deepEqual(changed(before, b).filter((i) => i !== 6 && i !== 15 && i !== 16), [], 'only TOS and checksum');
  }
});

test('IPv4 Not-ECT is refused and left untouched; CE stays CE and counts as marked', () => {
  const notEct = v4(ECN_NOT_ECT, 10);
  const copy = Buffer.from(notEct);
  assert.equal(setEcnCE(notEct, 0), false);
  assert.deepEqual(notEct, copy);

  const ce = v4(ECN_CE, 10);
  const ceCopy = Buffer.from(ce);
  assert.equal(setEcnCE(ce, 0), true);
  assert.deepEqual(ce, ceCopy);
});

test('IPv6 ECN-capable becomes CE without touching DSCP or the flow label; Not-ECT refused', () => {
  for (const ecn of [ECN_ECT0, ECN_ECT1, ECN_CE]) {
    const b = v6(ecn, 46);
    const before = Buffer.from(b);
    assert.equal(setEcnCE(b, 0), true);
    const info = fields(b);
    assert.equal(info.ecn, ECN_CE);
    assert.equal(info.dscp, 46);
    assert.equal(b.readUInt32BE(0) & 0xfffff, 0xabcde);
    assert.deepEqual(changed(before, b).filter((i) => i !== 1), []);
  }
  const notEct = v6(ECN_NOT_ECT, 46);
  const copy = Buffer.from(notEct);
  assert.equal(setEcnCE(notEct, 0), false);
  assert.deepEqual(notEct, copy);
});

test('setEcnCE and setDscp leave anything that is not IPv4 or IPv6 alone', () => {
  const b = v4(ECN_ECT0, 3);
  b[0] = 0x55;
  const copy = Buffer.from(b);
  assert.equal(setEcnCE(b, 0), false);
  setDscp(b, 0, 46);
  assert.deepEqual(b, copy);
});

test('setDscp on IPv4 keeps ECN, masks to 6 bits, keeps the checksum valid', () => {
  for (const ecn of [0, 1, 2, 3]) {
    const b = v4(ecn, 0);
    setDscp(b, 0, 46);
    const info = fields(b);
    assert.equal(info.dscp, 46);
    assert.equal(info.ecn, ecn);
    assert.ok(ipv4ChecksumValid(b, 0));
    assert.equal(b.readUInt16BE(10), ipv4ChecksumFromScratch(b, 0));
  }
  const b = v4(1, 8);
  setDscp(b, 0, 0x40 | 12);
  assert.equal(fields(b).dscp, 12);
  assert.equal(fields(b).ecn, 1);
});

test('setDscp on IPv6 keeps ECN, version and flow label', () => {
  for (const dscp of [0, 1, 2, 3, 10, 46, 63]) {
    const b = v6(ECN_ECT1, 63 - dscp);
    setDscp(b, 0, dscp);
    const info = fields(b);
    assert.equal(info.dscp, dscp);
    assert.equal(info.ecn, ECN_ECT1);
    assert.equal(b[0] >> 4, 6);
    assert.equal(b.readUInt32BE(0) & 0xfffff, 0xabcde);
  }
});

test('20k random IPv4 headers: every rewrite leaves a checksum equal to one computed from scratch', () => {
  const random = rng(42);
  const b = Buffer.alloc(60);
  for (let i = 0; i < 20_000; i++) {
    const headerBytes = 20 + 4 * Math.floor(random() * 11);
    for (let j = 0; j < headerBytes; j++) b[j] = Math.floor(random() * 256);
    b[0] = 0x40 | (headerBytes / 4);
    b.writeUInt16BE(ipv4ChecksumFromScratch(b, 0), 10);
    if (random() < 0.5) {
      const ecn = b[1] & 3;
      assert.equal(setEcnCE(b, 0), ecn !== ECN_NOT_ECT);
      assert.equal(b[1] & 3, ecn === ECN_NOT_ECT ? ECN_NOT_ECT : ECN_CE);
    } else {
      setDscp(b, 0, Math.floor(random() * 64));
    }
    assert.equal(b.readUInt16BE(10), ipv4ChecksumFromScratch(b, 0), `header ${b.toString('hex', 0, headerBytes)}`);
  }
});
