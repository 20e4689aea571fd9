import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entropyBits } from '../../../src/classify/l7/index.js';
import { FLOW_MAX_PACKETS, FLOW_MAX_PAYLOAD_PACKETS, L7Tracker, L7_PENDING } from '../../../src/classify/l7/tracker.js';
import { buildPacket } from '../../../src/packet/build.js';
import { parsePacket } from '../../../src/packet/parse.js';
import { PacketInfo, Proto, TcpFlag } from '../../../src/packet/types.js';
import { collectionsDuring } from '../../support/gc.js';
import { bittorrentHandshake, clientHelloRecord, dhtPing, dnsQuery, httpRequest, rng, sshBanner } from './payloads.js';

const ACK = TcpFlag.ACK;
const PSH_ACK = TcpFlag.PSH | TcpFlag.ACK;

/** A parsed IPv4 TCP or UDP packet carrying `payload`, with TCP sequence number `seq`. */
function packet(proto: number, reply: boolean, seq: number, flags: number, payload: Buffer | null): PacketInfo {
  const client = { addr: '192.0.2.1', port: 40000 };
  const server = { addr: '198.51.100.7', port: 443 };
  const [from, to] = reply ? [server, client] : [client, server];
  const buf = buildPacket({
    ipVersion: 4, src: from.addr, dst: to.addr, proto, sport: from.port, dport: to.port, tcpFlags: flags, payloadBytes: payload?.length ?? 0,
  });
  const pkt = new PacketInfo();
  assert.ok(parsePacket(buf, 0, buf.length, pkt));
  if (proto === Proto.TCP) buf.writeUInt32BE(seq >>> 0, pkt.l4Offset + 4);
  payload?.copy(buf, pkt.payloadOffset);
  return pkt;
}

/** One TCP connection fed to a tracker as flow `flow`: sequence numbers follow the stream offsets. */
class Conn {
  /** Bytes each side has sent (in-order stream offset of its next segment). */
  readonly sent = [0, 0];
  constructor(readonly tracker: L7Tracker, readonly flow: number, readonly isn: [number, number] = [1000, 7_000_000]) {}

  seqAt(reply: boolean, streamOffset: number): number {
    return (this.isn[reply ? 1 : 0] + 1 + streamOffset) >>> 0;
  }
  /** SYN, SYN-ACK, ACK; none of them decides. */
  handshake(): void {
    for (const [reply, flags] of [[false, TcpFlag.SYN], [true, TcpFlag.SYN | ACK], [false, ACK]] as const) {
      assert.equal(this.tracker.feed(this.flow, reply, packet(Proto.TCP, reply, this.isn[reply ? 1 : 0] + (flags === ACK ? 1 : 0), flags, null)), false);
    }
  }
  /** A segment holding `bytes` at stream offset `streamOffset` of one side. */
  at(reply: boolean, streamOffset: number, bytes: Buffer, flags = PSH_ACK): boolean {
    return this.tracker.feed(this.flow, reply, packet(Proto.TCP, reply, this.seqAt(reply, streamOffset), flags, bytes));
  }
  /** The next in-order segment of one side. */
  send(reply: boolean, bytes: Buffer, flags = PSH_ACK): boolean {
    const d = reply ? 1 : 0;
    const decided = this.at(reply, this.sent[d], bytes, flags);
    this.sent[d] += bytes.length;
    return decided;
  }
  /** A segment without payload (FIN, RST, ACK) at the side's current offset. */
  flag(reply: boolean, flags: number): boolean {
    return this.at(reply, this.sent[reply ? 1 : 0], Buffer.alloc(0), flags);
  }
}

function udp(tracker: L7Tracker, flow: number, reply: boolean, payload: Buffer): boolean {
  return tracker.feed(flow, reply, packet(Proto.UDP, reply, 0, 0, payload));
}

function randomBytes(length: number, seed: number): Buffer {
  const next = rng(seed);
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = next() & 0xff;
  return b;
}

const TEXT = Buffer.from('the quick brown fox jumps over the lazy dog while the cat sleeps in the sun. '.repeat(30), 'latin1');

test('an HTTP request split over two segments is decided on the second, with its Host', () => {
  const t = new L7Tracker(16);
  const c = new Conn(t, 3);
  c.handshake();
  const req = httpRequest('GET', 'Split.Example.org');
  const cut = req.indexOf('hOsT') + 3;
  assert.equal(c.send(false, req.subarray(0, cut)), false);
  assert.equal(t.decided(3), false);
  assert.equal(t.protocol(3), L7_PENDING);
  assert.equal(t.host(3), '');
  assert.equal(t.entropyBits(3), -1);
  assert.equal(c.send(false, req.subarray(cut)), true);
  assert.equal(t.decided(3), true);
  assert.equal(t.protocol(3), 'http');
  assert.equal(t.host(3), 'split.example.org');
  // Entropy of the first direction's prefix as it stood at the decision: the whole request.
  assert.equal(t.entropyBits(3), entropyBits(req, 0, req.length));
  assert.deepEqual(t.stats, { decided: 1, settledAtBound: 0, settledAtClose: 0, noStreamBuffer: 0 });
  // Decided: later packets change nothing.
  assert.equal(c.send(true, sshBanner()), false);
  assert.equal(t.protocol(3), 'http');
});

test('a TLS ClientHello split over three segments yields its SNI on the third', () => {
  const t = new L7Tracker(4);
  const c = new Conn(t, 0);
  c.handshake();
  const hello = clientHelloRecord('three.example.net', 900);
  const a = 300;
  const b = hello.indexOf('three.example.net') + 5;
  assert.equal(c.send(false, hello.subarray(0, a)), false);
  assert.equal(c.send(false, hello.subarray(a, b)), false);
  assert.equal(t.protocol(0), 'pending');
  assert.equal(c.send(false, hello.subarray(b)), true);
  assert.equal(t.protocol(0), 'tls');
  assert.equal(t.host(0), 'three.example.net');
});

test('an out-of-order segment is not appended: the decision waits for the in-order bytes', () => {
  const t = new L7Tracker(4);
  const c = new Conn(t, 1);
  c.handshake();
  const req = httpRequest('POST', 'order.example');
  const hostAt = req.indexOf('hOsT');
  const p1 = req.subarray(0, 20);
  const p2 = req.subarray(20, hostAt);
  const p3 = req.subarray(hostAt);
  assert.equal(c.at(false, 0, p1), false);
  assert.equal(c.at(false, hostAt, p3), false, 'a segment beyond a gap');
  // Had p3 been kept, p2 would complete the request here.
  assert.equal(c.at(false, 20, p2), false);
  assert.equal(t.protocol(1), 'pending');
  assert.equal(c.at(false, hostAt, p3), true, 'its retransmission fills the gap');
  assert.equal(t.host(1), 'order.example');
});

test('the first payload segment after the SYN arriving out of order is ignored too', () => {
  const t = new L7Tracker(4);
  const c = new Conn(t, 0);
  c.handshake();
  const req = httpRequest('GET', 'late.example');
  assert.equal(c.at(false, 10, req.subarray(10)), false);
  assert.equal(c.at(false, 0, req.subarray(0, 10)), false);
  assert.equal(c.at(false, 10, req.subarray(10)), true);
  assert.equal(t.host(0), 'late.example');
});

test('a retransmit that overlaps the prefix is trimmed; whole retransmits do not count toward the bound', () => {
  const t = new L7Tracker(4);
  const c = new Conn(t, 2);
  c.handshake();
  const req = httpRequest('GET', 'overlap.example.com');
  const nameAt = req.indexOf('overlap');
  const first = req.subarray(0, nameAt + 4); // ends inside the host name
  // More whole retransmits of the first segment than the per-direction packet bound.
  for (let i = 0; i < 5; i++) assert.equal(c.at(false, 0, first), false);
  // The next segment starts 10 bytes early: the copy of "hOsT:  ove" must be dropped.
  assert.equal(c.at(false, nameAt - 6, req.subarray(nameAt - 6)), true);
  assert.equal(t.protocol(2), 'http');
  assert.equal(t.host(2), 'overlap.example.com');
  assert.equal(t.entropyBits(2), entropyBits(req, 0, req.length), 'the prefix holds the request exactly');
});

test('sequence numbers that wrap past 2^32 are followed', () => {
  const t = new L7Tracker(4);
  const c = new Conn(t, 0, [0xfffffff0, 0xffffff00]);
  c.handshake();
  const req = httpRequest('GET', 'wrap.example');
  assert.equal(c.send(false, req.subarray(0, 40)), false);
  assert.equal(c.seqAt(false, 40) < 100, true, 'the second segment starts after the wrap');
  assert.equal(c.send(false, req.subarray(40)), true);
  assert.equal(t.host(0), 'wrap.example');
});

test('an SSH banner from the server side decides the flow', () => {
  const t = new L7Tracker(4);
  const c = new Conn(t, 0);
  c.handshake();
  assert.equal(c.send(true, sshBanner()), true);
  assert.equal(t.protocol(0), 'ssh');
  assert.equal(t.host(0), '');
  const banner = sshBanner();
  assert.equal(t.entropyBits(0), entropyBits(banner, 0, banner.length), 'the responder carried payload first');
});

test('a DNS query over UDP is decided on its first datagram', () => {
  const t = new L7Tracker(4);
  const q = dnsQuery('www.example.com', true);
  assert.equal(udp(t, 1, false, q), true);
  assert.equal(t.protocol(1), 'dns');
  assert.equal(t.entropyBits(1), entropyBits(q, 0, q.length));
});

test('a BitTorrent handshake (TCP) and a DHT ping (UDP) are bittorrent', () => {
  const t = new L7Tracker(4);
  const c = new Conn(t, 0);
  c.handshake();
  assert.equal(c.send(false, bittorrentHandshake()), true);
  assert.equal(t.protocol(0), 'bittorrent');
  assert.equal(udp(t, 1, false, dhtPing()), true);
  assert.equal(t.protocol(1), 'bittorrent');
});

test('a flow that carries no payload is decided unknown when both sides FIN, or at an RST', () => {
  const t = new L7Tracker(4);
  const c = new Conn(t, 0);
  c.handshake();
  assert.equal(c.flag(false, TcpFlag.FIN | ACK), false, 'one side may still send');
  assert.equal(t.protocol(0), 'pending');
  assert.equal(c.flag(true, TcpFlag.FIN | ACK), true);
  assert.equal(t.protocol(0), 'unknown');
  assert.equal(t.host(0), '');
  assert.equal(t.entropyBits(0), 0);

  const r = new Conn(t, 1);
  assert.equal(t.feed(1, false, packet(Proto.TCP, false, 1000, TcpFlag.SYN, null)), false);
  assert.equal(r.flag(true, TcpFlag.RST | ACK), true);
  assert.equal(t.protocol(1), 'unknown');
  assert.deepEqual(t.stats, { decided: 2, settledAtBound: 0, settledAtClose: 2, noStreamBuffer: 0 });
});

test('a FIN ends its side only: the other side can still decide', () => {
  const t = new L7Tracker(4);
  const c = new Conn(t, 0);
  c.handshake();
  assert.equal(c.send(false, Buffer.from('hello?\r\n')), false);
  assert.equal(c.flag(false, TcpFlag.FIN | ACK), false);
  assert.equal(c.send(true, sshBanner()), true);
  assert.equal(t.protocol(0), 'ssh');
});

test('random payloads settle unknown at the bound with entropy near 8; text settles low', () => {
  const t = new L7Tracker(4);
  const random = randomBytes(2048, 7);
  const c = new Conn(t, 0);
  c.handshake();
  for (let i = 0; i < 4; i++) assert.equal(c.send(false, random.subarray(i * 512, (i + 1) * 512)), false);
  // The initiator is at its bound: more of its payload is not offered, and the flow waits for the responder.
  assert.equal(c.send(true, randomBytes(1000, 20)), false);
  // 2 KB from the responder put it at its bound too, before the flow's payload-packet bound.
  assert.equal(c.send(true, randomBytes(1048, 21)), true);
  assert.equal(t.protocol(0), 'unknown');
  assert.equal(t.entropyBits(0), entropyBits(random, 0, 2048));
  assert.ok(t.entropyBits(0) > 7.8, `entropy ${t.entropyBits(0)}`);
  assert.equal(t.stats.settledAtBound, 1);

  const s = new Conn(t, 1);
  s.handshake();
  assert.equal(s.send(false, TEXT.subarray(0, 1500)), false);
  assert.equal(s.send(false, TEXT.subarray(1500, 2200)), false, 'the byte bound ends this side');
  assert.equal(s.send(true, TEXT.subarray(0, 3000)), true, 'and 2 KB of the other side end the flow');
  assert.equal(t.protocol(1), 'unknown');
  const e = t.entropyBits(1);
  assert.equal(e, entropyBits(TEXT, 0, 2048));
  assert.ok(e > 3 && e < 5, `entropy ${e}`);
});

test('the best guess at the bound is the initiator tentative protocol, without host', () => {
  const t = new L7Tracker(4);
  const c = new Conn(t, 0);
  c.handshake();
  assert.equal(c.send(false, Buffer.from('GET /no-host HTTP/1.1\r\nAccept: */*\r\n')), false);
  assert.equal(c.send(true, randomBytes(50, 1)), false);
  assert.equal(c.flag(false, TcpFlag.FIN | ACK), false);
  assert.equal(c.flag(true, TcpFlag.FIN | ACK), true);
  assert.equal(t.protocol(0), 'http');
  assert.equal(t.host(0), '');
});

test(`a one-way flow settles after ${FLOW_MAX_PAYLOAD_PACKETS} payload packets, a silent one after ${FLOW_MAX_PACKETS} packets`, () => {
  const t = new L7Tracker(4);
  const first = randomBytes(1200, 3);
  for (let i = 1; i < FLOW_MAX_PAYLOAD_PACKETS; i++) assert.equal(udp(t, 0, false, i === 1 ? first : randomBytes(1200, 3 + i)), false, `datagram ${i}`);
  assert.equal(udp(t, 0, false, randomBytes(1200, 99)), true);
  assert.equal(t.protocol(0), 'unknown');
  // UDP: the entropy of the first datagram of the first side.
  assert.equal(t.entropyBits(0), entropyBits(first, 0, first.length));

  const c = new Conn(t, 1);
  c.handshake();
  for (let i = 3; i < FLOW_MAX_PACKETS - 1; i++) assert.equal(c.flag(i % 2 === 1, ACK), false, `packet ${i + 1}`);
  assert.equal(c.flag(false, ACK), true);
  assert.equal(t.protocol(1), 'unknown');
  assert.equal(t.stats.settledAtBound, 2);
});

test('a tracker made without entropy decides alike and leaves flow.entropy at -1', () => {
  const t = new L7Tracker(4, { entropy: false });
  const c = new Conn(t, 0);
  c.handshake();
  const req = httpRequest('GET', 'no-entropy.example');
  assert.equal(c.send(false, req.subarray(0, 30)), false);
  assert.equal(c.send(false, req.subarray(30)), true);
  assert.equal(t.host(0), 'no-entropy.example');
  assert.equal(t.entropyBits(0), -1);
  assert.equal(udp(t, 1, false, randomBytes(1200, 5)), false);
  assert.equal(t.entropyBits(1), -1);
});

test('a flow that is neither TCP nor UDP is decided unknown at once', () => {
  const t = new L7Tracker(4);
  const buf = buildPacket({ ipVersion: 6, src: '2001:db8::1', dst: '2001:db8::2', proto: Proto.ICMPV6, payloadBytes: 56 });
  const pkt = new PacketInfo();
  assert.ok(parsePacket(buf, 0, buf.length, pkt));
  assert.equal(t.feed(2, false, pkt), true);
  assert.equal(t.protocol(2), 'unknown');
  assert.equal(t.entropyBits(2), 0);
});

test('more concurrent TCP flows than stream buffers: the rest detect per segment and are counted', () => {
  const t = new L7Tracker(8, { streamBuffers: 2 });
  const conns = [0, 1, 2, 3, 4].map((f) => new Conn(t, f));
  for (const c of conns) c.handshake();
  assert.equal(t.streamBuffersFree, 2, 'a handshake takes no buffer');
  const split = httpRequest('GET', 'buffered.example');
  const cut = split.indexOf('hOsT');
  for (const f of [0, 1, 2]) assert.equal(conns[f].send(false, split.subarray(0, cut)), false);
  assert.equal(t.streamBuffersFree, 0, 'first bytes that do not decide take a buffer');
  assert.equal(t.stats.noStreamBuffer, 1);
  // Flows 0 and 1 reassemble; flow 2 sees the second segment alone, which shows nothing.
  assert.equal(conns[0].send(false, split.subarray(cut)), true);
  assert.equal(conns[1].send(false, split.subarray(cut)), true);
  assert.equal(t.host(0), 'buffered.example');
  assert.equal(t.streamBuffersFree, 2, 'decided flows gave their buffers back');
  assert.equal(conns[2].send(false, split.subarray(cut)), false);
  assert.equal(conns[2].flag(false, TcpFlag.RST), true);
  assert.equal(t.protocol(2), 'http', 'its first segment still said http');
  assert.equal(t.host(2), '');
  // With the pool empty again, whole messages in one segment decide and need no buffer at all.
  const holders = [5, 6].map((f) => new Conn(t, f));
  for (const h of holders) assert.equal(h.send(false, TEXT.subarray(0, 100)), false);
  assert.equal(t.streamBuffersFree, 0);
  for (const f of [3, 4]) {
    assert.equal(conns[f].send(false, clientHelloRecord(`n${f}.example`)), true, 'a whole message in one segment decides');
    assert.equal(t.protocol(f), 'tls');
    assert.equal(t.host(f), `n${f}.example`);
  }
  // And a flow with no buffer detects each later segment alone.
  const late = new Conn(t, 7);
  assert.equal(late.send(false, TEXT.subarray(0, 100)), false);
  assert.equal(late.send(false, sshBanner()), true);
  assert.equal(t.protocol(7), 'ssh');
  assert.equal(t.stats.noStreamBuffer, 2);
  assert.equal(t.stats.decided, 6);
});

test('reset() gives the stream buffer back and forgets the flow', () => {
  const t = new L7Tracker(4, { streamBuffers: 1 });
  const a = new Conn(t, 0);
  a.handshake();
  assert.equal(a.send(false, TEXT.subarray(0, 200)), false);
  assert.equal(t.streamBuffersFree, 0);
  const b = new Conn(t, 1);
  b.handshake();
  assert.equal(b.send(false, TEXT.subarray(0, 200)), false);
  assert.equal(t.stats.noStreamBuffer, 1);
  t.reset(0);
  assert.equal(t.streamBuffersFree, 1);
  // The id's next flow starts afresh and reassembles in the returned buffer.
  const c = new Conn(t, 0, [42, 4242]);
  c.handshake();
  const req = httpRequest('GET', 'again.example');
  assert.equal(c.send(false, req.subarray(0, 30)), false);
  assert.equal(c.send(false, req.subarray(30)), true);
  assert.equal(t.host(0), 'again.example');
  assert.equal(t.stats.noStreamBuffer, 1);
  // A decided id that is reset is pending again.
  t.reset(0);
  assert.equal(t.decided(0), false);
  assert.equal(t.protocol(0), 'pending');
  assert.equal(t.host(0), '');
  assert.equal(t.entropyBits(0), -1);
  assert.equal(t.streamBuffersFree, 1);
});

test('feed() allocates nothing on decided flows nor on pending ones (2M calls each)', async () => {
  const FLOWS = 64;
  const t = new L7Tracker(FLOWS, { streamBuffers: FLOWS });
  const isn = 123456;
  const syn = packet(Proto.TCP, false, isn, TcpFlag.SYN, null);
  const seg = (offset: number, bytes: Buffer): PacketInfo => packet(Proto.TCP, false, isn + 1 + offset, PSH_ACK, bytes);
  const random = randomBytes(900, 11);
  const header = Buffer.from('GET /a/long/path HTTP/1.1\r\nUser-Agent: test/1.0\r\nAccept: */*\r\nAccept-Language: en\r\n', 'latin1');
  // Two kinds of pending flow: random bytes (UNKNOWN) and an HTTP header block without Host yet (NEED_MORE).
  const kinds = [random, header].map((b) => [syn, seg(0, b.subarray(0, 30)), seg(30, b.subarray(30, 60)), seg(60, b.subarray(60))]);
  const pending = (calls: number): number => {
    let decided = 0;
    for (let i = 0; i < calls; i += 4) {
      const f = (i >> 2) % FLOWS;
      const pkts = kinds[f & 1];
      t.reset(f);
      for (let k = 0; k < 4; k++) if (t.feed(f, false, pkts[k])) decided++;
    }
    return decided;
  };
  const done = seg(0, sshBanner());
  const decidedRun = (calls: number): number => {
    let decided = 0;
    for (let i = 0; i < calls; i++) if (t.feed(i % FLOWS, (i & 1) === 1, done)) decided++;
    return decided;
  };
  assert.equal(pending(200_000), 0);
  let newly = 0;
  // 2M calls: even 16 bytes per call (32 MB) would force several scavenges of an emptied young generation.
  const gcPending = await collectionsDuring(() => {
    newly = pending(2_000_000);
  });
  assert.equal(newly, 0, 'the pending flows stayed pending');
  assert.equal(t.stats.decided, 0);
  assert.equal(t.streamBuffersFree, 0, 'every flow held a buffer');
  assert.ok(gcPending <= 1, `${gcPending} garbage collections over 2M pending feeds`);

  for (let f = 0; f < FLOWS; f++) {
    t.reset(f);
    assert.equal(t.feed(f, true, done), true);
  }
  decidedRun(200_000);
  const gcDecided = await collectionsDuring(() => {
    newly = decidedRun(2_000_000);
  });
  assert.equal(newly, 0);
  assert.ok(gcDecided <= 1, `${gcDecided} garbage collections over 2M decided feeds`);
});
