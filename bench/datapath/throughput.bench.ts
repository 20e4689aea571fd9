/**
 * Datapath throughput (issue 3's benchmark, `npm run bench:datapath`, root): how many packets per
 * second sluice passes through NFQUEUE, beside a minimal C libnetfilter_queue program on the same
 * veth path in the same run, and how exactly it holds a rate beside the kernel's HTB.
 *
 * Lab.pair(): one bulk TCP flow (the lab's own generator, tcpBulk) from client to server over a veth
 * with offloads off, so every packet is MTU-sized and each one through the queue is one verdict. The
 * shaper runs in the client, on the egress of its veth (POSTROUTING -o DEV, see throughput-shapers.ts),
 * one configuration after another:
 *   (1) no shaper;
 *   (2) the C pass-through (bench/baseline/nfq-passthrough.c) with one verdict per packet, "the
 *       classic program", and with batch verdicts (drain all waiting messages, one verdict), "the
 *       ceiling to approach";
 *   (3) sluice with one class at 100 Gbit/s, far above what the path carries, so nothing is delayed;
 *   (3r) the same with a realistic class tree of RULES_CLASSES classes and rules instead of one class
 *       (bench/classify/rule-set.ts: ports, ranges, prefixes, and the per-packet `tcp.syn or
 *       tcp.pure_ack` rule every flow is checked against), every rate a share of the 100 Gbit/s link
 *       so that nothing is delayed either: its ratio to (3) is what classification costs on the path;
 *   (4) sluice shaping to 100 Mbit/s;
 *   (5) kernel HTB at 100 Mbit/s with a FIFO leaf.
 * For each: after the traffic starts and a warm-up, one window of SLUICE_BENCH_SECONDS (default 5) is
 * measured from two samples of /proc (throughput-sample.ts). Packets: the queue's id sequence (the
 * packets the kernel handed to the shaper; under fail-open a packet finding the queue full would pass
 * unqueued and not count) for (2)-(4) and (3r), the veth's transmitted frames for (1) and (5).
 * Gbit/s: Ethernet frames transmitted on the veth. CPU s per million packets: the shaper process's
 * user + system time (all threads); for (1) and (5) the kernel's work is not attributable to a
 * process, hence '-'. Rate accuracy: frame bytes on the wire against the configured rate; sluice is
 * told the 14-byte Ethernet overhead so that it counts the bytes HTB counts.
 *
 * Without root, or when the C baseline cannot be built (no libnetfilter-queue-dev, no compiler), it
 * prints one line saying what is needed and exits 2: the ratio to the C program is its main figure.
 *
 * Environment: SLUICE_BENCH_SECONDS (window, default 5), SLUICE_BENCH_WARMUP_SECONDS (default 1),
 * SLUICE_BENCH_STREAMS (TCP streams, default 1), SLUICE_BENCH_PROFILE=DIR (run sluice in (3), (3r)
 * and (4) under `node --cpu-prof`, profiles of every thread written to DIR/sluice-unlimited,
 * DIR/sluice-rules and DIR/sluice-shaped; the profiler's own cost then shows in their figures).
 *
 * Run: node --import tsx bench/datapath/throughput.bench.ts
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { table } from '../../src/control/text-table.js';
import { Lab, NEED_ROOT, addBottleneck, removeBottleneck, tcpBulk, type TcpBulkResult } from '../../src/lab/index.js';
import { buildBaseline, parseCReport, type CMode, type CReport } from '../baseline/build.js';
import { classesYaml, mixedClasses } from '../classify/rule-set.js';
import { sampleWindow, waitForExec, type Sample } from './throughput-sample.js';
import {
  addQueueRule, startCBaseline, startSluice, writeSluiceConfig, type ShaperRun,
} from './throughput-shapers.js';

const EXIT_NEEDS = 2;
const SHAPED_BPS = 100e6;
const UNLIMITED_BPS = 100e9;
/** Classes in the tree of (3r): a home or office file's size. */
const RULES_CLASSES = 37;
/** The sender runs this much longer than warm-up + window: time to notice its start, and to sample the end. */
const SENDER_MARGIN_MS = 1500;
/** From starting the traffic agents to the first packets (tsx compiles each agent first). */
const START_TIMEOUT_MS = 30_000;
/** Below this share of the wire's packets through the queue, the shaper's figures are flagged. */
const MIN_QUEUED_SHARE = 0.99;
const HOST = 'client';
const PEER = 'server';

type Kind = 'none' | 'c-per-packet' | 'c-batch' | 'sluice-unlimited' | 'sluice-rules' | 'sluice-shaped' | 'htb';

interface Setup {
  kind: Kind;
  label: string;
}

/** In the order run: each comparison's two sides next to each other in time, since the machine's load drifts. */
const SETUPS: readonly Setup[] = [
  { kind: 'none', label: '(1) no shaper' },
  { kind: 'c-per-packet', label: '(2) C pass-through, verdict per packet' },
  { kind: 'sluice-unlimited', label: '(3) sluice, one class at 100gbit' },
  { kind: 'sluice-rules', label: `(3r) sluice, ${RULES_CLASSES} classes with rules at 100gbit` },
  { kind: 'c-batch', label: '(2) C pass-through, batch verdicts' },
  { kind: 'sluice-shaped', label: '(4) sluice at 100mbit' },
  { kind: 'htb', label: '(5) kernel HTB at 100mbit' },
];

const PRINT_ORDER: readonly Kind[] = ['none', 'c-per-packet', 'c-batch', 'sluice-unlimited', 'sluice-rules', 'sluice-shaped', 'htb'];

interface Row {
  setup: Setup;
  seconds: number;
  /** Packets through the shaper (the queue) or, with no queue, on the wire, per second. */
  packetsPerSecond: number;
  wireBps: number;
  meanFrameBytes: number;
  /** Share of the wire's packets that went through the queue; null without a queue. */
  queuedShare: number | null;
  /** The shaper process's CPU seconds over the window, user and system. */
  shaperCpu: { user: number; system: number } | null;
  /** The traffic generator's sender + receiver CPU over the sender's run, in cores. */
  trafficCores: number;
  heldAtEnd: number | null;
  cReport: CReport | null;
}

function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const v = Number(text);
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`${name}=${text}: want a number above 0`);
  return v;
}

interface Context {
  lab: Lab;
  dev: string;
  queueNum: number;
  anchorPid: number;
  binary: string;
  configDir: string;
  profileDir: string | null;
  warmUpMs: number;
  windowMs: number;
  streams: number;
}

/** Starts the shaper of `kind`; returns it (null for none and HTB) and how to take it down. */
async function startShaper(ctx: Context, kind: Kind): Promise<{ shaper: ShaperRun | null; teardown: () => Promise<string> }> {
  const { lab, dev, queueNum } = ctx;
  if (kind === 'none') return { shaper: null, teardown: async () => '' };
  if (kind === 'htb') {
    await addBottleneck(lab, HOST, dev, { rateBps: SHAPED_BPS });
    return { shaper: null, teardown: async () => (await removeBottleneck(lab, HOST, dev), '') };
  }
  const shaper = kind === 'c-per-packet' || kind === 'c-batch'
    ? await startCBaseline(lab, HOST, ctx.binary, queueNum, kind.slice(2) as CMode)
    : await startSluice(
      lab,
      HOST,
      writeSluiceConfig(
        ctx.configDir, kind, dev, queueNum, kind === 'sluice-shaped' ? SHAPED_BPS : UNLIMITED_BPS,
        kind === 'sluice-rules' ? classesYaml(mixedClasses(RULES_CLASSES)) : undefined,
      ),
      ctx.profileDir === null ? null : join(ctx.profileDir, kind),
    );
  let removeRule: () => Promise<void>;
  try {
    removeRule = await addQueueRule(lab, HOST, dev, queueNum);
  } catch (err) {
    await shaper.stop();
    throw err;
  }
  return {
    shaper,
    teardown: async () => {
      // The shaper is stopped even when removing its rule failed; that failure is reported after.
      let failure: unknown = null;
      await removeRule().catch((e: unknown) => (failure = e));
      const output = await shaper.stop();
      if (failure !== null) throw failure;
      return output;
    },
  };
}

async function measure(ctx: Context, setup: Setup): Promise<Row> {
  const { shaper, teardown } = await startShaper(ctx, setup.kind);
  let window: { first: Sample; last: Sample };
  let traffic: TcpBulkResult;
  let output = '';
  try {
    const src = { netnsPid: ctx.anchorPid, dev: ctx.dev, queueNum: ctx.queueNum, shaperPid: shaper?.pid ?? null };
    const bulk = tcpBulk(ctx.lab, {
      from: HOST,
      to: PEER,
      durationMs: ctx.warmUpMs + ctx.windowMs + SENDER_MARGIN_MS,
      streams: ctx.streams,
    });
    bulk.catch(() => undefined); // awaited below; a failure of the window wait must not leave it unhandled
    window = await sampleWindow(src, { warmUpMs: ctx.warmUpMs, windowMs: ctx.windowMs, startTimeoutMs: START_TIMEOUT_MS });
    traffic = await bulk;
  } finally {
    output = await teardown();
  }
  const { first, last } = window;
  const seconds = (last.atUs - first.atUs) / 1e6;
  const wirePackets = last.txPackets - first.txPackets;
  const wireBytes = last.txBytes - first.txBytes;
  const queued = first.queuedPackets === null || last.queuedPackets === null ? null : last.queuedPackets - first.queuedPackets;
  const cpu = first.cpu === null || last.cpu === null ? null : { user: last.cpu.user - first.cpu.user, system: last.cpu.system - first.cpu.system };
  return {
    setup,
    seconds,
    packetsPerSecond: (queued ?? wirePackets) / seconds,
    wireBps: (wireBytes * 8) / seconds,
    meanFrameBytes: wireBytes / wirePackets,
    queuedShare: queued === null ? null : queued / wirePackets,
    shaperCpu: cpu,
    trafficCores: (traffic.senderCpuUs + traffic.receiverCpuUs) / 1000 / traffic.senderDurationMs,
    heldAtEnd: last.heldPackets,
    cReport: setup.kind === 'c-per-packet' || setup.kind === 'c-batch' ? parseCReport(output) : null,
  };
}

/** The shaper's CPU seconds per packet through it (user + system, or user only); null without a shaper. */
function cpuPerPacket(r: Row, userOnly: boolean): number | null {
  if (r.shaperCpu === null) return null;
  return (r.shaperCpu.user + (userOnly ? 0 : r.shaperCpu.system)) / (r.packetsPerSecond * r.seconds);
}

function print(rows: readonly Row[]): void {
  const byKind = new Map(rows.map((r) => [r.setup.kind, r]));
  const ordered = PRINT_ORDER.flatMap((kind) => byKind.get(kind) ?? []);
  const header = ['', 'pkt/s', 'Gbit/s', 'frame B', 'CPU s/Mpkt', '(user+sys)', 'shaper cores', 'via queue', 'traffic cores', 'held at end'];
  const lines = ordered.map((r) => {
    const mpkt = (r.packetsPerSecond * r.seconds) / 1e6;
    const cpu = r.shaperCpu;
    return [
      r.setup.label,
      Math.round(r.packetsPerSecond).toString(),
      (r.wireBps / 1e9).toFixed(3),
      r.meanFrameBytes.toFixed(0),
      cpu === null ? '-' : ((cpu.user + cpu.system) / mpkt).toFixed(2),
      cpu === null ? '-' : `${(cpu.user / mpkt).toFixed(2)}+${(cpu.system / mpkt).toFixed(2)}`,
      cpu === null ? '-' : ((cpu.user + cpu.system) / r.seconds).toFixed(2),
      r.queuedShare === null ? '-' : `${(r.queuedShare * 100).toFixed(1)}%`,
      r.trafficCores.toFixed(2),
      r.heldAtEnd === null ? '-' : String(r.heldAtEnd),
    ];
  });
  for (const line of table([header, ...lines], [false, ...header.slice(1).map(() => true)])) console.log(line);
  console.log();
  for (const r of ordered) {
    if (r.queuedShare !== null && r.queuedShare < MIN_QUEUED_SHARE) {
      console.log(`warning: ${r.setup.label}: only ${(r.queuedShare * 100).toFixed(1)}% of the packets went through the queue (fail-open passed the rest): its figures overstate it`);
    }
    const c = r.cReport;
    if (c !== null) {
      console.log(`${r.setup.label}: its own count over its whole run: ${c.packets} packets, ${c.verdicts} verdict sends, ${c.recvCalls} recv calls (${c.recvErrors} failed), ${c.cpuSeconds.toFixed(2)} CPU s in ${c.seconds.toFixed(1)} s`);
    }
  }
  const sluice = byKind.get('sluice-unlimited');
  for (const kind of ['c-per-packet', 'c-batch'] as const) {
    const c = byKind.get(kind);
    if (sluice === undefined || c === undefined) continue;
    const target = kind === 'c-per-packet' ? ' (target: at least 0.80; goal: above 1 through batching)' : ' (the ceiling to approach)';
    console.log(`ratio (3) sluice pass-through / ${c.setup.label.slice(4)}: ${(sluice.packetsPerSecond / c.packetsPerSecond).toFixed(2)}${target}`);
  }
  const rules = byKind.get('sluice-rules');
  if (sluice !== undefined && rules !== undefined) {
    // The packet rate is the sender's when sluice is not the bottleneck; CPU per packet is sluice's own.
    const cpuRatio = (userOnly: boolean): string => {
      const [a, b] = [cpuPerPacket(rules, userOnly), cpuPerPacket(sluice, userOnly)];
      return a === null || b === null ? '-' : (a / b).toFixed(2);
    };
    console.log(
      `ratio (3r) sluice with rules / (3) sluice pass-through: pkt/s ${(rules.packetsPerSecond / sluice.packetsPerSecond).toFixed(2)},` +
        ` CPU per packet ${cpuRatio(false)} (user ${cpuRatio(true)}): what classification costs on the path`,
    );
  }
  const accuracy = (r: Row | undefined): string => (r === undefined ? '-' : (r.wireBps / SHAPED_BPS).toFixed(4));
  console.log(
    `rate accuracy at 100mbit (Ethernet frames on the wire / configured): (4) sluice ${accuracy(byKind.get('sluice-shaped'))}, (5) kernel HTB ${accuracy(byKind.get('htb'))}`,
  );
}

function loadLine(when: string): string {
  return `load average ${when}: ${loadavg().map((v) => v.toFixed(2)).join(' ')}`;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.log(`datapath throughput: ${NEED_ROOT}`);
    return EXIT_NEEDS;
  }
  const build = await buildBaseline();
  if (!build.ok) {
    console.log(`datapath throughput: ${build.reason}`);
    return EXIT_NEEDS;
  }
  const windowMs = envNumber('SLUICE_BENCH_SECONDS', 5) * 1000;
  const warmUpMs = envNumber('SLUICE_BENCH_WARMUP_SECONDS', 1) * 1000;
  const streams = Math.round(envNumber('SLUICE_BENCH_STREAMS', 1));
  const profileDir = process.env.SLUICE_BENCH_PROFILE ? resolve(process.env.SLUICE_BENCH_PROFILE) : null;
  if (profileDir !== null) mkdirSync(profileDir, { recursive: true });

  console.log(loadLine('before'));
  console.log(`one bulk TCP flow${streams === 1 ? '' : ` of ${streams} streams`} client → server over a veth, offloads off; ${warmUpMs / 1000} s warm-up, ${windowMs / 1000} s measured per configuration`);
  const configDir = mkdtempSync(join(tmpdir(), 'sluice-bench-throughput-'));
  const lab = await Lab.pair({ name: 'bench' });
  try {
    // A process living in the client's namespace, through whose /proc/PID/net the counters are read.
    const anchor = lab.spawn(HOST, ['sleep', '3600']);
    await waitForExec(anchor.pid!, 'sleep', 10_000);
    const ctx: Context = {
      lab,
      dev: lab.end(HOST).dev,
      queueNum: 1000 + (process.pid % 30_000),
      anchorPid: anchor.pid!,
      binary: build.path,
      configDir,
      profileDir,
      warmUpMs,
      windowMs,
      streams,
    };
    const rows: Row[] = [];
    for (const setup of SETUPS) rows.push(await measure(ctx, setup));
    print(rows);
    if (profileDir !== null) {
      const dirs = ['sluice-unlimited', 'sluice-rules', 'sluice-shaped'].map((kind) => join(profileDir, kind));
      console.log(`CPU profiles of (3), (3r) and (4), one per thread: ${dirs.join(', ')}`);
    }
  } finally {
    await lab.destroy();
    rmSync(configDir, { recursive: true, force: true });
  }
  console.log(loadLine('after'));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`datapath throughput: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
