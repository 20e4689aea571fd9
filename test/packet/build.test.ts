/** buildPacket / packetLength: built packets parse back to their spec, with valid checksums. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPacket, packetLength, PacketSpec } from '../../src/packet/build.js';
import { parsePacket } from '../../src/packet/parse.js';
import { parseAddress } from '../../src/packet/addr.js';
import { PacketInfo, Proto, TcpFlag, Unparsable } from '../../src/packet/types.js';
import { ipv4ChecksumFromScratch, transportChecksumValid } from './helpers.js';

function transportHeaderBytes(proto: number): number {
  return proto === Proto.TCP ? 20 : proto === Proto.UDP || proto === Proto.ICMP || proto === Proto.ICMPV6 ? 8 : 0;
}

test('a grid of specs builds, parses back to the spec, and carries valid checksums', () => {
  const info = new PacketInfo();
  let count = 0;
  for (const ipVersion of [4, 6] as const) {
    const src = ipVersion === 4 ? '203.0.113.9' : '2001:db8:85a3::8a2e:370:7334';
    const dst = ipVersion === 4 ? '10.20.30.40' : '::ffff:10.20.30.40';
    for (const proto of [Proto.TCP, Proto.UDP, Proto.ICMP, Proto.ICMPV6, 132]) {
      for (const payloadBytes of [0, 1, 2, 1000, 1460]) {
        for (const [dscp, ecn, ttl] of [[0, 0, 1], [46, 1, 64], [63, 3, 255]]) {
          const spec: PacketSpec = {
            ipVersion, src, dst, proto, sport: 1234 + payloadBytes, dport: 65535, payloadBytes, dscp, ecn, ttl,
            tcpFlags: TcpFlag.SYN | TcpFlag.ECE | TcpFlag.CWR, icmpType: 3, icmpCode: 13,
          };
          const buf = buildPacket(spec);
          const ipBytes = packetLength(spec);
          assert.equal(buf.length, ipBytes);
          assert.equal(ipBytes, (ipVersion === 4 ? 20 : 40) + transportHeaderBytes(proto) + payloadBytes);
          assert.equal(parsePacket(buf, 0, buf.length, info), true, reasonOf(info));
          assert.equal(info.ipVersion, ipVersion);
          assert.equal(info.ipBytes, ipBytes);
          assert.equal(info.proto, proto);
          assert.equal(info.dscp, dscp);
          assert.equal(info.ecn, ecn);
          assert.equal(info.ttl, ttl);
          const len = ipVersion === 4 ? 4 : 16;
          assert.deepEqual(buf.subarray(info.srcOffset, info.srcOffset + len), parseAddress(src));
          assert.deepEqual(buf.subarray(info.dstOffset, info.dstOffset + len), parseAddress(dst));
          const isPorts = proto === Proto.TCP || proto === Proto.UDP;
          assert.equal(info.sport, isPorts ? spec.sport : 0);
          assert.equal(info.dport, isPorts ? 65535 : 0);
          assert.equal(info.tcpFlags, proto === Proto.TCP ? spec.tcpFlags : 0);
          const isIcmp = proto === Proto.ICMP || proto === Proto.ICMPV6;
          assert.equal(info.icmpType, isIcmp ? 3 : 0);
          assert.equal(info.icmpCode, isIcmp ? 13 : 0);
          assert.equal(info.hasL4, proto !== 132);
          assert.equal(info.payloadBytes, payloadBytes);
          assert.ok(buf.subarray(info.payloadOffset).every((x) => x === 0), 'payload is zero');
          if (ipVersion === 4) assert.equal(buf.readUInt16BE(10), ipv4ChecksumFromScratch(buf, 0));
          if (proto !== 132) {
            assert.ok(transportChecksumValid(buf, 0, proto, info.l4Offset, ipBytes), `checksum of ${JSON.stringify(spec)}`);
          }
          count++;
        }
      }
    }
  }
  assert.equal(count, 150);
});

function reasonOf(info: PacketInfo): string {
  return `error ${info.error}`;
}

test('defaults: TCP ACK, TTL 64, echo requests, no payload, DSCP/ECN 0, ports 0', () => {
  const info = new PacketInfo();
  const tcp = buildPacket({ ipVersion: 4, src: '1.2.3.4', dst: '5.6.7.8', proto: Proto.TCP });
  assert.equal(tcp.length, 40);
  parsePacket(tcp, 0, tcp.length, info);
  assert.equal(info.tcpFlags, TcpFlag.ACK);
  assert.equal(info.ttl, 64);
  assert.equal(info.payloadBytes, 0);
  assert.equal(info.dscp, 0);
  assert.equal(info.ecn, 0);
  assert.equal(info.sport, 0);
  const icmp = buildPacket({ ipVersion: 4, src: '1.2.3.4', dst: '5.6.7.8', proto: Proto.ICMP });
  parsePacket(icmp, 0, icmp.length, info);
  assert.equal(info.icmpType, 8);
  const icmp6 = buildPacket({ ipVersion: 6, src: '::1', dst: '::1', proto: Proto.ICMPV6 });
  parsePacket(icmp6, 0, icmp6.length, info);
  assert.equal(info.icmpType, 128);
  assert.equal(info.ttl, 64);
});

test('writes into a given buffer at an offset: returns it, zeroes the payload, touches nothing else', () => {
  const out = Buffer.alloc(200, 0xee);
  const spec: PacketSpec = { ipVersion: 6, src: '2001:db8::a', dst: '2001:db8::b', proto: Proto.UDP, sport: 9, dport: 10, payloadBytes: 30 };
  const ipBytes = packetLength(spec);
  const ret = buildPacket(spec, out, 17);
  assert.equal(ret, out);
  assert.ok(out.subarray(0, 17).every((x) => x === 0xee));
  assert.ok(out.subarray(17 + ipBytes).every((x) => x === 0xee));
  assert.ok(out.subarray(17 + ipBytes - 30, 17 + ipBytes).every((x) => x === 0));
  const info = new PacketInfo();
  assert.equal(parsePacket(out, 17, ipBytes, info), true);
  assert.equal(info.sport, 9);
  assert.equal(info.payloadBytes, 30);
  assert.ok(transportChecksumValid(out, 17, Proto.UDP, info.l4Offset, 17 + ipBytes));
});

test('an IPv4-mapped IPv6 address is accepted for an IPv4 packet', () => {
  const b = buildPacket({ ipVersion: 4, src: '::ffff:192.0.2.1', dst: '192.0.2.2', proto: Proto.UDP });
  assert.deepEqual([...b.subarray(12, 16)], [192, 0, 2, 1]);
});

test('bad specs throw RangeError with the field named', () => {
  const base: PacketSpec = { ipVersion: 4, src: '10.0.0.1', dst: '10.0.0.2', proto: Proto.TCP };
  const bad: [Partial<PacketSpec>, RegExp][] = [
    [{ src: '10.0.0.256' }, /10\.0\.0\.256/],
    [{ dst: '2001:db8::1' }, /2001:db8::1/],
    [{ ipVersion: 6 }, /10\.0\.0\.1/],
    [{ sport: 65536 }, /sport/],
    [{ dport: -1 }, /dport/],
    [{ dscp: 64 }, /dscp/],
    [{ ecn: 4 }, /ecn/],
    [{ ttl: 1.5 }, /ttl/],
    [{ proto: 256 }, /proto/],
    [{ payloadBytes: 65535 - 40 + 1 }, /too long/],
  ];
  for (const [change, message] of bad) {
    assert.throws(() => buildPacket({ ...base, ...change }), (e: Error) => e instanceof RangeError && message.test(e.message));
  }
  assert.equal(packetLength({ ...base, payloadBytes: 65535 - 40 }), 65535);
  assert.doesNotThrow(() => buildPacket({ ...base, payloadBytes: 65535 - 40 }));
  assert.throws(() => buildPacket(base, Buffer.alloc(45), 6), RangeError);
  assert.doesNotThrow(() => buildPacket(base, Buffer.alloc(45), 5));
});

test('an IPv6 packet may carry a payload of 65535 bytes beyond its fixed header', () => {
  const spec: PacketSpec = { ipVersion: 6, src: '::1', dst: '::2', proto: 253, payloadBytes: 65535 };
  const b = buildPacket(spec);
  const info = new PacketInfo();
  assert.equal(parsePacket(b, 0, b.length, info), true);
  assert.equal(info.error, Unparsable.OK);
  assert.equal(info.ipBytes, 65575);
  assert.throws(() => buildPacket({ ...spec, proto: Proto.UDP, payloadBytes: 65535 - 7 }), RangeError);
});
