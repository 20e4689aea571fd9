/** IPv4 parsing: hand-assembled TCP, UDP and ICMP packets, options, padding, fragments, field resets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePacket } from '../../src/packet/parse.js';
import { PacketInfo, Proto, TcpFlag, Unparsable } from '../../src/packet/types.js';
import { hex } from './helpers.js';

// 192.168.0.1:54321 -> 192.168.0.199:80, TOS 0xb9 (DSCP 46 EF, ECN ECT(1)), TTL 61, SYN with 12 bytes of options.
const TCP_SYN = hex(`
  45 b9 0034 1c46 4000 3d 06 0000 c0a80001 c0a800c7
  d431 0050 00000001 00000000 80 02 faf0 0000 0000 020405b4 01030307 01010402`);

// 10.0.0.1:5353 -> 224.0.0.251:5353, 5 bytes of payload, TTL 255.
const UDP_5 = hex(`
  45 00 0021 0000 0000 ff 11 0000 0a000001 e00000fb
  14e9 14e9 000d 0000 68656c6c6f`);

// Echo reply, 10.0.0.2 -> 10.0.0.1, 4 bytes of data.
const ICMP_ECHO_REPLY = hex(`
  45 00 0020 0000 0000 40 01 0000 0a000002 0a000001
  00 00 0000 1234 0001 deadbeef`);

function parsed(buf: Buffer, offset = 0, length = buf.length): PacketInfo {
  const info = new PacketInfo();
  const ok = parsePacket(buf, offset, length, info);
  assert.equal(ok, info.error === Unparsable.OK);
  return info;
}

test('IPv4 TCP SYN with options: every field', () => {
  const info = parsed(TCP_SYN);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.buf, TCP_SYN);
  assert.equal(info.ipOffset, 0);
  assert.equal(info.ipVersion, 4);
  assert.equal(info.ipHeaderBytes, 20);
  assert.equal(info.ipBytes, 52);
  assert.equal(info.proto, Proto.TCP);
  assert.equal(info.srcOffset, 12);
  assert.equal(info.dstOffset, 16);
  assert.deepEqual([...TCP_SYN.subarray(info.srcOffset, info.srcOffset + 4)], [192, 168, 0, 1]);
  assert.deepEqual([...TCP_SYN.subarray(info.dstOffset, info.dstOffset + 4)], [192, 168, 0, 199]);
  assert.equal(info.sport, 54321);
  assert.equal(info.dport, 80);
  assert.equal(info.isFragment, false, 'DF alone does not make a fragment');
  assert.equal(info.fragOffsetBytes, 0);
  assert.equal(info.hasL4, true);
  assert.equal(info.l4Offset, 20);
  assert.equal(info.tcpFlags, TcpFlag.SYN);
  assert.equal(info.tcpHeaderBytes, 32);
  assert.equal(info.payloadOffset, 52);
  assert.equal(info.payloadBytes, 0);
  assert.equal(info.icmpType, 0);
  assert.equal(info.icmpCode, 0);
  assert.equal(info.dscp, 46);
  assert.equal(info.ecn, 1);
  assert.equal(info.ttl, 61);
});

test('IPv4 UDP: ports, payload from the UDP length', () => {
  const info = parsed(UDP_5);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.proto, Proto.UDP);
  assert.equal(info.ipBytes, 33);
  assert.equal(info.sport, 5353);
  assert.equal(info.dport, 5353);
  assert.equal(info.hasL4, true);
  assert.equal(info.l4Offset, 20);
  assert.equal(info.payloadOffset, 28);
  assert.equal(info.payloadBytes, 5);
  assert.equal(UDP_5.toString('latin1', info.payloadOffset, info.payloadOffset + info.payloadBytes), 'hello');
  assert.equal(info.tcpFlags, 0);
  assert.equal(info.tcpHeaderBytes, 0);
  assert.equal(info.ttl, 255);
  assert.equal(info.dscp, 0);
  assert.equal(info.ecn, 0);
});

test('IPv4 ICMP: type, code, no ports', () => {
  const info = parsed(ICMP_ECHO_REPLY);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.proto, Proto.ICMP);
  assert.equal(info.hasL4, true);
  assert.equal(info.icmpType, 0);
  assert.equal(info.icmpCode, 0);
  assert.equal(info.sport, 0);
  assert.equal(info.dport, 0);
  assert.equal(info.payloadOffset, 28);
  assert.equal(info.payloadBytes, 4);

  const unreachable = Buffer.from(ICMP_ECHO_REPLY);
  unreachable[20] = 3;
  unreachable[21] = 4;
  const u = parsed(unreachable);
  assert.equal(u.icmpType, 3);
  assert.equal(u.icmpCode, 4);
});

test('IPv4 header options (IHL 7) move the transport header', () => {
  const withOptions = hex(`
    47 00 002c 0000 0000 40 11 0000 0a000001 0a000002
    94040000 01010100
    0035 d000 0010 0000 0102030405060708`);
  const info = parsed(withOptions);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.ipHeaderBytes, 28);
  assert.equal(info.l4Offset, 28);
  assert.equal(info.sport, 53);
  assert.equal(info.dport, 0xd000);
  assert.equal(info.payloadOffset, 36);
  assert.equal(info.payloadBytes, 8);
});

test('a buffer longer than the total length (link padding) parses; the padding is ignored', () => {
  const padded = Buffer.concat([ICMP_ECHO_REPLY, Buffer.alloc(14, 0xee)]);
  const info = parsed(padded);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.ipBytes, 32);
  assert.equal(info.payloadBytes, 4);
  // The caller's length may also exceed the IP length inside a bigger buffer.
  const again = parsed(padded, 0, 40);
  assert.equal(again.ipBytes, 32);
});

test('a packet at an offset inside a larger buffer: offsets index the buffer', () => {
  const big = Buffer.concat([Buffer.alloc(100, 0x45), TCP_SYN, Buffer.alloc(50, 0x60)]);
  const info = parsed(big, 100, TCP_SYN.length);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.ipOffset, 100);
  assert.equal(info.srcOffset, 112);
  assert.equal(info.dstOffset, 116);
  assert.equal(info.l4Offset, 120);
  assert.equal(info.payloadOffset, 152);
  assert.equal(info.sport, 54321);
});

test('unknown transport protocol parses OK with hasL4 false and the IP payload described', () => {
  const gre = hex('45 00 001c 0000 0000 40 2f 0000 0a000001 0a000002 0000 0800 00000000');
  const info = parsed(gre);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.proto, 47);
  assert.equal(info.hasL4, false);
  assert.equal(info.sport, 0);
  assert.equal(info.dport, 0);
  assert.equal(info.l4Offset, 20);
  assert.equal(info.payloadOffset, 20);
  assert.equal(info.payloadBytes, 8);
});

function fragmentOf(base: Buffer, flagsAndOffset: number): Buffer {
  const b = Buffer.from(base);
  b.writeUInt16BE(flagsAndOffset, 6);
  return b;
}

test('IPv4 first fragment (MF set, offset 0) has ports', () => {
  const info = parsed(fragmentOf(UDP_5, 0x2000));
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.isFragment, true);
  assert.equal(info.fragOffsetBytes, 0);
  assert.equal(info.hasL4, true);
  assert.equal(info.sport, 5353);
  assert.equal(info.dport, 5353);
});

test('IPv4 first fragment: the UDP length may cover more than this fragment', () => {
  const first = fragmentOf(UDP_5, 0x2000);
  first.writeUInt16BE(1480, 24); // the whole datagram's length
  const info = parsed(first);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.hasL4, true);
  assert.equal(info.payloadBytes, 5, 'payload is what this fragment holds');
});

test('IPv4 later fragments (middle and last) parse OK without ports', () => {
  for (const flagsAndOffset of [0x2000 | 185, 370]) {
    const info = parsed(fragmentOf(UDP_5, flagsAndOffset));
    assert.equal(info.error, Unparsable.OK);
    assert.equal(info.isFragment, true);
    assert.equal(info.fragOffsetBytes, (flagsAndOffset & 0x1fff) * 8);
    assert.equal(info.hasL4, false);
    assert.equal(info.proto, Proto.UDP);
    assert.equal(info.sport, 0);
    assert.equal(info.dport, 0);
    assert.equal(info.l4Offset, 20);
    assert.equal(info.payloadOffset, 20);
    assert.equal(info.payloadBytes, 13);
  }
});

test('a later fragment too short for a transport header is still OK (no transport header expected)', () => {
  const tiny = hex('45 00 0018 0000 0001 40 06 0000 0a000001 0a000002 00000000');
  const info = parsed(tiny);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.fragOffsetBytes, 8);
  assert.equal(info.hasL4, false);
});

test('every field is reset between packets parsed into the same PacketInfo', () => {
  const info = new PacketInfo();
  assert.equal(parsePacket(TCP_SYN, 0, TCP_SYN.length, info), true);
  const later = fragmentOf(TCP_SYN, 0x0010);
  assert.equal(parsePacket(later, 0, later.length, info), true);
  assert.equal(info.sport, 0);
  assert.equal(info.dport, 0);
  assert.equal(info.tcpFlags, 0);
  assert.equal(info.tcpHeaderBytes, 0);
  assert.equal(info.hasL4, false);

  assert.equal(parsePacket(ICMP_ECHO_REPLY, 0, ICMP_ECHO_REPLY.length, info), true);
  assert.equal(info.isFragment, false);
  assert.equal(info.fragOffsetBytes, 0);
  assert.equal(info.dscp, 0);
  assert.equal(info.ecn, 0);

  const unreachable = Buffer.from(ICMP_ECHO_REPLY);
  unreachable[20] = 3;
  unreachable[21] = 1;
  parsePacket(unreachable, 0, unreachable.length, info);
  assert.equal(parsePacket(UDP_5, 0, UDP_5.length, info), true);
  assert.equal(info.icmpType, 0);
  assert.equal(info.icmpCode, 0);

  assert.equal(parsePacket(Buffer.from([0x15]), 0, 1, info), false);
  assert.equal(info.ipVersion, 0);
  assert.equal(info.ipBytes, 0);
  assert.equal(info.sport, 0);
  assert.equal(info.hasL4, false);
  assert.equal(info.payloadBytes, 0);
  assert.equal(info.ttl, 0);
});
