/**
 * Rule evaluation speed: a typical 5-class configuration (interactive with packet rules, web,
 * torrents with a nested class, video by address, default) compiled by the rule language, against
 * the same conditions hand-written as one TypeScript function, over the same packets in the same run.
 * Three figures: classifyFlow + classifyPacket for every packet (no flow cache), classifyPacket with
 * the flow's outcome cached (what the engine does), and the hand-written function.
 * Packets are built and parsed before timing; timing covers classification only. The baseline has no
 * flow cache (it evaluates every condition per packet), so the cached figure may beat it: that is the
 * point of the flow/packet split, not a measuring error. All three are checked to agree first.
 */
import { Classifier, type ClassRule } from '../../src/classify/classifier.js';
import { compileRule } from '../../src/classify/compile.js';
import { MatchContext } from '../../src/classify/context.js';
import { Direction } from '../../src/datapath/types.js';
import { buildPacket, type PacketSpec } from '../../src/packet/build.js';
import { parsePacket } from '../../src/packet/parse.js';
import { PacketInfo, Proto, TcpFlag } from '../../src/packet/types.js';

const CLASSES: Array<[path: string, parent: number, isLeaf: boolean, match: string | null]> = [
  ['interactive', -1, true, 'proto == "icmp" or dport == 53 or tcp.syn or tcp.pure_ack'],
  ['web', -1, true, 'rport in [80, 443, 8080] and proto == "tcp"'],
  ['torrents', -1, false, 'lport in 61000..63000 or rport in 6881..6999'],
  ['torrents/lan', 2, true, 'raddr in [10.0.0.0/8, 192.168.0.0/16]'],
  ['torrents/default', 2, true, null],
  ['video', -1, true, 'raddr in [198.51.100.0/24, 2001:db8:f00::/40]'],
  ['default', -1, true, null],
];
const DEFAULT = 6;

const classes: ClassRule[] = CLASSES.map(([path, parent, isLeaf, match]) => ({
  path,
  parent,
  isLeaf,
  rule: match === null ? null : compileRule(match, { label: `classes.${path}.match` }),
}));
const classifier = new Classifier(classes, DEFAULT);

// ---- The same conditions, hand-written. Addresses as signed 32-bit words (no number boxing). ----
function word(buf: Buffer, o: number): number {
  return (buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3];
}
/** Offset of the remote address's IPv4 word (IPv4, or v4-mapped IPv6), or -1. */
function remoteV4Offset(ctx: MatchContext): number {
  const p = ctx.pkt;
  const o = ctx.direction === Direction.EGRESS ? p.dstOffset : p.srcOffset;
  if (p.ipVersion === 4) return o;
  const b = p.buf;
  for (let i = 0; i < 10; i++) if (b[o + i] !== 0) return -1;
  return b[o + 10] === 0xff && b[o + 11] === 0xff ? o + 12 : -1;
}
function handWritten(ctx: MatchContext): number {
  const p = ctx.pkt;
  const egress = ctx.direction === Direction.EGRESS;
  const rport = egress ? p.dport : p.sport;
  const lport = egress ? p.sport : p.dport;
  const flags = p.tcpFlags;
  const pureAck = p.proto === 6 && p.hasL4 && (flags & 0x17) === 0x10 && p.payloadBytes === 0;
  if (p.proto === 1 || p.dport === 53 || (flags & 0x02) !== 0 || pureAck) return 0;
  if ((rport === 80 || rport === 443 || rport === 8080) && p.proto === 6) return 1;
  const v4 = remoteV4Offset(ctx);
  const r = v4 >= 0 ? word(p.buf, v4) : 0;
  if ((lport >= 61000 && lport <= 63000) || (rport >= 6881 && rport <= 6999)) {
    return v4 >= 0 && ((r & 0xff000000) === 0x0a000000 || (r & 0xffff0000) === (0xc0a80000 | 0)) ? 3 : 4;
  }
  if (v4 >= 0 && (r & 0xffffff00) === (0xc6336400 | 0)) return 5;
  if (p.ipVersion === 6) {
    const o = egress ? p.dstOffset : p.srcOffset;
    const b = p.buf;
    if (b[o] === 0x20 && b[o + 1] === 0x01 && b[o + 2] === 0x0d && b[o + 3] === 0xb8 && b[o + 4] === 0x0f) return 5;
  }
  return DEFAULT;
}

// ---- Traffic: 64 flows, 16 packets each, both directions, a mix of flags and sizes. ----
const hosts4 = ['203.0.113.5', '10.1.2.3', '198.51.100.9', '192.168.7.7', '8.8.8.8'];
const hosts6 = ['2001:db8:f00::1', '2001:db8:1::2', '::ffff:198.51.100.20'];
const flowSpecs: PacketSpec[] = [];
let seed = 7;
const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
for (let f = 0; f < 64; f++) {
  const v6 = rnd(4) === 0;
  flowSpecs.push({
    ipVersion: v6 ? 6 : 4,
    src: v6 ? '2001:db8::10' : '192.168.1.10',
    dst: v6 ? hosts6[rnd(hosts6.length)] : hosts4[rnd(hosts4.length)],
    proto: [Proto.TCP, Proto.TCP, Proto.TCP, Proto.UDP][rnd(4)],
    sport: [50000, 62000, 40000][rnd(3)],
    dport: [443, 80, 53, 6881, 22, 8080, 9999][rnd(7)],
  });
}
const contexts: MatchContext[] = [];
const flowOf: number[] = [];
for (let i = 0; i < 16; i++) {
  flowSpecs.forEach((base, f) => {
    const reply = i % 2 === 1;
    const spec: PacketSpec = reply ? { ...base, src: base.dst, dst: base.src, sport: base.dport, dport: base.sport } : { ...base };
    spec.tcpFlags = i === 0 ? TcpFlag.SYN : i % 3 === 0 ? TcpFlag.ACK : TcpFlag.ACK | TcpFlag.PSH;
    spec.payloadBytes = i % 3 === 0 ? 0 : 1200;
    const buf = buildPacket(spec);
    const ctx = new MatchContext(new PacketInfo());
    if (!parsePacket(buf, 0, buf.length, ctx.pkt)) throw new Error('bench packet did not parse');
    ctx.direction = reply ? Direction.INGRESS : Direction.EGRESS;
    contexts.push(ctx);
    flowOf.push(f);
  });
}
const flowOutcome = new Int32Array(flowSpecs.length).fill(-1);
for (let i = 0; i < contexts.length; i++) {
  const f = flowOf[i];
  if (flowOutcome[f] < 0) flowOutcome[f] = classifier.classifyFlow(contexts[i]);
}

// Same answers from all three, for every packet, before anything is timed.
for (let i = 0; i < contexts.length; i++) {
  const ctx = contexts[i];
  const a = classifier.classifyPacket(ctx, classifier.classifyFlow(ctx));
  const b = classifier.classifyPacket(ctx, flowOutcome[flowOf[i]]);
  const c = handWritten(ctx);
  if (a !== c || b !== c) throw new Error(`packet ${i}: compiled ${a}/${b}, hand-written ${c}`);
}

let sink = 0;
function uncached(): void {
  for (let i = 0; i < contexts.length; i++) sink += classifier.classifyPacket(contexts[i], classifier.classifyFlow(contexts[i]));
}
function cached(): void {
  for (let i = 0; i < contexts.length; i++) {
    const outcome = flowOutcome[flowOf[i]];
    sink += classifier.needsPerPacket(outcome) ? classifier.classifyPacket(contexts[i], outcome) : outcome;
  }
}
function baseline(): void {
  for (let i = 0; i < contexts.length; i++) sink += handWritten(contexts[i]);
}

/** Packets per second: best of 5 runs of ~200 ms each, after a warm-up. */
function measure(fn: () => void): number {
  for (let i = 0; i < 200; i++) fn();
  let best = 0;
  for (let run = 0; run < 5; run++) {
    let packets = 0;
    const start = process.hrtime.bigint();
    let elapsedNs = 0;
    while (elapsedNs < 200e6) {
      fn();
      packets += contexts.length;
      elapsedNs = Number(process.hrtime.bigint() - start);
    }
    best = Math.max(best, packets / (elapsedNs / 1e9));
  }
  return best;
}

const base = measure(baseline);
const flowAndPacket = measure(uncached);
const perPacket = measure(cached);
const fmt = (pps: number) => `${(pps / 1e6).toFixed(1)} M pkt/s (${(1e9 / pps).toFixed(1)} ns/pkt)`;
const perPacketShare = flowOutcome.reduce((n, o) => n + (classifier.needsPerPacket(o) ? 1 : 0), 0) / flowOutcome.length;
console.log(`5-class config, ${contexts.length} packets in ${flowSpecs.length} flows (${(perPacketShare * 100).toFixed(0)}% of flows need per-packet rules)`);
console.log(`classifyFlow + classifyPacket: ${fmt(flowAndPacket)} | baseline hand-written function: ${fmt(base)} | ratio ${(flowAndPacket / base).toFixed(2)}`);
console.log(`classifyPacket, flow cached:   ${fmt(perPacket)} | baseline hand-written function: ${fmt(base)} | ratio ${(perPacket / base).toFixed(2)}`);
if (sink === 0) console.log('');
