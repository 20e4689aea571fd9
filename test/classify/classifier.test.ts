import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Classifier, type ClassRule } from '../../src/classify/classifier.js';
import type { CompiledRule } from '../../src/classify/compile.js';
import { Direction } from '../../src/datapath/types.js';
import { Proto, TcpFlag } from '../../src/packet/types.js';
import { allocationsDuring, ctxFor, refill, rule } from './helpers.js';

interface Spec {
  path: string;
  match?: string;
  /** Force an inner class even without children. */
  inner?: boolean;
}

/** Builds a classifier from paths in tree order; counts every rule evaluation per path. */
function tree(specs: Spec[], defaultPath = 'default') {
  const paths = specs.map((s) => s.path);
  const evaluations = new Map<string, number>(paths.map((p) => [p, 0]));
  const classes: ClassRule[] = specs.map((s) => {
    const parentPath = s.path.includes('/') ? s.path.slice(0, s.path.lastIndexOf('/')) : null;
    const compiled = s.match === undefined ? null : rule(s.match);
    const counted: CompiledRule | null = compiled && {
      ...compiled,
      test: (ctx) => {
        evaluations.set(s.path, (evaluations.get(s.path) ?? 0) + 1);
        return compiled.test(ctx);
      },
    };
    return {
      path: s.path,
      parent: parentPath === null ? -1 : paths.indexOf(parentPath),
      isLeaf: !s.inner && !paths.some((p) => p.startsWith(`${s.path}/`)),
      rule: counted,
    };
  });
  const classifier = new Classifier(classes, paths.indexOf(defaultPath));
  const name = (i: number) => paths[i];
  const total = () => [...evaluations.values()].reduce((a, b) => a + b, 0);
  const reset = () => paths.forEach((p) => evaluations.set(p, 0));
  return { classifier, name, evaluations, total, reset, paths };
}

const web = { ipVersion: 4 as const, src: '192.168.1.10', dst: '203.0.113.5', proto: Proto.TCP, sport: 50000, dport: 443 };
const dns = { ipVersion: 4 as const, src: '192.168.1.10', dst: '10.0.0.53', proto: Proto.UDP, sport: 40000, dport: 53 };
const torrent = { ipVersion: 4 as const, src: '192.168.1.10', dst: '198.51.100.7', proto: Proto.TCP, sport: 62000, dport: 51413 };

/** The leaf path for a packet, checked three ways: full walk, and flow + packet split. */
function leaf(t: ReturnType<typeof tree>, ctx: ReturnType<typeof ctxFor>): string {
  const full = t.classifier.classify(ctx);
  const split = t.classifier.classifyPacket(ctx, t.classifier.classifyFlow(ctx));
  assert.equal(t.name(split), t.name(full), 'the flow/packet split agrees with the full walk');
  return t.name(full);
}

test('siblings are tried in the order written; the first that holds wins', () => {
  const a = tree([{ path: 'web', match: 'rport == 443' }, { path: 'tls', match: 'rport in [443, 993]' }, { path: 'default' }]);
  assert.equal(leaf(a, ctxFor(web)), 'web');
  const b = tree([{ path: 'tls', match: 'rport in [443, 993]' }, { path: 'web', match: 'rport == 443' }, { path: 'default' }]);
  assert.equal(leaf(b, ctxFor(web)), 'tls');
  assert.equal(leaf(b, ctxFor(dns)), 'default');
});

test('a class without a rule is the catch-all at its level; classes after it are unreachable', () => {
  const t = tree([{ path: 'web', match: 'rport == 443' }, { path: 'default' }, { path: 'late', match: 'rport == 53' }]);
  assert.equal(leaf(t, ctxFor(dns)), 'default');
  assert.deepEqual(t.classifier.unreachable.map(t.name), ['late']);
});

test('nesting narrows, the deepest match wins, and an inner class falls back to its default child', () => {
  const t = tree([
    { path: 'torrents', match: 'lport in 61000..63000' },
    { path: 'torrents/lan', match: 'raddr in 10.0.0.0/8' },
    { path: 'torrents/default' },
    { path: 'lan', match: 'raddr in 10.0.0.0/8' },
    { path: 'default' },
  ]);
  assert.equal(leaf(t, ctxFor(torrent)), 'torrents/default');
  assert.equal(leaf(t, ctxFor({ ...torrent, dst: '10.1.1.1' })), 'torrents/lan');
  assert.equal(leaf(t, ctxFor({ ...torrent, sport: 5000, dst: '10.1.1.1' })), 'lan', 'child not tried when the parent fails');
  assert.equal(leaf(t, ctxFor(web)), 'default');
});

test('an inner class with no matching child and no default child sends the packet to the link default', () => {
  const t = tree([
    { path: 'torrents', match: 'lport in 61000..63000' },
    { path: 'torrents/fred', match: 'raddr in 10.0.0.0/8' },
    { path: 'bulk', match: 'proto == "tcp"' },
    { path: 'default' },
  ]);
  assert.equal(leaf(t, ctxFor(torrent)), 'default', 'not bulk: the walk does not back out of torrents');
  assert.equal(leaf(t, ctxFor({ ...torrent, dst: '10.0.0.9' })), 'torrents/fred');
  assert.equal(leaf(t, ctxFor(web)), 'bulk');
});

test('a default child is entered by fallback even when it has a rule, and descended into', () => {
  const t = tree([
    { path: 'p', match: 'proto == "tcp"' },
    { path: 'p/a', match: 'rport == 80' },
    { path: 'p/default', match: 'rport == 1' },
    { path: 'p/default/x', match: 'lport > 60000' },
    { path: 'p/default/y' },
    { path: 'default' },
  ]);
  assert.equal(leaf(t, ctxFor(web)), 'p/default/y');
  assert.equal(leaf(t, ctxFor(torrent)), 'p/default/x');
  assert.equal(leaf(t, ctxFor(dns)), 'default');
});

test('the link default leaf may be any leaf and is used when nothing at the top matches', () => {
  const t = tree([{ path: 'web', match: 'rport == 443' }, { path: 'other', match: 'proto == "icmp"' }], 'other');
  assert.equal(leaf(t, ctxFor(dns)), 'other');
  assert.throws(() => new Classifier([{ path: 'a', parent: -1, isLeaf: false, rule: null }], 0), /not a leaf/);
  assert.throws(() => new Classifier([{ path: 'a', parent: 0, isLeaf: true, rule: null }], 0), /must come before/);
});

test('the per-packet split: a SYN of a web flow goes to interactive, its data to web, classifyFlow once', () => {
  const t = tree([
    { path: 'interactive', match: 'tcp.syn' },
    { path: 'web', match: 'rport in [80, 443]' },
    { path: 'default' },
  ]);
  const { classifier: c } = t;
  const ctx = ctxFor({ ...web, tcpFlags: TcpFlag.SYN });
  const flow = c.classifyFlow(ctx); // once, on the first packet, cached by the caller
  assert.equal(t.name(c.leafOf(flow)), 'web');
  assert.equal(c.needsPerPacket(flow), true);
  t.reset();
  assert.equal(t.name(c.classifyPacket(ctx, flow)), 'interactive');
  refill(ctx, { ...web, dst: web.src, src: web.dst, sport: 443, dport: 50000, tcpFlags: TcpFlag.SYN | TcpFlag.ACK }, Direction.INGRESS);
  assert.equal(t.name(c.classifyPacket(ctx, flow)), 'interactive', 'the SYN-ACK too');
  refill(ctx, { ...web, tcpFlags: TcpFlag.ACK, payloadBytes: 1200 });
  assert.equal(t.name(c.classifyPacket(ctx, flow)), 'web');
  refill(ctx, { ...web, dst: web.src, src: web.dst, sport: 443, dport: 50000, tcpFlags: TcpFlag.ACK, payloadBytes: 1400 }, Direction.INGRESS);
  assert.equal(t.name(c.classifyPacket(ctx, flow)), 'web');
  assert.equal(t.evaluations.get('web'), 0, 'the flow rule is never re-evaluated per packet');
  assert.equal(t.evaluations.get('interactive'), 4, 'the packet rule before the flow result is, once per packet');
});

test('classifyPacket costs nothing when no packet rule precedes the flow result', () => {
  const t = tree([
    { path: 'web', match: 'rport in [80, 443]' },
    { path: 'interactive', match: 'tcp.syn or dport == 53' },
    { path: 'default' },
  ]);
  const { classifier: c } = t;
  const ctx = ctxFor({ ...web, tcpFlags: TcpFlag.SYN });
  const flow = c.classifyFlow(ctx);
  assert.equal(t.name(flow), 'web');
  assert.equal(c.needsPerPacket(flow), false);
  t.reset();
  assert.equal(c.classifyPacket(ctx, flow), flow);
  assert.equal(t.total(), 0, 'no rule evaluated');
  // A DNS flow ends in default, after the packet rule: that one is re-checked.
  const d = ctxFor(dns);
  const dnsFlow = c.classifyFlow(d);
  assert.equal(t.name(dnsFlow), 'default');
  assert.equal(c.needsPerPacket(dnsFlow), true);
  assert.equal(t.name(c.classifyPacket(d, dnsFlow)), 'interactive');
});

test('a configuration without packet rules never needs per-packet work', () => {
  const t = tree([{ path: 'a', match: 'rport == 443' }, { path: 'b', match: 'proto == "udp"' }, { path: 'default' }]);
  assert.equal(t.classifier.hasPacketRules, false);
  for (const spec of [web, dns, torrent]) {
    const flow = t.classifier.classifyFlow(ctxFor(spec));
    assert.equal(t.classifier.needsPerPacket(flow), false);
    assert.equal(t.classifier.leafOf(flow), flow);
  }
});

test('a packet rule that holds is followed into its subtree, whose rules are then evaluated', () => {
  const t = tree([
    { path: 'small', match: 'length < 100' },
    { path: 'small/dns', match: 'rport == 53' },
    { path: 'small/default' },
    { path: 'udp', match: 'proto == "udp"' },
    { path: 'default' },
  ]);
  const { classifier: c } = t;
  const ctx = ctxFor({ ...dns, payloadBytes: 500 });
  const flow = c.classifyFlow(ctx);
  assert.equal(t.name(flow), 'udp');
  assert.equal(t.name(c.classifyPacket(ctx, flow)), 'udp');
  refill(ctx, { ...dns, payloadBytes: 20 });
  assert.equal(t.name(c.classifyPacket(ctx, flow)), 'small/dns');
});

test('the same leaf reached by different paths gets different outcomes (the link default via fallback)', () => {
  const t = tree([
    { path: 'tcp', match: 'proto == "tcp"' },
    { path: 'tcp/syn', match: 'tcp.syn' },
    { path: 'tcp/web', match: 'rport == 443' },
    { path: 'default' },
  ]);
  const { classifier: c } = t;
  const viaTop = c.classifyFlow(ctxFor(dns)); // no top-level match: no packet rule was skipped
  const viaTcp = c.classifyFlow(ctxFor(torrent)); // fell out of tcp: tcp/syn was skipped
  assert.equal(t.name(viaTop), 'default');
  assert.equal(c.needsPerPacket(viaTop), false);
  assert.notEqual(viaTcp, viaTop);
  assert.ok(viaTcp >= t.paths.length);
  assert.equal(t.name(c.leafOf(viaTcp)), 'default');
  assert.equal(c.needsPerPacket(viaTcp), true);
  assert.equal(t.name(c.classifyPacket(ctxFor(torrent), viaTcp)), 'default');
  assert.equal(t.name(c.classifyPacket(ctxFor({ ...torrent, tcpFlags: TcpFlag.SYN }), viaTcp)), 'tcp/syn');
});

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('random trees and flows: classifyPacket(classifyFlow) always equals the full walk', () => {
  const rnd = random(12345);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const flowRules = ['rport == 443', 'rport in [80, 443, 8000..8999]', 'proto == "udp"', 'proto == "tcp"', 'raddr in 10.0.0.0/8', 'lport > 1024', 'ipv == 6', 'true'];
  const packetRules = ['tcp.syn', 'tcp.pure_ack', 'dport == 53', 'dscp == "ef"', 'length < 100', 'direction == "ingress"', 'tcp.syn or rport == 22', 'flow.packets < 3'];
  const compiled = new Map<string, CompiledRule>([...flowRules, ...packetRules].map((s) => [s, rule(s)]));
  let perPacketSeen = 0;
  for (let round = 0; round < 300; round++) {
    // A random tree of up to 9 classes, some inner, some `default` children, plus a top default.
    const classes: ClassRule[] = [];
    const count = 1 + Math.floor(rnd() * 9);
    for (let i = 0; i < count; i++) {
      const inner = classes.map((c, j) => j).filter((j) => !classes[j].isLeaf);
      const parent = inner.length > 0 && rnd() < 0.6 ? pick(inner) : -1;
      const r = rnd();
      const source = r < 0.15 ? null : r < 0.55 ? pick(flowRules) : pick(packetRules);
      const name = rnd() < 0.2 ? 'default' : `c${i}`;
      classes.push({ path: parent < 0 ? name : `${classes[parent].path}/${name}`, parent, isLeaf: rnd() < 0.6, rule: source === null ? null : compiled.get(source)! });
    }
    classes.push({ path: 'default', parent: -1, isLeaf: true, rule: rnd() < 0.7 ? null : compiled.get(pick(packetRules))! });
    const c = new Classifier(classes, classes.length - 1);
    for (let f = 0; f < 6; f++) {
      const v6 = rnd() < 0.3;
      const base = {
        ipVersion: (v6 ? 6 : 4) as 4 | 6,
        src: v6 ? '2001:db8::10' : '192.168.1.10',
        dst: v6 ? '2001:db8::99' : pick(['10.1.2.3', '203.0.113.5']),
        proto: pick([Proto.TCP, Proto.UDP]),
        sport: pick([1000, 40000, 62000]),
        dport: pick([22, 53, 80, 443, 8080, 51413]),
      };
      const first = ctxFor({ ...base, tcpFlags: TcpFlag.SYN });
      const outcome = c.classifyFlow(first);
      for (let p = 0; p < 8; p++) {
        const reply = rnd() < 0.5;
        const spec = reply ? { ...base, src: base.dst, dst: base.src, sport: base.dport, dport: base.sport } : base;
        const ctx = ctxFor(
          { ...spec, tcpFlags: pick([TcpFlag.SYN, TcpFlag.ACK, TcpFlag.ACK | TcpFlag.PSH]), payloadBytes: pick([0, 10, 1000]), dscp: pick([0, 46]) },
          reply ? Direction.INGRESS : Direction.EGRESS,
          { flowPackets: p },
        );
        if (c.needsPerPacket(outcome)) perPacketSeen++;
        const split = c.needsPerPacket(outcome) ? c.classifyPacket(ctx, outcome) : outcome;
        const full = c.classify(ctx);
        if (split !== full) {
          assert.fail(`round ${round}: split gave ${classes[split]?.path}, full walk ${classes[full].path}\n${JSON.stringify(classes.map((k) => [k.path, k.isLeaf, k.rule?.source]))}`);
        }
      }
    }
  }
  assert.ok(perPacketSeen > 1000, `the random configurations exercise the per-packet path (${perPacketSeen})`);
});

test('classifyFlow and classifyPacket allocate nothing per packet', async () => {
  const t = tree([
    { path: 'interactive', match: 'proto == "icmp" or dport == 53 or tcp.syn or tcp.pure_ack' },
    { path: 'web', match: 'rport in [80, 443]' },
    { path: 'torrents', match: 'lport in 61000..63000' },
    { path: 'torrents/lan', match: 'raddr in 10.0.0.0/8' },
    { path: 'torrents/default' },
    { path: 'default' },
  ]);
  const contexts = [ctxFor({ ...web, tcpFlags: TcpFlag.ACK, payloadBytes: 100 }), ctxFor({ ...torrent, tcpFlags: TcpFlag.SYN }), ctxFor(dns)];
  const { classifier: c } = t;
  let sum = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const ctx = contexts[i % 3];
      sum += c.classifyPacket(ctx, c.classifyFlow(ctx));
    }
  };
  run(50_000);
  const { collections, grewBytes } = await allocationsDuring(() => run(2_000_000));
  assert.ok(sum > 0);
  assert.ok(collections <= 1, `${collections} garbage collections during two million classifications`);
  assert.ok(grewBytes < 1_000_000, `heap grew ${grewBytes} bytes over two million classifications`);
});
