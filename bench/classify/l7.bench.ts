/**
 * Cost of one l7 `detect` call on each protocol's first packet, beside a baseline measured in the
 * same process: a plain loop summing the bytes of the same payload (the least any byte-looking
 * detector could do). Also entropyBits on a 1400-byte random payload, against the same baseline.
 *
 * Each figure: 100 ms warm-up, then 15 alternating slices of 20 ms of detector and baseline (load
 * from other processes hits both alike); the median slice is reported. The QUIC row includes opening
 * the Initial with node:crypto (done once per QUIC flow); the http and tls rows include building
 * the host string (once per flow). test/classify/l7/allocation.test.ts checks that calls without a
 * host allocate nothing.
 */
import { detect, entropyBits, L7Result } from '../../src/classify/l7/index.js';
import {
  bittorrentHandshake,
  clientHelloRecord,
  dhtPing,
  dnsQuery,
  httpRequest,
  rng,
  rtpPacket,
  sshBanner,
  stunBindingRequest,
  utpOpening,
} from '../../test/classify/l7/payloads.js';
import { RFC9001_CLIENT_INITIAL } from '../../test/classify/l7/rfc9001.js';

const WARMUP_NS = 100_000_000n;
const SLICES = 15;
const SLICE_NS = 20_000_000n;

const out = new L7Result();

function randomPayload(len: number, seed: number): Buffer {
  const next = rng(seed);
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = next() & 0xff;
  return b;
}

interface Case {
  name: string;
  payload: Buffer;
  proto: 6 | 17;
  run: (buf: Buffer, proto: 6 | 17, n: number) => number;
}

function runDetect(buf: Buffer, proto: 6 | 17, n: number): number {
  let sink = 0;
  for (let i = 0; i < n; i++) sink += detect(buf, 0, buf.length, proto, true, out);
  return sink;
}

function runEntropy(buf: Buffer, _proto: 6 | 17, n: number): number {
  let sink = 0;
  for (let i = 0; i < n; i++) sink += entropyBits(buf, 0, buf.length);
  return sink;
}

function runBaseline(buf: Buffer, _proto: 6 | 17, n: number): number {
  let sink = 0;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < buf.length; j++) sum += buf[j];
    sink += sum;
  }
  return sink;
}

let sinkAll = 0;

/** ns per call of `run` over one time slice of `budgetNs`, in batches of `batch` calls. */
function slice(c: Case, run: Case['run'], budgetNs: bigint, batch: number): number {
  let calls = 0;
  const start = process.hrtime.bigint();
  let now = start;
  while (now - start < budgetNs) {
    sinkAll += run(c.payload, c.proto, batch);
    calls += batch;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / calls;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function measure(c: Case): [number, number] {
  const batch = c.name.startsWith('quic') ? 10 : 1000;
  slice(c, c.run, WARMUP_NS / 2n, batch);
  slice(c, runBaseline, WARMUP_NS / 2n, batch);
  const det: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < SLICES; i++) {
    det.push(slice(c, c.run, SLICE_NS, batch));
    base.push(slice(c, runBaseline, SLICE_NS, batch));
  }
  return [median(det), median(base)];
}

const cases: Case[] = [
  { name: 'http request', payload: httpRequest('GET', 'www.example.com'), proto: 6, run: runDetect },
  { name: 'tls clienthello', payload: clientHelloRecord('www.example.com', 400), proto: 6, run: runDetect },
  { name: 'ssh banner', payload: sshBanner(), proto: 6, run: runDetect },
  { name: 'bittorrent tcp', payload: bittorrentHandshake(), proto: 6, run: runDetect },
  { name: 'random tcp 1400', payload: randomPayload(1400, 1), proto: 6, run: runDetect },
  { name: 'dns query', payload: dnsQuery('www.example.com', true), proto: 17, run: runDetect },
  { name: 'dht ping', payload: dhtPing(), proto: 17, run: runDetect },
  { name: 'utp syn', payload: utpOpening(true), proto: 17, run: runDetect },
  { name: 'stun binding', payload: stunBindingRequest(), proto: 17, run: runDetect },
  { name: 'rtp', payload: rtpPacket(), proto: 17, run: runDetect },
  { name: 'random udp 1400', payload: randomPayload(1400, 2), proto: 17, run: runDetect },
  { name: 'entropy 1400', payload: randomPayload(1400, 3), proto: 17, run: runEntropy },
  { name: 'quic initial', payload: RFC9001_CLIENT_INITIAL, proto: 17, run: runDetect },
];

console.log('l7 detect: ns per call on a first packet vs a loop summing the same payload (median of 15 slices)');
const heads = ['bytes'.padStart(6), 'detect ns'.padStart(12), 'baseline ns'.padStart(13), 'ratio'.padStart(9)];
console.log(`${'case'.padEnd(18)}${heads.join('')}`);
for (const c of cases) {
  const [det, base] = measure(c);
  const cells = [String(c.payload.length).padStart(6), det.toFixed(1).padStart(12), base.toFixed(1).padStart(13)];
  console.log(`${c.name.padEnd(18)}${cells.join('')}${(det / base).toFixed(2).padStart(9)}`);
}
if (sinkAll === -1) console.log('unreachable');
