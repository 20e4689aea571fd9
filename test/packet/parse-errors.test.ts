/** Every Unparsable reason, each triggered by a crafted packet, v4 and v6 where both apply. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePacket } from '../../src/packet/parse.js';
import { PacketInfo, Proto, UNPARSABLE_REASONS, Unparsable } from '../../src/packet/types.js';
import { buildPacket } from '../../src/packet/build.js';
import { hex, ipv6WithChain } from './helpers.js';

function reason(buf: Buffer, offset = 0, length = buf.length - offset): Unparsable {
  const info = new PacketInfo();
  const ok = parsePacket(buf, offset, length, info);
  assert.equal(ok, info.error === Unparsable.OK);
  return info.error;
}

const V4_TCP = buildPacket({ ipVersion: 4, src: '10.0.0.1', dst: '10.0.0.2', proto: Proto.TCP, sport: 1, dport: 2 });
const V4_UDP = buildPacket({ ipVersion: 4, src: '10.0.0.1', dst: '10.0.0.2', proto: Proto.UDP, payloadBytes: 4 });
const V6_UDP = buildPacket({ ipVersion: 6, src: '::1', dst: '::2', proto: Proto.UDP, payloadBytes: 4 });

test('every reason has a name', () => {
  assert.equal(UNPARSABLE_REASONS.length, Unparsable.BAD_UDP_LENGTH + 1);
});

test('TRUNCATED_IP: nothing there, or shorter than the fixed header', () => {
  assert.equal(reason(Buffer.alloc(0)), Unparsable.TRUNCATED_IP);
  assert.equal(reason(V4_TCP, 0, 0), Unparsable.TRUNCATED_IP);
  assert.equal(reason(V4_TCP, 0, 19), Unparsable.TRUNCATED_IP);
  assert.equal(reason(V6_UDP, 0, 39), Unparsable.TRUNCATED_IP);
  assert.equal(reason(V4_TCP, V4_TCP.length, 10), Unparsable.TRUNCATED_IP, 'offset at the end');
  assert.equal(reason(V4_TCP, V4_TCP.length + 5, 10), Unparsable.TRUNCATED_IP, 'offset past the end');
  assert.equal(reason(V4_TCP, -1, 40), Unparsable.TRUNCATED_IP, 'negative offset');
  assert.equal(reason(V4_TCP, Number.NaN, 40), Unparsable.TRUNCATED_IP);
  assert.equal(reason(V4_TCP, 0, Number.NaN), Unparsable.TRUNCATED_IP);
  assert.equal(reason(V4_TCP, 0, -3), Unparsable.TRUNCATED_IP);
  // A length pointing past the buffer is clipped to the buffer: the real bytes decide.
  assert.equal(reason(V4_TCP.subarray(0, 30), 0, 1000), Unparsable.BAD_TOTAL_LENGTH);
  assert.equal(reason(V4_TCP, 0, 1000), Unparsable.OK);
});

test('BAD_VERSION: neither 4 nor 6', () => {
  for (const nibble of [0, 1, 5, 7, 15]) {
    const b = Buffer.from(V4_TCP);
    b[0] = (nibble << 4) | 5;
    assert.equal(reason(b), Unparsable.BAD_VERSION, `version ${nibble}`);
  }
});

test('BAD_IHL: IHL below 5, or a header longer than the bytes given', () => {
  const low = Buffer.from(V4_TCP);
  low[0] = 0x44;
  assert.equal(reason(low), Unparsable.BAD_IHL);
  const zero = Buffer.from(V4_TCP);
  zero[0] = 0x40;
  assert.equal(reason(zero), Unparsable.BAD_IHL);
  const long = Buffer.from(V4_TCP); // 40 bytes; IHL 15 asks for 60
  long[0] = 0x4f;
  assert.equal(reason(long), Unparsable.BAD_IHL);
});

test('BAD_TOTAL_LENGTH: smaller than the header, or past the bytes given (v4 and v6)', () => {
  const small = Buffer.from(V4_TCP);
  small.writeUInt16BE(19, 2);
  assert.equal(reason(small), Unparsable.BAD_TOTAL_LENGTH);
  const belowOptions = hex('46 00 0016 0000 0000 40 11 0000 0a000001 0a000002 01010101 0000');
  assert.equal(reason(belowOptions), Unparsable.BAD_TOTAL_LENGTH, 'total length inside the options');
  const big = Buffer.from(V4_TCP);
  big.writeUInt16BE(41, 2);
  assert.equal(reason(big), Unparsable.BAD_TOTAL_LENGTH);
  assert.equal(reason(V4_TCP, 0, 39), Unparsable.BAD_TOTAL_LENGTH, 'caller length shorter than the IP length');
  const v6 = Buffer.from(V6_UDP);
  v6.writeUInt16BE(13, 4);
  assert.equal(reason(v6), Unparsable.BAD_TOTAL_LENGTH);
  assert.equal(reason(V6_UDP, 0, V6_UDP.length - 1), Unparsable.BAD_TOTAL_LENGTH);
});

test('TRUNCATED_EXT_HEADER: an extension header running past the packet', () => {
  const lenPastEnd = ipv6WithChain([{ type: 0, bytes: 8 }], Proto.UDP, hex('0035 0035 0008 0000'));
  lenPastEnd[41] = 2; // claims 24 bytes; 16 remain (8 of its own and the 8-byte UDP header)
  assert.equal(reason(lenPastEnd), Unparsable.TRUNCATED_EXT_HEADER);
  // Fewer than the 8 bytes every extension header has.
  const stub = ipv6WithChain([], 60, Buffer.alloc(4));
  assert.equal(reason(stub), Unparsable.TRUNCATED_EXT_HEADER);
  const noRoom = ipv6WithChain([], 44, Buffer.alloc(0));
  assert.equal(reason(noRoom), Unparsable.TRUNCATED_EXT_HEADER);
  const ah = ipv6WithChain([{ type: 51, bytes: 12 }], 59, Buffer.alloc(0));
  ah[41] = 4; // (4 + 2) * 4 = 24 bytes claimed, 12 present
  assert.equal(reason(ah), Unparsable.TRUNCATED_EXT_HEADER);
});

test('TOO_MANY_EXT_HEADERS: an endless-looking chain is cut off', () => {
  const chain = Array.from({ length: 40 }, () => ({ type: 0, bytes: 8 }));
  assert.equal(reason(ipv6WithChain(chain, Proto.TCP, Buffer.alloc(20))), Unparsable.TOO_MANY_EXT_HEADERS);
});

test('TRUNCATED_L4: TCP, UDP, ICMP, ICMPv6 headers cut short (also in a first fragment)', () => {
  const tcp = hex('45 00 0027 0000 0000 40 06 0000 0a000001 0a000002' + '00'.repeat(19));
  assert.equal(reason(tcp), Unparsable.TRUNCATED_L4);
  const firstFragment = Buffer.from(tcp);
  firstFragment.writeUInt16BE(0x2000, 6);
  assert.equal(reason(firstFragment), Unparsable.TRUNCATED_L4);
  const udp = hex('45 00 001b 0000 0000 40 11 0000 0a000001 0a000002 00350035000800');
  assert.equal(reason(udp), Unparsable.TRUNCATED_L4);
  const icmp = hex('45 00 001b 0000 0000 40 01 0000 0a000001 0a000002 08000000000000');
  assert.equal(reason(icmp), Unparsable.TRUNCATED_L4);
  assert.equal(reason(ipv6WithChain([], Proto.ICMPV6, hex('80000000'))), Unparsable.TRUNCATED_L4);
  assert.equal(reason(ipv6WithChain([{ type: 60, bytes: 8 }], Proto.TCP, Buffer.alloc(12))), Unparsable.TRUNCATED_L4);
});

test('BAD_TCP_OFFSET: data offset below 5 or beyond the packet', () => {
  for (const dataOffset of [0, 4, 6, 15]) {
    const b = Buffer.from(V4_TCP); // 20-byte TCP header, no payload: 6 and up point past the end
    b[32] = dataOffset << 4;
    assert.equal(reason(b), Unparsable.BAD_TCP_OFFSET, `data offset ${dataOffset}`);
  }
  const v6 = buildPacket({ ipVersion: 6, src: '::1', dst: '::2', proto: Proto.TCP, payloadBytes: 4 });
  v6[52] = 7 << 4; // 28 bytes, 24 present
  assert.equal(reason(v6), Unparsable.BAD_TCP_OFFSET);
  v6[52] = 6 << 4; // 24 bytes: fits exactly
  assert.equal(reason(v6), Unparsable.OK);
});

test('BAD_UDP_LENGTH: below 8, or past the packet', () => {
  for (const udpBytes of [0, 7, 13]) {
    const b = Buffer.from(V4_UDP); // 8 + 4 bytes of UDP
    b.writeUInt16BE(udpBytes, 24);
    assert.equal(reason(b), Unparsable.BAD_UDP_LENGTH, `UDP length ${udpBytes}`);
  }
  const shorter = Buffer.from(V4_UDP);
  shorter.writeUInt16BE(10, 24);
  assert.equal(reason(shorter), Unparsable.OK, 'a UDP length inside the packet is fine');
  const v6 = Buffer.from(V6_UDP);
  v6.writeUInt16BE(100, 44);
  assert.equal(reason(v6), Unparsable.BAD_UDP_LENGTH);
});

test('after a transport error the IP fields stay filled for length accounting', () => {
  const b = Buffer.from(V4_TCP);
  b[32] = 0x30;
  const info = new PacketInfo();
  assert.equal(parsePacket(b, 0, b.length, info), false);
  assert.equal(info.error, Unparsable.BAD_TCP_OFFSET);
  assert.equal(info.ipVersion, 4);
  assert.equal(info.ipBytes, 40);
  assert.equal(info.proto, Proto.TCP);
  assert.equal(info.hasL4, false);
  assert.equal(info.sport, 0);
});
