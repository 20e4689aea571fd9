// The flow table fed by the real parser: packets written by buildPacket, parsed by parsePacket into
// one reused PacketInfo, as the engine will do. Both directions meet in one flow, IP bytes are
// counted, and a TCP handshake drives the state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTable } from '../../src/flow/table.js';
import { buildPacket } from '../../src/packet/build.js';
import { parsePacket } from '../../src/packet/parse.js';
import { PacketInfo } from '../../src/packet/types.js';
import { ACK, SYN, TCP, UDP } from './packets.js';

test('parsed IPv4 and IPv6 packets find their flows in both directions', () => {
  const t = new FlowTable({ maxFlows: 16, seed: 8 });
  const info = new PacketInfo();
  // Packets start at offset 14 of their buffer, as behind an Ethernet header.
  const see = (spec: Parameters<typeof buildPacket>[0], nowUs: number): number => {
    const buf = Buffer.alloc(2000);
    buildPacket(spec, buf, 14);
    assert.equal(parsePacket(buf, 14, buf.length - 14, info), true);
    return t.lookup(info, nowUs);
  };
  for (const [ipVersion, a, b] of [[4, '192.0.2.1', '198.51.100.2'], [6, '2001:db8::1', '2001:db8:ffff::2']] as const) {
    const id = see({ ipVersion, src: a, dst: b, proto: TCP, sport: 33000, dport: 443, tcpFlags: SYN }, 1);
    assert.equal(see({ ipVersion, src: b, dst: a, proto: TCP, sport: 443, dport: 33000, tcpFlags: SYN | ACK }, 2), id);
    assert.equal(t.lastIsReply, true);
    assert.equal(see({ ipVersion, src: a, dst: b, proto: TCP, sport: 33000, dport: 443, tcpFlags: ACK, payloadBytes: 100 }, 3), id);
    const d = t.describe(id)!;
    assert.equal(d.tcpState, 'established');
    assert.deepEqual([d.initiator, d.responder], [a, b]);
    const ipHeader = ipVersion === 4 ? 20 : 40;
    assert.equal(d.origBytes, 2 * (ipHeader + 20) + 100);
    assert.equal(d.replyBytes, ipHeader + 20);
    const udp = see({ ipVersion, src: a, dst: b, proto: UDP, sport: 33000, dport: 443 }, 4);
    assert.notEqual(udp, id);
  }
  assert.equal(t.size, 4);
});
