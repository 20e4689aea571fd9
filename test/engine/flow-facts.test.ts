/**
 * Flow facts in the engine, in virtual time, with the edges played by hand: a new connection's
 * packets wait for its owner (in arrival order, bounded by ownerWaitUs, never dropped for it), the
 * kernel's uid answers user rules without a lookup, a late answer still reclassifies the flow, the
 * waiting room's bound lets packets through rather than hold them, l7 reclassifies the flow from the
 * packet that decided it, and cc reads the remote address. Classes carry set_mark so each packet's
 * class can be read off its verdict.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_OWNER, type OwnerFacts } from '../../src/classify/context.js';
import { Direction } from '../../src/datapath/types.js';
import type { CountryAnswer, CountryLookup, OwnerAnswerSink, OwnerSource } from '../../src/engine/facts.js';
import { buildPacket, type PacketSpec } from '../../src/packet/build.js';
import { formatAddress } from '../../src/packet/addr.js';
import { Proto, TcpFlag, type PacketInfo } from '../../src/packet/types.js';
import { batchOf, engineFor, RecordingDatapath } from './helpers.js';

const CONFIG = `
links:
  - interface: eth0
    egress: 1gbit
classes:
  fred:
    rate: 100mbit
    set_mark: 0x1/0xff
    match: user == "fred"
  curl:
    rate: 100mbit
    set_mark: 0x2/0xff
    match: cmd == "curl"
  web:
    rate: 100mbit
    set_mark: 0x3/0xff
    match: l7 == "http" and l7.host == "example.com"
  slovak:
    rate: 100mbit
    set_mark: 0x4/0xff
    match: cc == "SK"
  default:
    rate: 100mbit
    set_mark: 0x9/0xff
`;
const FRED: OwnerFacts = { ...NO_OWNER, found: true, known: true, pid: 10, uid: 1000, gid: 1000, user: 'fred', group: 'fred', cmd: 'wget' };
const ALICE_CURL: OwnerFacts = { ...NO_OWNER, found: true, known: true, pid: 11, uid: 1001, gid: 1001, user: 'alice', group: 'alice', cmd: 'curl' };

/** An owner source answering when the test says so. */
class HandOwners implements OwnerSource {
  requests: Array<{ flow: number; generation: number; dport: number }> = [];
  answers: Array<[number, number, OwnerFacts]> = [];
  refuse = false;
  request(flow: number, generation: number, pkt: PacketInfo): boolean {
    if (this.refuse) return false;
    this.requests.push({ flow, generation, dport: pkt.dport });
    return true;
  }
  fromKernel(uid: number, gid: number): OwnerFacts {
    return { ...NO_OWNER, found: true, uid, gid, user: uid === 1000 ? 'fred' : `uid${uid}` };
  }
  answer(i: number, owner: OwnerFacts): void {
    const r = this.requests[i];
    this.answers.push([r.flow, r.generation, owner]);
  }
  poll(sink: OwnerAnswerSink): number {
    const n = this.answers.length;
    for (const [flow, generation, owner] of this.answers) sink(flow, generation, owner);
    this.answers = [];
    return n;
  }
}

const tcp = (sport: number, extra: Partial<PacketSpec> = {}): Buffer =>
  buildPacket({ ipVersion: 4, proto: Proto.TCP, src: '192.168.1.10', dst: '203.0.113.5', sport, dport: 443, tcpFlags: TcpFlag.ACK, payloadBytes: 100, ...extra });

function setup(opts: { owners?: OwnerSource; countries?: CountryLookup; ownerWaitUs?: number } = {}) {
  const dp = new RecordingDatapath();
  const engine = engineFor(CONFIG, dp, opts);
  let handle = 1;
  const send = (buf: Buffer, atUs: number, extra: { uid?: number; dir?: Direction } = {}): number => {
    const h = handle++;
    engine.receive(batchOf([{ handle: h, buf, atUs, ...extra }]));
    return h;
  };
  return { dp, engine, send, markOf: (h: number) => dp.marks.get(h) };
}

test('a new connection waits for its owner, then all its packets go to the owner\'s class in arrival order', () => {
  const owners = new HandOwners();
  const { dp, engine, send, markOf } = setup({ owners });
  const syn = send(tcp(40000, { tcpFlags: TcpFlag.SYN, payloadBytes: 0 }), 0);
  const second = send(tcp(40000), 50);
  engine.pump(100);
  assert.equal(owners.requests.length, 1, 'one lookup per connection');
  assert.deepEqual(dp.accepted, [], 'nothing leaves before the owner is known');
  owners.answer(0, ALICE_CURL);
  engine.pump(300);
  assert.deepEqual(dp.accepted, [syn, second], 'arrival order');
  assert.deepEqual([markOf(syn), markOf(second)], [2, 2], 'the SYN itself is in the curl class');
  const later = send(tcp(40000), 400);
  engine.pump(400);
  assert.equal(markOf(later), 2);
  assert.equal(owners.requests.length, 1);
  const s = engine.stats(500).owners;
  assert.deepEqual([s.requested, s.answered, s.waitedPackets, s.timedOut], [1, 1, 2, 0]);
});

test('an owner that does not come in time: the packets go on without one (never dropped), and a late answer reclassifies the flow', () => {
  const owners = new HandOwners();
  const { dp, engine, send, markOf } = setup({ owners, ownerWaitUs: 3000 });
  const first = send(tcp(40001), 0);
  assert.ok(engine.pump(10) <= 10 + 200, 'pump asks to be called again soon while packets wait');
  engine.pump(2999);
  assert.deepEqual(dp.accepted, []);
  engine.pump(3000);
  assert.deepEqual(dp.accepted, [first]);
  assert.equal(markOf(first), 9, 'default: no owner, no user rule holds');
  assert.equal(engine.stats(3000).owners.timedOut, 1);
  owners.answer(0, FRED);
  engine.pump(4000);
  const after = send(tcp(40001), 4100);
  engine.pump(4100);
  assert.equal(markOf(after), 1, 'reclassified once the owner is known');
});

test('the kernel uid of a locally sent packet answers user rules with no lookup; cmd rules still look up', () => {
  const owners = new HandOwners();
  const dp = new RecordingDatapath();
  const userOnly = CONFIG.replace(/ {2}curl:[\s\S]*?match: cmd == "curl"\n/, '');
  const engine = engineFor(userOnly, dp, { owners });
  engine.receive(batchOf([{ handle: 1, buf: tcp(40002), atUs: 0, uid: 1000, gid: 1000 }]));
  engine.pump(0);
  assert.deepEqual(owners.requests, []);
  assert.equal(dp.marks.get(1), 1, 'fred from the kernel uid at once');
  const { send, engine: withCmd } = setup({ owners });
  send(tcp(40003), 0, { uid: 1000 });
  withCmd.pump(0);
  assert.equal(owners.requests.length, 1, 'a cmd rule needs the process: the uid alone is not enough');
});

test('no lookup possible (refused) or no owner source: no wait, no owner, no drop', () => {
  const owners = new HandOwners();
  owners.refuse = true;
  const { dp, engine, send, markOf } = setup({ owners });
  const h = send(tcp(40004), 0);
  engine.pump(0);
  assert.deepEqual(dp.accepted, [h]);
  assert.equal(markOf(h), 9);
  const plain = setup();
  const h2 = plain.send(tcp(40005), 0);
  plain.engine.pump(0);
  assert.equal(plain.markOf(h2), 9);
});

test('the waiting room is bounded: past it packets go on unwaited and are counted', () => {
  const owners = new HandOwners();
  const { dp, engine, send } = setup({ owners });
  for (let i = 0; i < 300; i++) send(tcp(20000 + i), i);
  engine.pump(300);
  const s = engine.stats(300).owners;
  assert.equal(s.waitedPackets, 256);
  assert.equal(s.roomFull, 44);
  assert.equal(dp.accepted.length, 44, 'the unwaited ones leave at once');
  engine.pump(10_000);
  assert.equal(dp.accepted.length, 300, 'every waiting packet leaves by its deadline');
  assert.equal(new Set(dp.accepted).size, 300);
});

test('l7: a flow is pending until its protocol is decided, and the deciding packet is already in the l7 class', () => {
  const { engine, send, markOf } = setup();
  const syn = send(tcp(40010, { tcpFlags: TcpFlag.SYN, payloadBytes: 0 }), 0);
  const request = Buffer.from('GET / HTTP/1.1\r\nHost: Example.com\r\nUser-Agent: t\r\n\r\n');
  const buf = tcp(40010, { tcpFlags: TcpFlag.ACK | TcpFlag.PSH, payloadBytes: request.length });
  request.copy(buf, buf.length - request.length);
  buf.writeUInt32BE(1, 24); // sequence number: the byte after the SYN
  const get = send(buf, 10);
  engine.pump(20);
  assert.equal(markOf(syn), 9, 'pending: default');
  assert.equal(markOf(get), 3, 'http to example.com from the request on');
  assert.equal(engine.stats(20).l7Decided, 1);
});

test('cc is the country of the remote address: the destination on egress, the source on ingress', () => {
  const seen: string[] = [];
  const countries: CountryLookup = {
    lookup(b: Buffer, offset: number, ipVersion: number, out: CountryAnswer): void {
      const addr = formatAddress(b, offset, ipVersion === 4 ? 4 : 16);
      seen.push(addr);
      out.cc = addr === '203.0.113.5' ? 'SK' : '--';
      out.name = out.cc === 'SK' ? 'Slovakia' : 'private/local';
    },
  };
  const { engine, send, markOf } = setup({ countries });
  const out = send(tcp(40020), 0);
  const back = send(buildPacket({ ipVersion: 4, proto: Proto.TCP, src: '203.0.113.5', dst: '192.168.1.10', sport: 443, dport: 40020, payloadBytes: 10 }), 10, { dir: Direction.INGRESS });
  engine.pump(20);
  assert.equal(markOf(out), 4);
  assert.deepEqual(seen, ['203.0.113.5'], 'looked up once per flow and direction classified (ingress is not shaped here)');
  assert.equal(markOf(back), undefined);
});

test('a per-packet rule reading flow facts reads the packet\'s own flow\'s, not the last classified flow\'s', () => {
  const owners = new HandOwners();
  const dp = new RecordingDatapath();
  const engine = engineFor(`
links:
  - interface: eth0
    egress: 1gbit
classes:
  interactive:
    rate: 100mbit
    set_mark: 0x1/0xff
    match: tcp.syn or cmd == "ssh" or cc == "SK"
  default:
    rate: 100mbit
    set_mark: 0x9/0xff
`, dp, {
    owners,
    countries: { lookup: (b, o, _v, out) => void ((out.cc = b[o + 3] === 7 ? 'SK' : 'US'), (out.name = '')) },
  });
  const toCurl = tcp(40100);
  const toSsh = buildPacket({ ipVersion: 4, proto: Proto.TCP, src: '192.168.1.10', dst: '203.0.113.6', sport: 40101, dport: 22, tcpFlags: TcpFlag.ACK, payloadBytes: 100 });
  const toSk = buildPacket({ ipVersion: 4, proto: Proto.TCP, src: '192.168.1.10', dst: '203.0.113.7', sport: 40102, dport: 443, tcpFlags: TcpFlag.ACK, payloadBytes: 100 });
  engine.receive(batchOf([{ handle: 1, buf: toCurl }, { handle: 2, buf: toSsh }, { handle: 3, buf: toSk }]));
  owners.answer(0, ALICE_CURL);
  owners.answer(1, { ...ALICE_CURL, cmd: 'ssh' });
  owners.answer(2, ALICE_CURL);
  engine.pump(300);
  // Interleaved: each packet's per-packet check must see its own flow's owner and country.
  let handle = 10;
  const order: Array<[Buffer, number]> = [[toSsh, 1], [toCurl, 9], [toSk, 1], [toCurl, 9], [toSsh, 1], [toCurl, 9]];
  for (const [buf] of order) engine.receive(batchOf([{ handle: handle++, buf, atUs: 400 }]));
  engine.pump(500);
  assert.deepEqual(order.map((_, i) => dp.marks.get(10 + i)), order.map(([, mark]) => mark));
});
