/**
 * Fuzz-style robustness: random bytes, every truncation of valid packets and random corruptions of
 * them never throw, and every result is either a reason or a parse whose fields lie inside the packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePacket } from '../../src/packet/parse.js';
import { PacketInfo, Proto, Unparsable } from '../../src/packet/types.js';
import { buildPacket, PacketSpec } from '../../src/packet/build.js';
import { ipv6WithChain } from './helpers.js';
import { rng } from '../support/rng.js';

const NUMERIC_FIELDS = [
  'ipOffset', 'error', 'ipVersion', 'ipHeaderBytes', 'ipBytes', 'proto', 'srcOffset', 'dstOffset', 'sport',
  'dport', 'fragOffsetBytes', 'l4Offset', 'tcpFlags', 'tcpHeaderBytes', 'payloadOffset', 'payloadBytes',
  'icmpType', 'icmpCode', 'dscp', 'ecn', 'ttl',
] as const;

/** Asserts what must hold after any parse; returns the result. */
function parseChecked(buf: Buffer, offset: number, length: number, info: PacketInfo): boolean {
  const ok = parsePacket(buf, offset, length, info);
  assert.equal(ok, info.error === Unparsable.OK);
  assert.ok(info.error >= Unparsable.OK && info.error <= Unparsable.BAD_UDP_LENGTH);
  assert.equal(info.buf, buf);
  for (const f of NUMERIC_FIELDS) {
    if (!Number.isInteger(info[f]) && !(f === 'ipOffset' && Number.isNaN(offset))) {
      assert.fail(`${f} = ${info[f]}`);
    }
  }
  if (!info.hasL4) {
    assert.equal(info.sport, 0);
    assert.equal(info.dport, 0);
    assert.equal(info.tcpFlags, 0);
    assert.equal(info.icmpType, 0);
  }
  if (!ok) {
    assert.equal(info.hasL4, false);
    return false;
  }
  const avail = Math.min(length, buf.length - offset);
  const end = offset + info.ipBytes;
  const addrBytes = info.ipVersion === 4 ? 4 : 16;
  assert.ok(info.ipVersion === 4 || info.ipVersion === 6);
  assert.ok(info.ipBytes <= avail, 'IP length within the bytes given');
  assert.ok(info.ipHeaderBytes >= (info.ipVersion === 4 ? 20 : 40) && info.ipHeaderBytes <= info.ipBytes);
  assert.ok(info.srcOffset >= offset && info.srcOffset + addrBytes <= end);
  assert.ok(info.dstOffset >= offset && info.dstOffset + addrBytes <= end);
  assert.equal(info.l4Offset, offset + info.ipHeaderBytes);
  assert.ok(info.payloadOffset >= info.l4Offset);
  assert.ok(info.payloadBytes >= 0 && info.payloadOffset + info.payloadBytes <= end, 'payload inside the packet');
  assert.ok(info.dscp < 64 && info.ecn < 4 && info.ttl < 256 && info.sport < 65536 && info.dport < 65536);
  if (info.fragOffsetBytes > 0) {
    assert.equal(info.isFragment, true);
    assert.equal(info.hasL4, false);
  }
  if (info.hasL4) {
    assert.ok([Proto.TCP, Proto.UDP, Proto.ICMP, Proto.ICMPV6].includes(info.proto));
    const headerBytes = info.proto === Proto.TCP ? info.tcpHeaderBytes : 8;
    assert.equal(info.payloadOffset, info.l4Offset + headerBytes);
  }
  return true;
}

const SPECS: PacketSpec[] = [];
for (const ipVersion of [4, 6] as const) {
  const src = ipVersion === 4 ? '192.0.2.1' : '2001:db8::1';
  const dst = ipVersion === 4 ? '198.51.100.7' : '2001:db8:ffff::77';
  for (const proto of [Proto.TCP, Proto.UDP, ipVersion === 4 ? Proto.ICMP : Proto.ICMPV6, 47]) {
    for (const payloadBytes of [0, 1, 33]) {
      SPECS.push({ ipVersion, src, dst, proto, sport: 40000, dport: 443, payloadBytes, dscp: 10, ecn: 2 });
    }
  }
}
const VALID: Buffer[] = SPECS.map((s) => buildPacket(s));
VALID.push(
  ipv6WithChain([{ type: 0, bytes: 8 }, { type: 43, bytes: 24 }, { type: 51, bytes: 16 }], Proto.TCP, Buffer.alloc(24, 0x50)),
  ipv6WithChain([{ type: 60, bytes: 16 }, { type: 44, bytes: 8, fragOffsetBytes: 0, more: true }], Proto.UDP, Buffer.from('0001000200200000', 'hex')),
  ipv6WithChain([{ type: 44, bytes: 8, fragOffsetBytes: 64 }], Proto.TCP, Buffer.alloc(10)),
);

test('200k random buffers of 0..200 bytes: never throw, result is a reason or an in-bounds parse', () => {
  const random = rng(1);
  const info = new PacketInfo();
  const pool = Buffer.alloc(512);
  let parsedOk = 0;
  for (let i = 0; i < 200_000; i++) {
    const len = Math.floor(random() * 201);
    const offset = Math.floor(random() * 64);
    for (let j = 0; j < len; j++) pool[offset + j] = Math.floor(random() * 256);
    // Half the time make the version plausible so the deeper paths are reached.
    if (len > 0 && random() < 0.5) pool[offset] = (random() < 0.5 ? 0x40 : 0x60) | (pool[offset] & 0x0f);
    if (len > 3 && random() < 0.5) pool.writeUInt16BE(Math.floor(random() * (len + 1)), offset + 2);
    if (len > 5 && random() < 0.5) pool.writeUInt16BE(Math.max(0, Math.floor(random() * (len - 39))), offset + 4);
    const buf = pool.subarray(0, offset + len);
    // The caller's length is usually right, sometimes past the buffer, sometimes short.
    const r = random();
    const length = r < 0.8 ? len : r < 0.9 ? len + Math.floor(random() * 1000) : Math.floor(random() * (len + 1));
    if (parseChecked(buf, offset, length, info)) parsedOk++;
  }
  assert.ok(parsedOk > 1000, `some random buffers parse (${parsedOk}) so the OK invariants were exercised`);
});

test('every truncation of valid v4/v6 TCP/UDP/ICMP packets: never throws; only the full length parses', () => {
  const info = new PacketInfo();
  for (const pkt of VALID) {
    assert.equal(parseChecked(pkt, 0, pkt.length, info), true, pkt.toString('hex'));
    for (let len = 0; len < pkt.length; len++) {
      assert.equal(parseChecked(pkt.subarray(0, len), 0, len, info), false);
      assert.equal(parseChecked(pkt, 0, len, info), false);
      const expected = len < (pkt[0] >> 4 === 4 ? 20 : 40) ? Unparsable.TRUNCATED_IP : Unparsable.BAD_TOTAL_LENGTH;
      assert.equal(info.error, expected);
    }
  }
});

test('valid packets whose IP length is shrunk to every value: never throw, stay in bounds', () => {
  const info = new PacketInfo();
  let reasons = 0;
  for (const pkt of VALID) {
    const b = Buffer.from(pkt);
    const v4 = b[0] >> 4 === 4;
    for (let ipBytes = 0; ipBytes <= pkt.length; ipBytes++) {
      if (v4) b.writeUInt16BE(ipBytes, 2);
      else b.writeUInt16BE(Math.max(0, ipBytes - 40), 4);
      if (!parseChecked(b, 0, b.length, info)) reasons |= 1 << info.error;
    }
  }
  for (const r of [Unparsable.BAD_TOTAL_LENGTH, Unparsable.TRUNCATED_L4, Unparsable.BAD_UDP_LENGTH, Unparsable.TRUNCATED_EXT_HEADER]) {
    assert.ok(reasons & (1 << r), `reason ${r} reached`);
  }
});

test('100k random corruptions of valid packets: never throw, stay in bounds', () => {
  const random = rng(7);
  const info = new PacketInfo();
  for (let i = 0; i < 100_000; i++) {
    const pkt = VALID[i % VALID.length];
    const b = Buffer.from(pkt);
    const flips = 1 + Math.floor(random() * 4);
    for (let k = 0; k < flips; k++) b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
    parseChecked(b, 0, b.length, info);
  }
});
