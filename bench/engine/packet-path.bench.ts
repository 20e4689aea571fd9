/**
 * The whole per-packet path of the engine — parse, flow lookup, classification, sub-queue key,
 * enqueue, dequeue, release — in two cases: 50 classes (10 parents of 4 leaves, rules on ports)
 * with 10,000 active flows, where every packet's flow and sub-queue state is a cache miss; and a
 * home-sized tree of 4 classes with 64 flows. Packets arrive in batches of 32 in random flow order on
 * a link fast enough that every packet is released. As from a kernel queue, each batch's packets are copied into a small
 * set of reused receive buffers first (so packet bytes are in cache, as they are after recv), in
 * both the engine run and the baseline. Baseline, same run: the same batches parsed and accepted
 * at once (what a pass-through that only parses costs).
 */
import { CountingDatapath } from './counting-datapath.js';
import { parseConfigText } from '../../src/control/load.js';
import { resolveLinks } from '../../src/control/resolve.js';
import { Direction, type PacketBatch } from '../../src/datapath/types.js';
import { Engine } from '../../src/engine/engine.js';
import { buildPacket } from '../../src/packet/build.js';
import { parsePacket } from '../../src/packet/parse.js';
import { PacketInfo, Proto } from '../../src/packet/types.js';

const BATCH = 32;
const PACKETS = 1_000_000;

function configText(): string {
  const lines = ['links:', '  - interface: eth0', '    egress: 100gbit', 'classes:'];
  for (let p = 0; p < 10; p++) {
    lines.push(`  p${p}:`, '    rate: 1gbit', `    match: rport >= ${1000 + p * 400} and rport < ${1400 + p * 400}`, '    classes:');
    for (let l = 0; l < 4; l++) {
      lines.push(`      l${l}:`, '        rate: 100mbit', `        prio: ${(p + l) % 8}`);
      if (l < 3) lines.push(`        match: rport < ${1000 + p * 400 + (l + 1) * 100}`);
    }
  }
  lines.push('  default:', '    rate: 1gbit');
  return lines.join('\n') + '\n';
}

/**
 * The packets of each batch are written into these reused receive buffers before the batch is
 * handed over, as the kernel writes into a queue reader's buffer: headers only (64 bytes, sixteen
 * words from a compact table; the engine reads no payload), the rest of each buffer as built once.
 */
const receiveBuffers = Array.from({ length: BATCH }, () => Buffer.alloc(2048));
const receiveWords = receiveBuffers.map((b) => new Uint32Array(b.buffer, b.byteOffset, 16));
let headerWords = new Uint32Array(0);

function receiveInto(batch: PacketBatch, flows: Int32Array): void {
  for (let i = 0; i < BATCH; i++) {
    const to = receiveWords[i];
    const from = flows[i] * 16;
    for (let w = 0; w < 16; w++) to[w] = headerWords[from + w];
  }
}

function makeBatches(FLOWS: number): { batches: PacketBatch[]; templates: Int32Array[] } {
  const bufs: Buffer[] = [];
  for (let f = 0; f < FLOWS; f++) {
    bufs.push(
      buildPacket({
        ipVersion: 4,
        src: `10.${(f >> 8) & 255}.${f & 255}.2`,
        dst: '203.0.113.9',
        proto: Proto.TCP,
        sport: 30000 + (f % 20000),
        dport: 1000 + (f % 4000),
        payloadBytes: 1000,
      }),
    );
  }
  headerWords = new Uint32Array(FLOWS * 16);
  bufs.forEach((b, f) => headerWords.set(new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + 64)), f * 16));
  for (const b of receiveBuffers) bufs[0].copy(b);
  const batches: PacketBatch[] = [];
  const templates: Int32Array[] = [];
  let x = 7;
  let handle = 0;
  for (let b = 0; b < 4096; b++) {
    const batch: PacketBatch = {
      count: BATCH,
      handles: new Uint32Array(BATCH),
      links: new Uint16Array(BATCH),
      directions: new Uint8Array(BATCH).fill(Direction.EGRESS),
      arrivalUs: new Float64Array(BATCH),
      marks: new Uint32Array(BATCH),
      uids: new Int32Array(BATCH).fill(-1),
      gids: new Int32Array(BATCH).fill(-1),
      inIfindex: new Uint32Array(BATCH),
      outIfindex: new Uint32Array(BATCH),
      buffers: [],
      offsets: new Uint32Array(BATCH),
      lengths: new Uint32Array(BATCH),
    };
    const chosen = new Int32Array(BATCH);
    for (let i = 0; i < BATCH; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      chosen[i] = x % FLOWS;
      batch.handles[i] = handle++;
      batch.buffers.push(receiveBuffers[i]);
      batch.lengths[i] = bufs[chosen[i]].length;
    }
    batches.push(batch);
    templates.push(chosen);
  }
  return { batches, templates };
}

function runEngine({ batches, templates }: ReturnType<typeof makeBatches>, config: string, flows: number): number {
  const r = parseConfigText(config, 'bench.yaml');
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  const dp = new CountingDatapath();
  const engine = new Engine(resolveLinks(r.config), dp, { maxFlows: Math.max(1024, 2 * flows), flowSeed: 1 });
  let now = 0;
  const rounds = PACKETS / BATCH;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < rounds; k++) {
    const batch = batches[k % batches.length];
    receiveInto(batch, templates[k % batches.length]);
    for (let i = 0; i < BATCH; i++) batch.arrivalUs[i] = now;
    engine.receive(batch);
    now += BATCH * 0.0832; // 1040-byte packets at 100 Gbit/s
    engine.pump(now);
    // The receive buffers are reused by the next batch: everything must have left.
    if (engine.queuedPackets !== 0) throw new Error('a packet outlived its receive buffer');
  }
  const ns = Number(process.hrtime.bigint() - t0) / PACKETS;
  if (dp.accepted + dp.dropped + engine.queuedPackets !== PACKETS) throw new Error('packets lost');
  return ns;
}

function runParseOnly({ batches, templates }: ReturnType<typeof makeBatches>): number {
  const dp = new CountingDatapath();
  const info = new PacketInfo();
  const rounds = PACKETS / BATCH;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < rounds; k++) {
    const batch = batches[k % batches.length];
    receiveInto(batch, templates[k % batches.length]);
    for (let i = 0; i < BATCH; i++) {
      parsePacket(batch.buffers[i], batch.offsets[i], batch.lengths[i], info);
      dp.accept();
    }
  }
  return Number(process.hrtime.bigint() - t0) / PACKETS;
}

/** A home-sized configuration: four classes with port rules under a 1 gbit/s link. */
const HOME = `links:
  - interface: eth0
    egress: 100gbit
classes:
  interactive:
    rate: 10gbit
    prio: 0
    match: tcp.syn or proto == "icmp" or dport == 53
  web:
    rate: 40gbit
    match: rport < 2000
  bulk:
    rate: 40gbit
    match: rport < 4000
  default:
    rate: 10gbit
`;

const cases = [
  { name: '50 classes, 10000 flows', config: configText(), flows: 10_000 },
  { name: '4 classes, 64 flows', config: HOME, flows: 64 },
];
for (const c of cases) {
  const batches = makeBatches(c.flows);
  runEngine(batches, c.config, c.flows);
  const engineNs = runEngine(batches, c.config, c.flows);
  runParseOnly(batches);
  const parseNs = runParseOnly(batches);
  console.log(
    `engine parse+flow+classify+enqueue+dequeue, ${c.name}: ${(1e3 / engineNs).toFixed(2)} M pkt/s (${engineNs.toFixed(0)} ns/pkt)` +
      ` | baseline parse + accept: ${(1e3 / parseNs).toFixed(2)} M pkt/s (${parseNs.toFixed(0)} ns/pkt) | ratio ${(parseNs / engineNs).toFixed(3)}`,
  );
}
