/**
 * Cost of L7Tracker.feed() per packet: (a) on flows already decided (the fast path every packet of
 * a flow takes after its first few), (b) on pending flows from their first packet to the decision
 * (reset, handshake, in-order reassembly, detect over each prefix, entropy, buffer pool). Baseline,
 * measured in the same process: `detect()` called directly on each side's whole payload once, the
 * least work any detection of that flow could do (no reassembly, no bounds, no entropy).
 *
 * Each figure: 100 ms warm-up, then 15 alternating slices of 20 ms of tracker and baseline; the
 * median slice is reported. Flows rotate over 1024 ids so the per-flow state is not all in cache.
 * (b) runs twice: with flow.entropy computed, and with a tracker made with `entropy: false`.
 */
import { detect, L7Result } from '../../src/classify/l7/index.js';
import { L7Tracker } from '../../src/classify/l7/tracker.js';
import { buildPacket } from '../../src/packet/build.js';
import { parsePacket } from '../../src/packet/parse.js';
import { PacketInfo, Proto, TcpFlag } from '../../src/packet/types.js';
import { clientHelloRecord, dnsQuery, httpRequest, rng, sshBanner } from '../../test/classify/l7/payloads.js';

const WARMUP_NS = 100_000_000n;
const SLICES = 15;
const SLICE_NS = 20_000_000n;
const FLOWS = 1024;
const ISN = [1000, 7_000_000];

/** A parsed IPv4 packet with `payload` and, for TCP, sequence number `seq`. */
function packet(proto: number, reply: boolean, seq: number, flags: number, payload: Buffer | null): PacketInfo {
  const buf = buildPacket({
    ipVersion: 4, src: reply ? '198.51.100.7' : '192.0.2.1', dst: reply ? '192.0.2.1' : '198.51.100.7', proto,
    sport: reply ? 443 : 40000, dport: reply ? 40000 : 443, tcpFlags: flags, payloadBytes: payload?.length ?? 0,
  });
  const pkt = new PacketInfo();
  if (!parsePacket(buf, 0, buf.length, pkt)) throw new Error('unparsable bench packet');
  if (proto === Proto.TCP) buf.writeUInt32BE(seq >>> 0, pkt.l4Offset + 4);
  payload?.copy(buf, pkt.payloadOffset);
  return pkt;
}

function randomPayload(len: number, seed: number): Buffer {
  const next = rng(seed);
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = next() & 0xff;
  return b;
}

/** One flow's packets in order: [isReply, packet]. */
type Step = [boolean, PacketInfo];

/** A TCP flow: handshake, then each side's segments in order (the client's first). */
function tcpFlow(client: Buffer[], server: Buffer[]): Step[] {
  const steps: Step[] = [
    [false, packet(Proto.TCP, false, ISN[0], TcpFlag.SYN, null)],
    [true, packet(Proto.TCP, true, ISN[1], TcpFlag.SYN | TcpFlag.ACK, null)],
    [false, packet(Proto.TCP, false, ISN[0] + 1, TcpFlag.ACK, null)],
  ];
  const sent = [0, 0];
  const segments = (reply: boolean, parts: Buffer[]): void => {
    const d = reply ? 1 : 0;
    for (const p of parts) {
      steps.push([reply, packet(Proto.TCP, reply, ISN[d] + 1 + sent[d], TcpFlag.PSH | TcpFlag.ACK, p)]);
      sent[d] += p.length;
    }
  };
  segments(false, client);
  segments(true, server);
  return steps;
}

function cuts(b: Buffer, at: number[]): Buffer[] {
  const bounds = [0, ...at, b.length];
  return bounds.slice(1).map((end, i) => b.subarray(bounds[i], end));
}

interface Case {
  name: string;
  steps: Step[];
  proto: 6 | 17;
  /** Each side's whole payload, given to detect() once by the baseline: [fromInitiator, bytes]. */
  whole: [boolean, Buffer][];
}

const http = httpRequest('GET', 'www.example.com');
const hello = clientHelloRecord('www.example.com', 900);
const random = randomPayload(2048, 1);
const randomReply = randomPayload(2048, 2);
const datagrams = [3, 4, 5, 6, 7, 8, 9, 10].map((s) => randomPayload(1200, s));
const cases: Case[] = [
  { name: 'http, 1 segment', steps: tcpFlow([http], []), proto: 6, whole: [[true, http]] },
  { name: 'http, 2 segments', steps: tcpFlow(cuts(http, [40]), []), proto: 6, whole: [[true, http]] },
  { name: 'tls, 3 segments', steps: tcpFlow(cuts(hello, [300, 900]), []), proto: 6, whole: [[true, hello]] },
  { name: 'tls, 1 segment', steps: tcpFlow([hello], []), proto: 6, whole: [[true, hello]] },
  { name: 'ssh, server first', steps: tcpFlow([], [sshBanner()]), proto: 6, whole: [[false, sshBanner()]] },
  {
    name: 'random tcp, bound', steps: tcpFlow(cuts(random, [512, 1024, 1536]), cuts(randomReply, [1024])), proto: 6,
    whole: [[true, random], [false, randomReply]],
  },
  { name: 'dns udp', steps: [[false, packet(Proto.UDP, false, 0, 0, dnsQuery('www.example.com', true))]], proto: 17, whole: [[true, dnsQuery('www.example.com', true)]] },
  {
    name: 'random udp, bound', steps: datagrams.map((d): Step => [false, packet(Proto.UDP, false, 0, 0, d)]), proto: 17,
    whole: datagrams.slice(0, 4).map((d): [boolean, Buffer] => [true, d]),
  },
];

const withEntropy = new L7Tracker(FLOWS, { streamBuffers: FLOWS });
const withoutEntropy = new L7Tracker(FLOWS, { streamBuffers: FLOWS, entropy: false });
let tracker = withEntropy;
const out = new L7Result();
let sinkAll = 0;

/** `n` whole flows through the tracker, from reset to decision. */
function runPending(c: Case, n: number): number {
  let sink = 0;
  const steps = c.steps;
  for (let i = 0; i < n; i++) {
    const f = i & (FLOWS - 1);
    tracker.reset(f);
    for (let k = 0; k < steps.length; k++) if (tracker.feed(f, steps[k][0], steps[k][1])) sink++;
  }
  return sink;
}

/** `n` flows' worth of packets (as many as the case has) fed to decided flows. */
function runDecided(c: Case, n: number): number {
  let sink = 0;
  const steps = c.steps;
  for (let i = 0; i < n; i++) {
    const f = i & (FLOWS - 1);
    for (let k = 0; k < steps.length; k++) if (tracker.feed(f, steps[k][0], steps[k][1])) sink++;
  }
  return sink;
}

function runBaseline(c: Case, n: number): number {
  let sink = 0;
  const whole = c.whole;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < whole.length; k++) sink += detect(whole[k][1], 0, whole[k][1].length, c.proto, whole[k][0], out);
  }
  return sink;
}

/** ns per flow of `run` over one time slice of `budgetNs`. */
function slice(c: Case, run: (c: Case, n: number) => number, budgetNs: bigint): number {
  let flows = 0;
  const start = process.hrtime.bigint();
  let now = start;
  while (now - start < budgetNs) {
    sinkAll += run(c, 256);
    flows += 256;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / flows;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function measure(c: Case, run: (c: Case, n: number) => number): [number, number] {
  slice(c, run, WARMUP_NS / 2n);
  slice(c, runBaseline, WARMUP_NS / 2n);
  const mine: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < SLICES; i++) {
    mine.push(slice(c, run, SLICE_NS));
    base.push(slice(c, runBaseline, SLICE_NS));
  }
  return [median(mine), median(base)];
}

function row(name: string, packets: number, trackerNsPerFlow: number, baseNsPerFlow: number): string {
  const cells = [
    String(packets).padStart(8),
    (trackerNsPerFlow / packets).toFixed(1).padStart(14),
    trackerNsPerFlow.toFixed(0).padStart(12),
    baseNsPerFlow.toFixed(0).padStart(13),
    (trackerNsPerFlow / baseNsPerFlow).toFixed(2).padStart(8),
  ];
  return `${name.padEnd(20)}${cells.join('')}`;
}

const heads = ['packets'.padStart(8), 'ns/packet'.padStart(14), 'ns/flow'.padStart(12), 'detect ns'.padStart(13), 'ratio'.padStart(8)];
console.log('L7Tracker.feed(): per flow vs detect() once on each side\'s whole payload (median of 15 slices)');
console.log('(b) pending flows, reset to decision');
console.log(`${'case'.padEnd(20)}${heads.join('')}`);
for (const c of cases) {
  const [mine, base] = measure(c, runPending);
  console.log(row(c.name, c.steps.length, mine, base));
}
console.log("(b') pending flows, tracker made with entropy: false");
console.log(`${'case'.padEnd(20)}${heads.join('')}`);
tracker = withoutEntropy;
for (const c of cases) {
  const [mine, base] = measure(c, runPending);
  console.log(row(c.name, c.steps.length, mine, base));
}
tracker = withEntropy;
console.log('(a) the same packets on decided flows (the fast path)');
console.log(`${'case'.padEnd(20)}${heads.join('')}`);
for (const c of cases) {
  for (let f = 0; f < FLOWS; f++) {
    tracker.reset(f);
    for (const [reply, pkt] of c.steps) if (tracker.feed(f, reply, pkt)) break;
    if (!tracker.decided(f)) throw new Error(`${c.name}: flow not decided`);
  }
  const [mine, base] = measure(c, runDecided);
  console.log(row(c.name, c.steps.length, mine, base));
}
const s = tracker.stats;
console.log(`stats: decided ${s.decided}, settled at bound ${s.settledAtBound}, at close ${s.settledAtClose}, no stream buffer ${s.noStreamBuffer}`);
if (sinkAll === -1) console.log('unreachable');
