/**
 * parsePacket throughput: packets per second and ns per packet over a preallocated array of packets
 * (IPv4 TCP, IPv4 UDP, IPv6 TCP behind a destination-options header, each alone and mixed, and the mix
 * over a few cache-resident packets to show the parser's own cost apart from memory), printed
 * beside a baseline measured in the same process: a loop that only reads the version nibble and the
 * two port fields at fixed offsets with buf.readUInt16BE — the least any parser must do.
 * Each figure: 300 ms warm-up, then 1.2 s of each, in alternating 60 ms slices so that load from other
 * processes on a shared machine hits parser and baseline alike; the median slice is reported.
 */
import { parsePacket } from '../../src/packet/parse.js';
import { buildPacket, PacketSpec } from '../../src/packet/build.js';
import { PacketInfo, Proto } from '../../src/packet/types.js';

/** Distinct packet Buffers per case: about 2.5 MB for the mix, more than L2, as packets fresh from a datapath. */
const PACKETS = 4096;
/** The cache-resident case: few enough that every header stays in L1, leaving only the parser's own work. */
const HOT_PACKETS = 64;
const WARMUP_NS = 300_000_000n;
/** 20 slices of 60 ms: 1.2 s of each of parser and baseline per figure. */
const SLICES = 20;
const SLICE_NS = 60_000_000n;

const v4Tcp: PacketSpec = { ipVersion: 4, src: '192.168.1.10', dst: '93.184.216.34', proto: Proto.TCP, sport: 51000, dport: 443, payloadBytes: 1200 };
const v4Udp: PacketSpec = { ipVersion: 4, src: '192.168.1.10', dst: '1.1.1.1', proto: Proto.UDP, sport: 40000, dport: 53, payloadBytes: 60 };
const v6Tcp: PacketSpec = { ipVersion: 6, src: '2001:db8::10', dst: '2001:db8:1::1', proto: Proto.TCP, sport: 51001, dport: 22, payloadBytes: 100 };

/** The IPv6 packet with an 8-byte destination options header (PadN) inserted before its TCP header. */
function withDestOptions(pkt: Buffer): Buffer {
  const ext = Buffer.from([pkt[6], 0, 1, 4, 0, 0, 0, 0]);
  const out = Buffer.concat([pkt.subarray(0, 40), ext, pkt.subarray(40)]);
  out[6] = 60;
  out.writeUInt16BE(out.length - 40, 4);
  return out;
}

const MAKERS: Record<string, () => Buffer> = {
  'ipv4/tcp': () => buildPacket(v4Tcp),
  'ipv4/udp': () => buildPacket(v4Udp),
  'ipv6/tcp+dstopts': () => withDestOptions(buildPacket(v6Tcp)),
};

/** PACKETS separate Buffers of the given kinds, in a fixed pseudo-random order. */
function makeArray(kinds: string[], count = PACKETS): Buffer[] {
  const out: Buffer[] = [];
  let seed = 12345;
  for (let i = 0; i < count; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    out.push(MAKERS[kinds[(seed >>> 16) % kinds.length]]());
  }
  return out;
}

const info = new PacketInfo();

function parsePass(bufs: Buffer[]): number {
  let sink = 0;
  for (let i = 0; i < bufs.length; i++) {
    const b = bufs[i];
    if (parsePacket(b, 0, b.length, info)) sink += info.sport + info.dport;
  }
  return sink;
}

function baselinePass(bufs: Buffer[]): number {
  let sink = 0;
  for (let i = 0; i < bufs.length; i++) {
    const b = bufs[i];
    const l4 = b[0] >> 4 === 4 ? 20 : 48;
    sink += b.readUInt16BE(l4) + b.readUInt16BE(l4 + 2);
  }
  return sink;
}

/** Nanoseconds per packet of one slice: whole passes of `pass` over `bufs` for at least SLICE_NS. */
function slice(pass: (bufs: Buffer[]) => number, bufs: Buffer[], sink: { value: number }): number {
  const start = process.hrtime.bigint();
  let packets = 0;
  let elapsed = 0n;
  do {
    sink.value += pass(bufs);
    packets += bufs.length;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < SLICE_NS);
  return Number(elapsed) / packets;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/**
 * ns/packet of the parser and of the baseline: after a warm-up of both, SLICES alternating slices of
 * each (so that load from other processes on a shared machine hits both alike), median of each.
 */
function measure(bufs: Buffer[]): { parseNs: number; baselineNs: number; sink: number } {
  const sink = { value: 0 };
  const warmEnd = process.hrtime.bigint() + WARMUP_NS;
  while (process.hrtime.bigint() < warmEnd) sink.value += parsePass(bufs) + baselinePass(bufs);
  const parseNs: number[] = [];
  const baselineNs: number[] = [];
  for (let i = 0; i < SLICES; i++) {
    parseNs.push(slice(parsePass, bufs, sink));
    baselineNs.push(slice(baselinePass, bufs, sink));
  }
  return { parseNs: median(parseNs), baselineNs: median(baselineNs), sink: sink.value };
}

const cases: [string, Buffer[]][] = [
  ['mix', makeArray(Object.keys(MAKERS))],
  ...Object.keys(MAKERS).map((k): [string, Buffer[]] => [k, makeArray([k])]),
  [`mix, ${HOT_PACKETS} cache-resident packets`, makeArray(Object.keys(MAKERS), HOT_PACKETS)],
];
let checksum = 0;
for (const [name, bufs] of cases) {
  const r = measure(bufs);
  if (r.sink <= 0) throw new Error('benchmark read nothing');
  checksum += r.sink;
  console.log(
    `parse ${name}: ${(1e3 / r.parseNs).toFixed(1)} M pkt/s (${r.parseNs.toFixed(1)} ns/pkt) | ` +
      `baseline version+ports readUInt16BE loop: ${(1e3 / r.baselineNs).toFixed(1)} M/s ` +
      `(${r.baselineNs.toFixed(1)} ns/pkt) | ratio ${(r.baselineNs / r.parseNs).toFixed(2)}`,
  );
}
console.log(`(sink ${checksum % 1000})`);
