/**
 * CountryDb.lookup cost (once per new flow) on the shipped database, over 100,000 random public IPv4
 * addresses and 100,000 random IPv6 addresses drawn from the blocks the RIRs allocate from (2001::/16,
 * 2400::/12, 2600::/12, 2800::/12, 2a00::/12, 2c00::/12); a draw that is private/local or that the
 * database does not place is drawn again, so every address walks the tree to a country, as the remote
 * addresses of real flows do ("kept" is the share of draws kept). Beside two baselines measured in
 * the same process on the same addresses:
 *   - format: formatAddress alone (the text mmdb-lib needs), the part of a lookup that is not the
 *     tree walk;
 *   - map: a Map<string, string> lookup of the precomputed address text, what a naive per-address
 *     cache would cost when it hits.
 * Each figure: 200 ms warm-up, then 15 alternating slices of 40 ms per variant; the median slice is
 * reported. Bytes allocated per lookup are estimated from the growth of V8's new space over batches
 * that no scavenge interrupted (median of 40 batches of 500, less the empty-batch overhead).
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { CountryResult } from '../../src/classify/geo/country-db.js';
import { openGeoipFile } from '../../src/host/geoip-file.js';
import { formatAddress } from '../../src/packet/addr.js';
import { rng } from '../../test/support/rng.js';

const ADDRESSES = 100_000;
const WARMUP_NS = 200_000_000n;
const SLICES = 15;
const SLICE_NS = 40_000_000n;
const BATCH = 1000;
const ALLOC_BATCHES = 40;
const ALLOC_BATCH = 500;

const db = openGeoipFile();
const out = new CountryResult();

interface Addresses {
  ipVersion: 4 | 6;
  len: 4 | 16;
  buf: Buffer;
  texts: string[];
  /** Share of the random draws kept (public and placed in a country by the database). */
  keptShare: number;
}

const V6_BLOCKS: readonly [number, number][] = [
  [0x20010000, 16],
  [0x24000000, 12],
  [0x26000000, 12],
  [0x28000000, 12],
  [0x2a000000, 12],
  [0x2c000000, 12],
];

function makeAddresses(ipVersion: 4 | 6, seed: number): Addresses {
  const len = ipVersion === 4 ? 4 : 16;
  const next = rng(seed);
  const word = () => Math.floor(next() * 2 ** 32) >>> 0;
  const buf = Buffer.alloc(ADDRESSES * len);
  const texts: string[] = [];
  let draws = 0;
  for (let i = 0; i < ADDRESSES; ) {
    draws++;
    const at = i * len;
    if (ipVersion === 4) {
      buf.writeUInt32BE(word(), at);
    } else {
      const [base, bits] = V6_BLOCKS[Math.floor(next() * V6_BLOCKS.length)];
      buf.writeUInt32BE((base | (word() >>> bits)) >>> 0, at);
      for (let w = 1; w < 4; w++) buf.writeUInt32BE(word(), at + 4 * w);
    }
    db.lookup(buf, at, ipVersion, out);
    if (out.cc === '--' || out.cc === '??') continue;
    texts.push(formatAddress(buf, at, len));
    i++;
  }
  return { ipVersion, len, buf, texts, keptShare: ADDRESSES / draws };
}

let sink = 0;

type Run = (a: Addresses, from: number, n: number) => void;

const runLookup: Run = (a, from, n) => {
  for (let i = 0; i < n; i++) {
    db.lookup(a.buf, ((from + i) % ADDRESSES) * a.len, a.ipVersion, out);
    sink += out.cc.length;
  }
};

const runFormat: Run = (a, from, n) => {
  for (let i = 0; i < n; i++) sink += formatAddress(a.buf, ((from + i) % ADDRESSES) * a.len, a.len).length;
};

function mapRun(a: Addresses): Run {
  const names = new Map<string, string>();
  for (const t of a.texts) names.set(t, 'Somewhere');
  return (addrs, from, n) => {
    for (let i = 0; i < n; i++) sink += (names.get(addrs.texts[(from + i) % ADDRESSES]) as string).length;
  };
}

/** ns per call over one slice; `cursor` walks through the addresses so every slice sees new ones. */
let cursor = 0;
function slice(a: Addresses, run: Run, budgetNs: bigint): number {
  let calls = 0;
  const start = process.hrtime.bigint();
  let now = start;
  while (now - start < budgetNs) {
    run(a, cursor, BATCH);
    cursor = (cursor + BATCH) % ADDRESSES;
    calls += BATCH;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / calls;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[s.length >> 1];
}

function newSpaceUsed(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_used_size;
  return 0;
}

/** Median bytes of new space a batch of `run` adds, less an empty batch's; per call. */
function bytesPerCall(a: Addresses, run: Run): number {
  const empty: number[] = [];
  const full: number[] = [];
  for (let i = 0; i < ALLOC_BATCHES; i++) {
    let before = newSpaceUsed();
    let grown = newSpaceUsed() - before;
    if (grown >= 0) empty.push(grown);
    before = newSpaceUsed();
    run(a, i * ALLOC_BATCH, ALLOC_BATCH);
    grown = newSpaceUsed() - before;
    if (grown >= 0) full.push(grown); // a scavenge during the batch shrinks new space: skip that batch
  }
  return Math.max(0, (median(full) - median(empty)) / ALLOC_BATCH);
}

function measure(a: Addresses): void {
  const variants: [string, Run][] = [
    ['lookup', runLookup],
    ['format', runFormat],
    ['map', mapRun(a)],
  ];
  for (const [, run] of variants) slice(a, run, WARMUP_NS / BigInt(variants.length));
  const ns: number[][] = variants.map(() => []);
  for (let s = 0; s < SLICES; s++) variants.forEach(([, run], v) => ns[v].push(slice(a, run, SLICE_NS)));
  const [lookupNs, formatNs, mapNs] = ns.map(median);
  const cells = [
    `${(a.keptShare * 100).toFixed(1)}%`.padStart(7),
    lookupNs.toFixed(0).padStart(11),
    (1e3 / lookupNs).toFixed(2).padStart(12),
    formatNs.toFixed(0).padStart(11),
    (lookupNs / formatNs).toFixed(1).padStart(8),
    mapNs.toFixed(0).padStart(8),
    (lookupNs / mapNs).toFixed(1).padStart(8),
    bytesPerCall(a, runLookup).toFixed(0).padStart(14),
    bytesPerCall(a, runFormat).toFixed(0).padStart(14),
  ];
  console.log(`IPv${a.ipVersion}`.padEnd(6) + cells.join(''));
}

console.log(`CountryDb.lookup on the shipped database (${db.description}), ${ADDRESSES} random addresses per family;`);
console.log('median of 15 slices; baselines in the same run: format = formatAddress alone, map = Map.get of the precomputed text');
console.log(
  `${'family'.padEnd(6)}${'kept'.padStart(7)}${'lookup ns'.padStart(11)}${'M lookups/s'.padStart(12)}${'format ns'.padStart(11)}${'÷format'.padStart(8)}` +
    `${'map ns'.padStart(8)}${'÷map'.padStart(8)}${'B/lookup'.padStart(14)}${'B/format'.padStart(14)}`,
);
measure(makeAddresses(4, 4));
measure(makeAddresses(6, 6));
if (sink === -1) console.log('unreachable');
