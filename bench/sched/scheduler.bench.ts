/**
 * Scheduler throughput: enqueue + dequeue pairs per second with 50 classes (10 parents with 4
 * leaves each) and 10,000 active flows, the link fast enough that every dequeue finds a packet.
 * Baseline, same run: a plain array FIFO doing the same enqueue/dequeue work (push + shift on a
 * preallocated ring), i.e. the cost of holding packets with no scheduling at all.
 */
import { Scheduler } from '../../src/sched/scheduler.js';
import type { ClassConfig, LinkSchedConfig } from '../../src/sched/types.js';

const FLOWS = 10_000;
const PACKETS = 2_000_000;

function config(): LinkSchedConfig {
  const classes: ClassConfig[] = [];
  const base = {
    burstBytes: 15000,
    cburstBytes: 15000,
    quantumBytes: 1514,
    fairness: 'flow' as const,
    flowCeilBps: 0,
    codel: { targetUs: 5000, intervalUs: 100000, ecn: true },
    limitPackets: 10000,
    limitBytes: 16e6,
    flowLimitPackets: 0,
  };
  for (let p = 0; p < 10; p++) {
    const parent = classes.length;
    classes.push({ ...base, path: `p${p}`, parent: -1, rateBps: 1e9, ceilBps: 10e9, prio: p % 8 });
    for (let l = 0; l < 4; l++) {
      classes.push({ ...base, path: `p${p}/l${l}`, parent, rateBps: 250e6, ceilBps: 10e9, prio: (p + l) % 8 });
    }
  }
  return {
    rateBps: 100e9,
    mtuBytes: 1514,
    classes,
    defaultClass: classes.length - 1,
    globalLimitPackets: 50_000,
    globalLimitBytes: 64e6,
    maxSubqueues: 65536,
  };
}

function runScheduler(): number {
  const s = new Scheduler(config());
  const leaves: number[] = [];
  for (let c = 0; c < s.classCount; c++) if (s.isLeaf(c)) leaves.push(c);
  const flowLeaf = new Int32Array(FLOWS);
  for (let f = 0; f < FLOWS; f++) flowLeaf[f] = leaves[f % leaves.length];
  // Prefill: about 2 packets per flow queued, so every dequeue does real work.
  let now = 0;
  let x = 12345;
  for (let i = 0; i < 2 * FLOWS; i++) {
    const f = i % FLOWS;
    s.enqueue(i, flowLeaf[f], f, 1000, true, now);
  }
  s.clearDropped();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < PACKETS; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const f = x % FLOWS;
    s.enqueue(i + 2 * FLOWS, flowLeaf[f], f, 1000, true, now);
    s.dequeue(now);
    s.clearDropped();
    now += 0.08; // 1000 bytes at 100 Gbit/s
  }
  return Number(process.hrtime.bigint() - t0) / PACKETS;
}

function runFifo(): number {
  const cap = 1 << 16;
  const handles = new Uint32Array(cap);
  const bytes = new Uint32Array(cap);
  let head = 0;
  let tail = 0;
  for (let i = 0; i < 2 * FLOWS; i++) {
    handles[tail] = i;
    bytes[tail] = 1000;
    tail = (tail + 1) & (cap - 1);
  }
  let sink = 0;
  let x = 12345;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < PACKETS; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    handles[tail] = i + (x & 1);
    bytes[tail] = 1000;
    tail = (tail + 1) & (cap - 1);
    sink += handles[head] + bytes[head];
    head = (head + 1) & (cap - 1);
  }
  if (sink === -1) console.log(sink);
  return Number(process.hrtime.bigint() - t0) / PACKETS;
}

function runArrayFifo(): number {
  const q: number[] = [];
  for (let i = 0; i < 2 * FLOWS; i++) q.push(i);
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < PACKETS; i++) {
    q.push(i);
    sink += q.shift()!;
  }
  if (sink === -1) console.log(sink);
  return Number(process.hrtime.bigint() - t0) / PACKETS;
}

runScheduler(); // warm up the JIT
const sched = runScheduler();
runFifo();
const ring = runFifo();
const arr = runArrayFifo();
const fmt = (ns: number): string => `${(1e3 / ns).toFixed(2)} M pairs/s (${ns.toFixed(0)} ns/pkt)`;
console.log(`scheduler enqueue+dequeue, 50 classes, ${FLOWS} flows: ${fmt(sched)}`);
console.log(`baseline typed-array ring FIFO:                      ${fmt(ring)} | ratio ${(ring / sched).toFixed(3)}`);
console.log(`baseline plain array FIFO (push/shift):              ${fmt(arr)} | ratio ${(arr / sched).toFixed(3)}`);
