/** IPv6 parsing: fixed header fields, extension header chains, fragments, no-next-header, the walk bound. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_IPV6_EXT_HEADERS, parsePacket } from '../../src/packet/parse.js';
import { PacketInfo, Proto, TcpFlag, Unparsable } from '../../src/packet/types.js';
import { hex, ipv6WithChain } from './helpers.js';

// TCP 443 -> 50000, FIN|ACK, data offset 5, 3 bytes of payload.
const TCP_SEGMENT = hex('01bb c350 00000010 00000020 50 11 ffff 0000 0000 616263');
// UDP 53 -> 40000, 4 bytes of payload.
const UDP_DATAGRAM = hex('0035 9c40 000c 0000 01020304');
// ICMPv6 echo request.
const ICMPV6_ECHO = hex('80 00 0000 0001 0002 cafe');

function parsed(buf: Buffer): PacketInfo {
  const info = new PacketInfo();
  const ok = parsePacket(buf, 0, buf.length, info);
  assert.equal(ok, info.error === Unparsable.OK);
  return info;
}

test('IPv6 TCP: every field, traffic class split across bytes 0 and 1', () => {
  const pkt = ipv6WithChain([], Proto.TCP, TCP_SEGMENT);
  // Traffic class 0xb9: DSCP 46, ECN 1; flow label 0x12345 must not leak into it.
  pkt[0] = 0x6b;
  pkt[1] = 0x91;
  pkt.writeUInt16BE(0x2345, 2);
  pkt[7] = 17;
  const info = parsed(pkt);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.ipVersion, 6);
  assert.equal(info.ipHeaderBytes, 40);
  assert.equal(info.ipBytes, 40 + TCP_SEGMENT.length);
  assert.equal(info.proto, Proto.TCP);
  assert.equal(info.srcOffset, 8);
  assert.equal(info.dstOffset, 24);
  assert.equal(pkt.toString('hex', 8, 24), '20010db8000000000000000000000001');
  assert.equal(pkt.toString('hex', 24, 40), '20010db8000000000000000000000002');
  assert.equal(info.dscp, 46);
  assert.equal(info.ecn, 1);
  assert.equal(info.ttl, 17);
  assert.equal(info.hasL4, true);
  assert.equal(info.l4Offset, 40);
  assert.equal(info.sport, 443);
  assert.equal(info.dport, 50000);
  assert.equal(info.tcpFlags, TcpFlag.FIN | TcpFlag.ACK);
  assert.equal(info.tcpHeaderBytes, 20);
  assert.equal(info.payloadOffset, 60);
  assert.equal(info.payloadBytes, 3);
  assert.equal(info.isFragment, false);
  assert.equal(info.icmpType, 0);
});

test('IPv6 UDP and ICMPv6', () => {
  const udp = parsed(ipv6WithChain([], Proto.UDP, UDP_DATAGRAM));
  assert.equal(udp.error, Unparsable.OK);
  assert.equal(udp.sport, 53);
  assert.equal(udp.dport, 40000);
  assert.equal(udp.payloadOffset, 48);
  assert.equal(udp.payloadBytes, 4);

  const icmp = parsed(ipv6WithChain([], Proto.ICMPV6, ICMPV6_ECHO));
  assert.equal(icmp.error, Unparsable.OK);
  assert.equal(icmp.proto, Proto.ICMPV6);
  assert.equal(icmp.hasL4, true);
  assert.equal(icmp.icmpType, 128);
  assert.equal(icmp.icmpCode, 0);
  assert.equal(icmp.sport, 0);
  assert.equal(icmp.payloadBytes, 2);
});

test('IPv6 chain: hop-by-hop, routing, destination options, AH, then TCP', () => {
  const chain = [
    { type: 0, bytes: 8 },
    { type: 43, bytes: 24 },
    { type: 60, bytes: 16 },
    { type: 51, bytes: 24 },
  ];
  const pkt = ipv6WithChain(chain, Proto.TCP, TCP_SEGMENT);
  const info = parsed(pkt);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.ipHeaderBytes, 40 + 8 + 24 + 16 + 24);
  assert.equal(info.proto, Proto.TCP);
  assert.equal(info.l4Offset, 112);
  assert.equal(info.sport, 443);
  assert.equal(info.dport, 50000);
  assert.equal(info.payloadBytes, 3);
  assert.equal(info.ipBytes, pkt.length);
});

test('a trailing padded buffer with an IPv6 chain still ends at the payload length', () => {
  const pkt = Buffer.concat([ipv6WithChain([{ type: 60, bytes: 8 }], Proto.UDP, UDP_DATAGRAM), Buffer.alloc(9)]);
  const info = parsed(pkt);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.ipBytes, pkt.length - 9);
  assert.equal(info.payloadBytes, 4);
});

test('IPv6 first fragment has ports; later fragments parse OK without them', () => {
  const first = parsed(ipv6WithChain([{ type: 44, bytes: 8, fragOffsetBytes: 0, more: true }], Proto.UDP, UDP_DATAGRAM));
  assert.equal(first.error, Unparsable.OK);
  assert.equal(first.isFragment, true);
  assert.equal(first.fragOffsetBytes, 0);
  assert.equal(first.hasL4, true);
  assert.equal(first.sport, 53);
  assert.equal(first.ipHeaderBytes, 48);

  for (const more of [true, false]) {
    const later = parsed(
      ipv6WithChain(
        [{ type: 0, bytes: 8 }, { type: 44, bytes: 8, fragOffsetBytes: 1448, more }],
        Proto.UDP,
        UDP_DATAGRAM,
      ),
    );
    assert.equal(later.error, Unparsable.OK);
    assert.equal(later.isFragment, true);
    assert.equal(later.fragOffsetBytes, 1448);
    assert.equal(later.hasL4, false);
    assert.equal(later.proto, Proto.UDP);
    assert.equal(later.sport, 0);
    assert.equal(later.dport, 0);
    assert.equal(later.ipHeaderBytes, 56);
    assert.equal(later.payloadOffset, 56);
    assert.equal(later.payloadBytes, UDP_DATAGRAM.length);
  }
});

test('a later IPv6 fragment whose data looks like headers is not walked further', () => {
  // The fragment carries "destination options" as its next header, but its data is not a header.
  const pkt = ipv6WithChain([{ type: 44, bytes: 8, fragOffsetBytes: 8 }], 60, Buffer.from([0xff, 0xff]));
  const info = parsed(pkt);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.proto, 60);
  assert.equal(info.hasL4, false);
  assert.equal(info.payloadBytes, 2);
});

test('an IPv6 atomic fragment (offset 0, M clear) is not a fragment', () => {
  const info = parsed(ipv6WithChain([{ type: 44, bytes: 8 }], Proto.TCP, TCP_SEGMENT));
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.isFragment, false);
  assert.equal(info.hasL4, true);
  assert.equal(info.sport, 443);
});

test('no next header (59) parses OK with hasL4 false', () => {
  const info = parsed(ipv6WithChain([{ type: 60, bytes: 8 }], 59, Buffer.alloc(4)));
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.proto, 59);
  assert.equal(info.hasL4, false);
  assert.equal(info.ipHeaderBytes, 48);
  assert.equal(info.sport, 0);
});

test('unknown next header after the chain (ESP) parses OK with hasL4 false', () => {
  const info = parsed(ipv6WithChain([{ type: 0, bytes: 8 }], 50, Buffer.alloc(16, 1)));
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.proto, 50);
  assert.equal(info.hasL4, false);
  assert.equal(info.l4Offset, 48);
  assert.equal(info.payloadBytes, 16);
});

test(`a chain of exactly MAX_IPV6_EXT_HEADERS (${MAX_IPV6_EXT_HEADERS}) headers is walked; one more is refused`, () => {
  const chainOf = (n: number) => Array.from({ length: n }, () => ({ type: 60, bytes: 8 }));
  const atLimit = parsed(ipv6WithChain(chainOf(MAX_IPV6_EXT_HEADERS), Proto.UDP, UDP_DATAGRAM));
  assert.equal(atLimit.error, Unparsable.OK);
  assert.equal(atLimit.sport, 53);
  assert.equal(atLimit.ipHeaderBytes, 40 + 8 * MAX_IPV6_EXT_HEADERS);

  const over = parsed(ipv6WithChain(chainOf(MAX_IPV6_EXT_HEADERS + 1), Proto.UDP, UDP_DATAGRAM));
  assert.equal(over.error, Unparsable.TOO_MANY_EXT_HEADERS);
  assert.equal(over.hasL4, false);
  assert.equal(over.sport, 0);
});
