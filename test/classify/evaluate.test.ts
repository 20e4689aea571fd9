import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRule } from '../../src/classify/compile.js';
import { MatchContext, NO_OWNER } from '../../src/classify/context.js';
import { Direction } from '../../src/datapath/types.js';
import { Proto, TcpFlag } from '../../src/packet/types.js';
import { allocationsDuring, ctxFor, holds, rule } from './helpers.js';

const EGRESS = Direction.EGRESS;
const INGRESS = Direction.INGRESS;

// A web flow: this host 192.168.1.10:50000 talks to 203.0.113.5:443.
const webOut = { ipVersion: 4 as const, src: '192.168.1.10', dst: '203.0.113.5', proto: Proto.TCP, sport: 50000, dport: 443 };
const webIn = { ...webOut, src: webOut.dst, dst: webOut.src, sport: 443, dport: 50000 };

test('TCP flags and pure ACK', () => {
  const syn = ctxFor({ ...webOut, tcpFlags: TcpFlag.SYN });
  assert.equal(holds('tcp.syn', syn), true);
  assert.equal(holds('tcp.ack', syn), false);
  assert.equal(holds('tcp.pure_ack', syn), false);
  assert.equal(holds('tcp.syn == false', syn), false);
  assert.equal(holds('tcp.syn != false', syn), true);
  const ack = ctxFor({ ...webOut, tcpFlags: TcpFlag.ACK });
  assert.equal(holds('tcp.pure_ack', ack), true);
  assert.equal(holds('tcp.pure_ack', ctxFor({ ...webOut, tcpFlags: TcpFlag.ACK | TcpFlag.PSH })), true, 'PSH does not matter');
  assert.equal(holds('tcp.pure_ack', ctxFor({ ...webOut, tcpFlags: TcpFlag.ACK, payloadBytes: 1 })), false, 'data');
  assert.equal(holds('tcp.pure_ack', ctxFor({ ...webOut, tcpFlags: TcpFlag.ACK | TcpFlag.FIN })), false);
  assert.equal(holds('tcp.pure_ack', ctxFor({ ...webOut, tcpFlags: TcpFlag.ACK | TcpFlag.SYN })), false);
  assert.equal(holds('tcp.pure_ack', ctxFor({ ...webOut, tcpFlags: TcpFlag.ACK | TcpFlag.RST })), false);
  const finRst = ctxFor({ ...webOut, tcpFlags: TcpFlag.FIN | TcpFlag.RST | TcpFlag.ECE });
  assert.equal(holds('tcp.fin and tcp.rst and tcp.ece and not tcp.cwr', finRst), true);
  const udp = ctxFor({ ...webOut, proto: Proto.UDP });
  assert.equal(holds('tcp.syn or tcp.ack or tcp.pure_ack', udp), false);
});

test('proto compiles names to numbers; ipv, length, ttl, dscp, ecn', () => {
  const ctx = ctxFor({ ...webOut, ipVersion: 6, src: '2001:db8::10', dst: '2001:db8:1::5', dscp: 46, ecn: 3, ttl: 7, payloadBytes: 100 });
  assert.equal(holds('proto == "tcp"', ctx), true);
  assert.equal(holds('proto == 6', ctx), true);
  assert.equal(holds('proto == "udp"', ctx), false);
  assert.equal(holds('proto in ["udp", "tcp"]', ctx), true);
  assert.equal(holds('ipv == 6 and dscp != 0', ctx), true);
  assert.equal(holds('dscp == "ef" and ecn == "ce" and ecn == 3', ctx), true);
  assert.equal(holds('dscp == "af41"', ctx), false);
  assert.equal(holds('length == 160', ctx), true, '40 IPv6 + 20 TCP + 100');
  assert.equal(holds('length > 1KB', ctx), false);
  assert.equal(holds('ttl < 8 and ttl >= 7 and ttl <= 7 and ttl > 6', ctx), true);
});

test('ICMP type and code; -1 for other protocols so type 0 does not match TCP', () => {
  const echo = ctxFor({ ipVersion: 4, src: '10.0.0.1', dst: '10.0.0.2', proto: Proto.ICMP, icmpType: 8, icmpCode: 0 });
  assert.equal(holds('proto == "icmp" and icmp.type == 8 and icmp.code == 0', echo), true);
  const v6 = ctxFor({ ipVersion: 6, src: '::1', dst: '::2', proto: Proto.ICMPV6, icmpType: 135, icmpCode: 0 });
  assert.equal(holds('proto == "icmpv6" and icmp.type == 135', v6), true);
  assert.equal(holds('icmp.type == 0 or icmp.code == 0', ctxFor(webOut)), false);
  assert.equal(holds('icmp.type < 0 and icmp.code < 0', ctxFor(webOut)), true);
  assert.equal(holds('icmp.type < 0', echo), false);
});

test('side-aware ports and addresses swap with direction; src/dst/sport/dport do not', () => {
  const out = ctxFor(webOut, EGRESS);
  const back = ctxFor(webIn, INGRESS);
  for (const ctx of [out, back]) {
    assert.equal(holds('rport == 443 and lport == 50000', ctx), true);
    assert.equal(holds('raddr == 203.0.113.5 and laddr == 192.168.1.10', ctx), true);
    assert.equal(holds('laddr in 192.168.0.0/16 and not (raddr in 192.168.0.0/16)', ctx), true);
  }
  assert.equal(holds('dport == 443 and sport == 50000 and direction == "egress"', out), true);
  assert.equal(holds('dport == 443', back), false);
  assert.equal(holds('sport == 443 and direction == "ingress" and src == 203.0.113.5 and dst == 192.168.1.10', back), true);
});

test('flow figures with units', () => {
  const ctx = ctxFor(webOut, EGRESS, { flowBytes: 12_000_000, flowPackets: 9000, flowAgeUs: 6_000_000, flowRateBps: 500_000 });
  assert.equal(holds('flow.bytes > 10MB and flow.packets >= 9000 and flow.age > 5s and flow.rate > 400kbit', ctx), true);
  assert.equal(holds('flow.rate > 1mbit', ctx), false);
  assert.equal(holds('flow.bytes in 1MB..10MB', ctx), false);
});

test('number sets: lists, ranges, mixtures and many ranges (bisection) agree with a plain check', () => {
  const ctx = new MatchContext();
  const sources = [
    'rport in [80, 443, 8000..8999]',
    'rport in [22]',
    'rport in [1, 2, 3, 5, 8, 13, 21]',
    'rport in 6881..6999',
    'rport in [10..20, 15..30, 31, 50..60, 70, 80..90, 100, 200..300, 1000]',
    'rport not in [80, 443]',
  ];
  const reference: Array<(p: number) => boolean> = [
    (p) => p === 80 || p === 443 || (p >= 8000 && p <= 8999),
    (p) => p === 22,
    (p) => [1, 2, 3, 5, 8, 13, 21].includes(p),
    (p) => p >= 6881 && p <= 6999,
    (p) => (p >= 10 && p <= 31) || (p >= 50 && p <= 60) || p === 70 || (p >= 80 && p <= 90) || p === 100 || (p >= 200 && p <= 300) || p === 1000,
    (p) => p !== 80 && p !== 443,
  ];
  ctx.pkt.proto = Proto.TCP;
  sources.forEach((src, i) => {
    const r = rule(src);
    for (let port = 0; port <= 10_000; port++) {
      ctx.pkt.dport = port;
      if (r.test(ctx) !== reference[i](port)) assert.fail(`${src} at port ${port}`);
    }
  });
});

test('regular expressions and string sets on a string attribute (cmd)', () => {
  const ctx = new MatchContext();
  const withCmd = (cmd: string): void => {
    ctx.owner = { ...NO_OWNER, found: true, known: true, cmd };
  };
  const re = compileRule('cmd ~ "^transmission"', { label: 'r' });
  const set = compileRule('cmd in ["curl", "wget", "git"]', { label: 'r' });
  const ne = compileRule('cmd != "sshd"', { label: 'r' });
  withCmd('transmission-daemon');
  assert.deepEqual([re.test(ctx), set.test(ctx), ne.test(ctx)], [true, false, true]);
  withCmd('wget');
  assert.deepEqual([re.test(ctx), set.test(ctx), ne.test(ctx)], [false, true, true]);
  withCmd('sshd');
  assert.deepEqual([re.test(ctx), set.test(ctx), ne.test(ctx)], [false, false, false]);
  withCmd('my transmission');
  assert.equal(re.test(ctx), false, 'anchored');
  const insensitive = compileRule('cmd ~ "(?i)^TRANS"', { label: 'r' });
  withCmd('Transmission');
  assert.deepEqual([insensitive.test(ctx), re.test(ctx)], [true, false]);
  withCmd('transmission-gtk');
  assert.equal(re.test(ctx), true, 'repeated tests give the same answer (no lastIndex state)');
  assert.equal(re.test(ctx), true);
});

test('constant folding: fewer attributes read, constant rules', () => {
  const always = rule('tcp.syn or true');
  assert.equal(always.test(new MatchContext()), true);
  assert.equal(always.attributes.size, 0);
  assert.equal(always.perPacket, false, 'a folded-away packet attribute does not make the rule per-packet');
  const never = rule('rport in [] and tcp.syn');
  assert.equal(never.test(new MatchContext()), false);
  assert.equal(never.attributes.size, 0);
  const kept = rule('not not (rport == 80 and true)');
  assert.deepEqual([...kept.attributes], ['rport']);
  assert.equal(rule('not (rport < 80)').test(Object.assign(new MatchContext(), { direction: EGRESS })), false, 'dport 0 < 80');
});

test('scope: flow-only rules are not per packet; any packet attribute makes one per packet', () => {
  assert.equal(rule('rport in [80, 443] and proto == "tcp" and raddr in 10.0.0.0/8 and ipv == 4').perPacket, false);
  assert.equal(rule('rport == 80 or tcp.syn').perPacket, true);
  assert.equal(rule('dport == 53').perPacket, true);
  assert.equal(rule('flow.bytes > 1MB').perPacket, true);
  assert.deepEqual([...rule('proto == "icmp" or dport == 53 or tcp.syn or tcp.pure_ack').attributes].sort(), ['dport', 'proto', 'tcp.pure_ack', 'tcp.syn']);
});

test('evaluation allocates nothing per packet', async () => {
  const r = rule('(rport in [80, 443, 8000..8999] or raddr in [10.0.0.0/8, 2001:db8::/32]) and not tcp.syn and flow.bytes < 10MB');
  const ctx = ctxFor({ ...webOut, tcpFlags: TcpFlag.ACK });
  for (let i = 0; i < 20_000; i++) r.test(ctx); // warm up
  let hits = 0;
  const { collections, grewBytes } = await allocationsDuring(() => {
    for (let i = 0; i < 2_000_000; i++) if (r.test(ctx)) hits++;
  });
  assert.equal(hits, 2_000_000);
  assert.ok(collections <= 1, `${collections} garbage collections during two million evaluations`);
  assert.ok(grewBytes < 1_000_000, `heap grew ${grewBytes} bytes over two million evaluations`);
});

test('chains of every length of and/or, mixed with not, agree with their truth table', () => {
  const ctx = new MatchContext();
  // Bits of ctx.pkt.ttl stand for atoms a0..a5: atom i holds when bit i of ttl is set.
  const atoms = [0, 1, 2, 3, 4, 5].map((i) => `ttl in [${Array.from({ length: 64 }, (_, v) => v).filter((v) => (v >> i) & 1).join(', ')}]`);
  for (let n = 1; n <= 6; n++) {
    const ops = atoms.slice(0, n);
    const anyRule = rule(ops.map((a) => `(${a})`).join(' or '));
    const allRule = rule(ops.map((a) => `(${a})`).join(' and '));
    const mixed = rule(ops.map((a, i) => (i % 2 ? `not (${a})` : `(${a})`)).join(' and ') + ` or (${atoms[5]})`);
    for (let ttl = 0; ttl < 64; ttl++) {
      ctx.pkt.ttl = ttl;
      const bit = (i: number) => ((ttl >> i) & 1) === 1;
      const idx = ops.map((_, i) => i);
      assert.equal(anyRule.test(ctx), idx.some(bit), `or of ${n} at ${ttl}`);
      assert.equal(allRule.test(ctx), idx.every(bit), `and of ${n} at ${ttl}`);
      assert.equal(mixed.test(ctx), idx.every((i) => (i % 2 ? !bit(i) : bit(i))) || bit(5), `mixed ${n} at ${ttl}`);
    }
  }
});
