/**
 * Rule evaluation with 100 classes of mixed rules (issue 4's benchmark): the realistic tree of
 * rule-set.ts (nine groups of ten, per-packet `interactive` first as in sketch-config.yaml, port
 * lists, ranges, IPv4 and IPv6 prefix lists, `tcp.pure_ack or length < 128`, `dscp`, `flow.bytes`),
 * over 1000 flows of 16 packets, both directions, TCP, UDP, ICMP and ESP, IPv4 and IPv6 (no
 * v4-mapped addresses: the hand-written function does not handle them).
 *
 * Three figures, each beside a baseline measured in the same run:
 * - uncached: the classifier alone, classifyFlow + classifyPacket for every packet (each packet
 *   classified from scratch, as a flow's first packet is), against a hand-written function that
 *   tests the same conditions in the same order (pattern leaves, whose ranges do not overlap, are
 *   found by arithmetic on the byte or port, as a person would write it);
 * - cached: the classifier alone, the flow's outcome cached (what the engine does for every packet
 *   after a flow's first), so only the per-packet checks run (here at least interactive's rule, for
 *   every flow), against the same hand-written function (which has no cache: it tests everything);
 * - engine: the whole packet path (parse, flow table, cached classification, enqueue, dequeue,
 *   verdict) on a 100 Gbit/s link where nothing waits, packets in batches of 32 from flows in
 *   random order, against the same engine and packets with one class and no rules. The difference
 *   is what the tree costs the engine per packet: the rules, the flow counters `flow.bytes` makes the
 *   engine read, and a scheduler with three levels and many busy leaves instead of one class.
 * The classifier is timed over windows of 1000 packets, each window classified 8 times in a row, so
 * that packets are in cache as after their receipt (16000 packets visited in turn would measure
 * cache misses more than rules). Before timing, the three classifiers and the engine (per-class packet counts) are checked to agree
 * on every packet.
 *
 * Run: node --import tsx bench/classify/classes100.bench.ts
 */
import { CountingDatapath } from '../engine/counting-datapath.js';
import { Classifier, type ClassRule } from '../../src/classify/classifier.js';
import { compileRule } from '../../src/classify/compile.js';
import { MatchContext } from '../../src/classify/context.js';
import { parseConfigText } from '../../src/control/load.js';
import { resolveLinks } from '../../src/control/resolve.js';
import { Direction, type PacketBatch } from '../../src/datapath/types.js';
import { Engine } from '../../src/engine/engine.js';
import { buildPacket, type PacketSpec } from '../../src/packet/build.js';
import { parsePacket } from '../../src/packet/parse.js';
import { PacketInfo, Proto, TcpFlag } from '../../src/packet/types.js';
import { classesYaml, mixedClasses } from './rule-set.js';

const CLASSES = 100;
const FLOWS = 1000;
const PACKETS_PER_FLOW = 16;
const BATCH = 32;
/** Packets per timed engine run, and the engine clock's step per packet (at most 51 Gbit/s offered). */
const ENGINE_PACKETS = 1 << 19;
const ENGINE_RUNS = 8;
const ENGINE_STEP_US = 0.2;

const classes = mixedClasses(CLASSES);
const rules: ClassRule[] = classes.map((c) => ({
  path: c.path,
  parent: c.parent,
  isLeaf: c.isLeaf,
  rule: c.match === null ? null : compileRule(c.match, { label: `classes.${c.path}.match` }),
}));
const at = (path: string): number => {
  const i = classes.findIndex((c) => c.path === path);
  if (i < 0) throw new Error(`no class ${path} in the ${CLASSES}-class tree`);
  return i;
};
const DEFAULT = at('default');
const classifier = new Classifier(rules, DEFAULT);

// ---- The same policy, hand-written: leaf indexes, then one if per group in the order tried. ----
const patternCount = (group: string) => classes.filter((c) => c.path.startsWith(`${group}/n`)).length;
const [I_SMALL, I_PING, I_DNS, I_N0, I_DEF] = ['small', 'ping', 'dns', 'n0', 'default'].map((n) => at(`interactive/${n}`));
const [V_EF, V_N0, V_DEF] = ['ef', 'n0', 'default'].map((n) => at(`voice/${n}`));
const [W_BULK, W_N0, W_DEF] = ['bulk', 'n0', 'default'].map((n) => at(`web/${n}`));
const [Q_N0, Q_DEF] = ['n0', 'default'].map((n) => at(`quic/${n}`));
const [G_N0, G_DEF] = ['n0', 'default'].map((n) => at(`games/${n}`));
const [T_LAN, T_N0, T_DEF] = ['lan', 'n0', 'default'].map((n) => at(`torrents/${n}`));
const [VPN_N0, VPN_DEF] = ['n0', 'default'].map((n) => at(`vpn/${n}`));
const [B_BULK, B_N0, B_DEF] = ['bulk', 'n0', 'default'].map((n) => at(`backup/${n}`));
const [M_N0, M_DEF] = ['n0', 'default'].map((n) => at(`mail/${n}`));
const [I_N, V_N, W_N, Q_N, G_N, T_N, VPN_N, B_N, M_N] =
  ['interactive', 'voice', 'web', 'quic', 'games', 'torrents', 'vpn', 'backup', 'mail'].map(patternCount);
const EGRESS: number = Direction.EGRESS;

/** Whether the IPv6 address at o is in 2001:db8::/32. */
function db8(b: Buffer, o: number): boolean {
  return b[o] === 0x20 && b[o + 1] === 0x01 && b[o + 2] === 0x0d && b[o + 3] === 0xb8;
}
/** k when the IPv6 address at o is in fd00:0:0:k::/64 (k < 256), else -1. */
function ulaSubnet(b: Buffer, o: number): number {
  for (let i = 1; i < 7; i++) if (b[o + i] !== 0) return -1;
  return b[o] === 0xfd ? b[o + 7] : -1;
}
/** Pattern leaf k (0 <= k < count) as a leaf index, or the group's default. */
function pick(k: number, count: number, first: number, fallback: number): number {
  return k >= 0 && k < count ? first + k : fallback;
}

function handWritten(ctx: MatchContext): number {
  const p = ctx.pkt;
  const b = p.buf;
  const egress = ctx.direction === EGRESS;
  const proto = p.proto;
  const v4 = p.ipVersion === 4;
  const rport = egress ? p.dport : p.sport;
  const lport = egress ? p.sport : p.dport;
  const ro = egress ? p.dstOffset : p.srcOffset;
  const icmp = proto === 1 || proto === 58;
  const pureAck = proto === 6 && p.hasL4 && (p.tcpFlags & 0x17) === 0x10 && p.payloadBytes === 0;
  if (icmp || p.dport === 53 || (p.tcpFlags & 0x02) !== 0 || pureAck || rport === 22 || rport === 123 || rport === 853) {
    if (pureAck || p.ipBytes < 128) return I_SMALL;
    if (icmp) return I_PING;
    if (p.dport === 53 || rport === 853) return I_DNS;
    const lo = egress ? p.srcOffset : p.dstOffset; // 192.168.k.0/24, fd00:0:0:k::/64
    return pick(v4 ? (b[lo] === 192 && b[lo + 1] === 168 ? b[lo + 2] : -1) : ulaSubnet(b, lo), I_N, I_N0, I_DEF);
  }
  if (proto === 17 && rport >= 16384 && rport <= 32767) {
    return p.dscp === 46 ? V_EF : pick((rport - 16384) >> 10, V_N, V_N0, V_DEF);
  }
  if (proto === 6 && (rport === 80 || rport === 443 || rport === 8080 || rport === 8443)) {
    if (ctx.flowBytes > 10e6) return W_BULK; // 198.18.k.0/24, 2001:db8:k::/48
    const k = v4 ? (b[ro] === 198 && b[ro + 1] === 18 ? b[ro + 2] : -1) : db8(b, ro) && b[ro + 4] === 0 ? b[ro + 5] : -1;
    return pick(k, W_N, W_N0, W_DEF);
  }
  if (proto === 17 && rport === 443) {
    const k = v4 ? (b[ro] === 198 && b[ro + 1] === 19 ? b[ro + 2] : -1) : db8(b, ro) && b[ro + 4] === 0 ? b[ro + 5] - 0x10 : -1;
    return pick(k, Q_N, Q_N0, Q_DEF);
  }
  if ((rport >= 27000 && rport <= 27999) || rport === 3074 || rport === 3478 || rport === 3479) {
    return pick(rport >= 27000 ? ((rport - 27000) / 100) | 0 : -1, G_N, G_N0, G_DEF);
  }
  if ((lport >= 61000 && lport <= 63000) || (rport >= 6881 && rport <= 6999)) {
    const lan = v4 ? b[ro] === 10 || (b[ro] === 192 && b[ro + 1] === 168) : (b[ro] & 0xfe) === 0xfc;
    return lan ? T_LAN : pick(lport >= 61000 ? ((lport - 61000) / 200) | 0 : -1, T_N, T_N0, T_DEF);
  }
  if (proto === 50 || rport === 500 || rport === 1194 || rport === 4500 || rport === 51820) {
    const k = v4 ? (b[ro] === 203 && b[ro + 1] === 0 && b[ro + 2] === 113 ? b[ro + 3] >> 4 : -1) : db8(b, ro) && b[ro + 4] === 0 ? b[ro + 5] - 0x20 : -1;
    return pick(k, VPN_N, VPN_N0, VPN_DEF);
  }
  if (v4 ? b[ro] === 100 && (b[ro + 1] & 0xc0) === 64 : db8(b, ro) && b[ro + 4] === 0xba) {
    if (ctx.flowBytes > 100e6) return B_BULK;
    return pick(rport >= 9200 ? rport - 9200 : rport - 9100, B_N, B_N0, B_DEF);
  }
  if (rport === 25 || rport === 110 || rport === 143 || rport === 465 || rport === 587 || rport === 993 || rport === 995) {
    const k = v4 ? (b[ro] === 192 && b[ro + 1] === 0 && b[ro + 2] === 2 ? b[ro + 3] >> 4 : -1) : db8(b, ro) && b[ro + 4] === 0 ? b[ro + 5] - 0x30 : -1;
    return pick(k, M_N, M_N0, M_DEF);
  }
  return DEFAULT;
}

// ---- Traffic: FLOWS flows from pools that hit every group, PACKETS_PER_FLOW packets each. ----
let seed = 11;
const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
const RPORTS = [80, 443, 443, 443, 8080, 8443, 22, 53, 123, 853, 25, 587, 993, 500, 4500, 51820, 3074];
function remotePort(): number {
  switch (rnd(6)) {
    case 0: return 16384 + rnd(16384);
    case 1: return 27000 + rnd(1000);
    case 2: return [6881 + rnd(119), 9100 + rnd(10), 9200 + rnd(10)][rnd(3)];
    case 3: return 1024 + rnd(60000);
    default: return RPORTS[rnd(RPORTS.length)];
  }
}
function remoteAddress(v6: boolean): string {
  const k = rnd(10);
  const h = 1 + rnd(250);
  const v4s = [`198.18.${k}.${h}`, `198.19.${k}.${h}`, `203.0.113.${h}`, `100.${64 + rnd(64)}.${k}.${h}`, `192.0.2.${h}`, `10.${k}.0.${h}`, `192.168.50.${h}`, `93.184.216.${h}`];
  const v6s = [`2001:db8:${k}::${h}`, `2001:db8:1${k}::${h}`, `2001:db8:2${k}::${h}`, `2001:db8:3${k}::${h}`, `2001:db8:ba00::${h}`, `fc00::${h}`, `2a00:1450:4001::${h}`];
  return v6 ? v6s[rnd(v6s.length)] : v4s[rnd(v4s.length)];
}
const flowSpecs: PacketSpec[] = [];
for (let f = 0; f < FLOWS; f++) {
  const v6 = rnd(3) === 0;
  const odd = rnd(20);
  const proto = odd === 0 ? (v6 ? Proto.ICMPV6 : Proto.ICMP) : odd === 1 && !v6 ? 50 : rnd(3) === 0 ? Proto.UDP : Proto.TCP;
  const ports = proto === Proto.TCP || proto === Proto.UDP;
  flowSpecs.push({
    ipVersion: v6 ? 6 : 4,
    src: v6 ? `fd00:0:0:${rnd(10)}::10` : `192.168.${rnd(10)}.10`,
    dst: remoteAddress(v6),
    proto,
    sport: ports ? (rnd(5) === 0 ? 61000 + rnd(2100) : 32768 + rnd(28000)) : 0,
    dport: ports ? remotePort() : 0,
    dscp: proto === Proto.UDP && rnd(2) === 0 ? 46 : 0,
  });
}
const contexts: MatchContext[] = [];
const flowOf: number[] = [];
for (let f = 0; f < FLOWS; f++) {
  const base = flowSpecs[f];
  for (let i = 0; i < PACKETS_PER_FLOW; i++) {
    const reply = i % 2 === 1;
    const spec: PacketSpec = reply ? { ...base, src: base.dst, dst: base.src, sport: base.dport, dport: base.sport } : { ...base };
    spec.tcpFlags = i === 0 ? TcpFlag.SYN : i === 1 ? TcpFlag.SYN | TcpFlag.ACK : i % 3 === 0 ? TcpFlag.ACK : TcpFlag.ACK | TcpFlag.PSH;
    spec.payloadBytes = base.proto === Proto.TCP && i % 3 === 0 ? 0 : i % 4 === 2 ? 60 : 1200;
    const buf = buildPacket(spec);
    const ctx = new MatchContext(new PacketInfo());
    if (!parsePacket(buf, 0, buf.length, ctx.pkt)) throw new Error('bench packet did not parse');
    ctx.direction = reply ? Direction.INGRESS : Direction.EGRESS;
    contexts.push(ctx);
    flowOf.push(f);
  }
}
const flowOutcome = new Int32Array(FLOWS).fill(-1);
for (let i = 0; i < contexts.length; i++) {
  if (flowOutcome[flowOf[i]] < 0) flowOutcome[flowOf[i]] = classifier.classifyFlow(contexts[i]);
}

// Same answers from the three, for every packet, before anything is timed.
const handCounts = new Map<string, number>();
for (let i = 0; i < contexts.length; i++) {
  const ctx = contexts[i];
  const a = classifier.classifyPacket(ctx, classifier.classifyFlow(ctx));
  const b = classifier.classifyPacket(ctx, flowOutcome[flowOf[i]]);
  const c = handWritten(ctx);
  if (a !== c || b !== c) throw new Error(`packet ${i}: compiled ${classes[a].path}/${classes[b].path}, hand-written ${classes[c].path}`);
  handCounts.set(classes[c].path, (handCounts.get(classes[c].path) ?? 0) + 1);
}

// ---- Classifier timing: each call classifies one window of packets PASSES times (after the first
// pass its packets are in cache, as a packet just received is), the next call the next window. ----
const WINDOW = 1000;
const PASSES = 8;
let windowStart = 0;
let sink = 0;
function uncached(): void {
  const end = windowStart + WINDOW;
  for (let pass = 0; pass < PASSES; pass++) {
    for (let i = windowStart; i < end; i++) sink += classifier.classifyPacket(contexts[i], classifier.classifyFlow(contexts[i]));
  }
  windowStart = end % contexts.length;
}
function cached(): void {
  const end = windowStart + WINDOW;
  for (let pass = 0; pass < PASSES; pass++) {
    for (let i = windowStart; i < end; i++) {
      const outcome = flowOutcome[flowOf[i]];
      sink += classifier.needsPerPacket(outcome) ? classifier.classifyPacket(contexts[i], outcome) : classifier.leafOf(outcome);
    }
  }
  windowStart = end % contexts.length;
}
function baseline(): void {
  const end = windowStart + WINDOW;
  for (let pass = 0; pass < PASSES; pass++) for (let i = windowStart; i < end; i++) sink += handWritten(contexts[i]);
  windowStart = end % contexts.length;
}

/** ns per packet: best of 5 runs of ~200 ms each, after a warm-up. */
function nsPerPacket(fn: () => void): number {
  for (let i = 0; i < 2 * contexts.length / WINDOW; i++) fn();
  let best = Infinity;
  for (let run = 0; run < 5; run++) {
    let packets = 0;
    const start = process.hrtime.bigint();
    let elapsedNs = 0;
    while (elapsedNs < 200e6) {
      fn();
      packets += WINDOW * PASSES;
      elapsedNs = Number(process.hrtime.bigint() - start);
    }
    best = Math.min(best, elapsedNs / packets);
  }
  return best;
}

// ---- The engine: batches of packets from flows in random order, each flow's packets in turn. ----
function batchOf(packetIndexes: readonly number[]): PacketBatch {
  return {
    count: packetIndexes.length,
    handles: Uint32Array.from(packetIndexes, (_, i) => i),
    links: new Uint16Array(packetIndexes.length),
    directions: Uint8Array.from(packetIndexes, (p) => contexts[p].direction),
    arrivalUs: new Float64Array(packetIndexes.length),
    marks: new Uint32Array(packetIndexes.length),
    uids: new Int32Array(packetIndexes.length).fill(-1),
    gids: new Int32Array(packetIndexes.length).fill(-1),
    inIfindex: new Uint32Array(packetIndexes.length),
    outIfindex: new Uint32Array(packetIndexes.length),
    buffers: packetIndexes.map((p) => contexts[p].pkt.buf),
    offsets: new Uint32Array(packetIndexes.length),
    lengths: Uint32Array.from(packetIndexes, (p) => contexts[p].pkt.buf.length),
  };
}
const inOrder: PacketBatch[] = [];
for (let i = 0; i < contexts.length; i += BATCH) inOrder.push(batchOf(contexts.map((_, p) => p).slice(i, i + BATCH)));
const shuffled: PacketBatch[] = [];
const nextOfFlow = new Int32Array(FLOWS);
for (let b = 0; b < 2048; b++) {
  const picks: number[] = [];
  for (let i = 0; i < BATCH; i++) {
    const f = rnd(FLOWS);
    picks.push(f * PACKETS_PER_FLOW + nextOfFlow[f]);
    nextOfFlow[f] = (nextOfFlow[f] + 1) % PACKETS_PER_FLOW;
  }
  shuffled.push(batchOf(picks));
}

function engineFor(classLines: readonly string[]): { engine: Engine; dp: CountingDatapath; paths: string[] } {
  const text = ['links:', '  - interface: eth0', '    egress: 100gbit', '    ingress: 100gbit', ...classLines, ''].join('\n');
  const r = parseConfigText(text, 'bench.yaml');
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  const links = resolveLinks(r.config);
  const dp = new CountingDatapath();
  return { engine: new Engine(links, dp, { maxFlows: 4 * FLOWS, flowSeed: 1 }), dp, paths: links[0].egress!.sched.classes.map((c) => c.path) };
}
const WITH_RULES = classesYaml(classes);
const NO_RULES = ['classes:', '  default:', '    rate: 100%'];

/** Feeds `count` packets from `batches` (cycled) to a fresh engine; returns ns per packet. */
function runEngine(classLines: readonly string[], batches: readonly PacketBatch[], count: number): { ns: number; engine: Engine } {
  const { engine, dp } = engineFor(classLines);
  let nowUs = 0;
  let fed = 0;
  const t0 = process.hrtime.bigint();
  for (let k = 0; fed < count; k++) {
    const batch = batches[k % batches.length];
    for (let i = 0; i < batch.count; i++) batch.arrivalUs[i] = nowUs;
    engine.receive(batch);
    fed += batch.count;
    nowUs += batch.count * ENGINE_STEP_US;
    engine.pump(nowUs);
    if (engine.queuedPackets !== 0) throw new Error('a packet waited: the link is meant to be too fast for that');
  }
  const ns = Number(process.hrtime.bigint() - t0) / fed;
  if (dp.accepted + dp.dropped !== fed) throw new Error(`${fed} packets in, ${dp.accepted + dp.dropped} verdicts`);
  return { ns, engine };
}

// The engine builds the same tree and puts every packet in the class the hand-written function says.
const treePaths = engineFor(WITH_RULES).paths;
if (treePaths.join() !== classes.map((c) => c.path).join()) throw new Error(`the engine's tree differs: ${treePaths.join()}`);
const once = runEngine(WITH_RULES, inOrder, contexts.length).engine;
for (const dir of once.stats(0).links[0].directions) {
  for (const c of dir.classes) if (c.isLeaf) handCounts.set(c.path, (handCounts.get(c.path) ?? 0) - c.sentPackets);
}
const disagree = [...handCounts].filter(([, n]) => n !== 0);
if (disagree.length > 0) throw new Error(`engine and hand-written function disagree (hand-written minus engine): ${disagree.join('; ')}`);

const base = nsPerPacket(baseline);
const fromScratch = nsPerPacket(uncached);
const perPacket = nsPerPacket(cached);
let engineNs = Infinity;
let plainNs = Infinity;
for (let run = 0; run < ENGINE_RUNS; run++) {
  // Alternating, so that both see the machine's drifting load; the first pair warms up.
  const withRules = runEngine(WITH_RULES, shuffled, ENGINE_PACKETS).ns;
  const plain = runEngine(NO_RULES, shuffled, ENGINE_PACKETS).ns;
  if (run > 0) [engineNs, plainNs] = [Math.min(engineNs, withRules), Math.min(plainNs, plain)];
}

const fmt = (ns: number) => `${ns.toFixed(1)} ns/pkt (${(1e3 / ns).toFixed(2)} M pkt/s)`;
const ratio = (ns: number, baseNs: number) => `ratio ${(baseNs / ns).toFixed(2)}`;
const leavesHit = new Set(contexts.map((c) => classes[handWritten(c)].path)).size;
const leaves = classes.filter((c) => c.isLeaf).length;
const checked = flowOutcome.filter((o) => classifier.needsPerPacket(o)).length;
console.log(
  `${CLASSES} classes (${leaves} leaves, ${rules.filter((r) => r.rule?.perPacket).length} per-packet rules), ${contexts.length} packets in ${FLOWS} flows reaching ${leavesHit} leaves;` +
    ` ${((checked / FLOWS) * 100).toFixed(0)}% of flows have per-packet checks (the first class, interactive, has a per-packet rule)`,
);
console.log(`uncached: classifyFlow + classifyPacket:  ${fmt(fromScratch)} | baseline hand-written function: ${fmt(base)} | ${ratio(fromScratch, base)}`);
console.log(`cached:   classifyPacket, flow cached:    ${fmt(perPacket)} | baseline hand-written function: ${fmt(base)} | ${ratio(perPacket, base)}`);
console.log(
  `engine:   parse+flow+classify+sched, ${CLASSES} classes: ${fmt(engineNs)} | baseline same engine, one class, no rules: ${fmt(plainNs)} | ${ratio(engineNs, plainNs)};` +
    ` the tree adds ${(engineNs - plainNs).toFixed(1)} ns/pkt`,
);
if (sink === 0) console.log('');
