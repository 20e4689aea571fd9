/**
 * What the end-to-end tests share. withLab(): the skeleton of every test (root asserted, a lab built,
 * a temporary directory for configuration files, and afterwards, also on failure, every sluice it
 * started killed, the lab destroyed and the directory removed). The YAML of a configuration, the
 * mangle rules of a lab host, and ProcView, which reads a process's /proc/PID (its memory, CPU and
 * the counters of its network namespace) without starting a process per reading. For the goodput
 * tests: the TCP payload/wire arithmetic, the check that the lab's path really carries MTU-sized
 * packets (so that the arithmetic holds), the measurement of one shaped TCP bulk flow against its
 * expected goodput, and the per-class byte totals read back from `sluice run -v`.
 *
 * The arithmetic: sluice counts IP bytes (plus the link's overhead) against a rate. A bulk TCP flow
 * on Linux sends full segments carrying TCP timestamps: IP header (20 or 40 bytes) + TCP header
 * (20 + 12 bytes of timestamp option) + payload = MTU. At MTU 1500 over IPv4 that is 1448 payload
 * bytes per 1500 on the wire, so a 10 Mbit/s class delivers 10 × 1448/1500 = 9.653 Mbit/s of goodput.
 * That assumption is checked, not trusted: offloads off on every lab veth, one MTU, timestamps on at the
 * sender, and in each run the mean size of the packets the receiving interface counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from '../../src/cli/main.js';
import { formatRate, parseRate } from '../../src/control/units.js';
import { parseQueueStats, type QueueProcStats } from '../../src/datapath/nfqueue/proc-stats.js';
import { Lab, NEED_ROOT, SluiceProcess } from '../../src/lab/index.js';
import { offloadState } from '../../src/lab/netns.js';
import { goodputBps, tcpBulk, type TcpBulkResult } from '../../src/lab/traffic/index.js';

/** The goodput tests' tolerance: measured within 3% of rate × payload/wire. */
export const GOODPUT_TOLERANCE = 0.03;
/** A bulk flow's length and the steady window measured (slow start and the first queue build-up left out). */
export const BULK_MS = 10_000;
export const STEADY_FROM_MS = 2000;
export const STEADY_TO_MS = 10_000;
/** Bound for a test that builds a lab, starts sluice (tsx compiles first) and runs one bulk flow. */
export const ONE_FLOW_TIMEOUT_MS = 90_000;

const IPV4_HEADER_BYTES = 20;
const IPV6_HEADER_BYTES = 40;
/** IPv4 and UDP headers: sluice counts IP bytes, a UDP sender's rate is of payload. */
export const IPV4_UDP_HEADER_BYTES = 28;
/** TCP header with the timestamp option Linux puts on every segment (10 bytes, padded to 12). */
const TCP_HEADER_WITH_TIMESTAMPS_BYTES = 32;
/** What a veth counts per frame above the IP packet. */
export const ETHERNET_HEADER_BYTES = 14;
/** How far below the MTU the mean packet the receiver saw may be (handshake, FIN and ARP packets pull it down). */
const MEAN_PACKET_TOLERANCE = 0.01;

/**
 * An NFQUEUE number for this process's sluice. Queues are per network namespace, so this only
 * keeps clear of anything else started in the same lab host; derived from the pid as the rules ask.
 */
export function queueNumber(): number {
  return 1000 + (process.pid % 30_000);
}

/** A temporary directory for a test's configuration files; remove() in finally. */
export class TempDir {
  private constructor(readonly path: string) {}

  static create(label: string): TempDir {
    return new TempDir(mkdtempSync(join(tmpdir(), `sluice-e2e-${label}-`)));
  }

  /** Writes `text` to `name` inside the directory and returns its path. */
  write(name: string, text: string): string {
    const file = join(this.path, name);
    writeFileSync(file, text);
    return file;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** What withLab hands its body. */
export interface LabSession {
  lab: Lab;
  /** For configuration files. */
  dir: TempDir;
  /** SluiceProcess.start in `host`; withLab kills (SIGKILL) whatever is still running when the body ends. */
  startSluice(host: string, configFile: string, extra?: readonly string[]): Promise<SluiceProcess>;
}

/**
 * Asserts root, builds a lab named `name` (client — router — server unless `build` makes another)
 * and runs `body` in it; afterwards, also when it fails, kills every sluice it started that still
 * runs, destroys the lab (with every process spawned in it) and removes the directory.
 */
export async function withLab<T>(
  name: string,
  body: (session: LabSession) => Promise<T>,
  build: (name: string) => Promise<Lab> = (labName) => Lab.line({ name: labName }),
): Promise<T> {
  assert.equal(process.getuid?.(), 0, NEED_ROOT);
  const dir = TempDir.create(name);
  const sluices: SluiceProcess[] = [];
  let lab: Lab | null = null;
  try {
    const built = await build(name);
    lab = built;
    const startSluice = async (host: string, configFile: string, extra: readonly string[] = []): Promise<SluiceProcess> => {
      const sluice = await SluiceProcess.start(built, host, configFile, extra);
      sluices.push(sluice);
      return sluice;
    };
    return await body({ lab: built, dir, startSluice });
  } finally {
    for (const sluice of sluices) await sluice.stop('SIGKILL').catch(() => undefined);
    if (lab !== null) await lab.destroy();
    dir.remove();
  }
}

/** Runs the sluice command line in this process (against a daemon's --socket); what it printed and its exit code. */
export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** iptables and ip6tables `-t mangle -S` in the host, joined. */
export async function mangleRules(lab: Lab, host: string): Promise<string> {
  let out = '';
  for (const tool of ['iptables', 'ip6tables']) out += (await lab.exec(host, [tool, '-w', '-t', 'mangle', '-S'], { timeoutMs: 10_000 })).stdout;
  return out;
}

export function mbit(bps: number): string {
  return `${(bps / 1e6).toFixed(3)} Mbit/s`;
}

/** Run and run-queue wait of one thread, nanoseconds (/proc/PID/task/TID/schedstat). */
export interface ThreadTimes {
  runNs: number;
  waitNs: number;
}

/**
 * What a process shows in /proc/PID, read without starting a process: its memory and CPU, and, since
 * /proc/PID/net is the network namespace of PID, the interfaces, UDP counters and NFQUEUE queues of
 * the lab host it runs in.
 */
export class ProcView {
  constructor(readonly pid: number) {}

  /** Waits until `ip netns exec` (spawned as pid) has entered the namespace holding `dev`. */
  static async inNamespace(pid: number, dev: string): Promise<ProcView> {
    const view = new ProcView(pid);
    for (let i = 0; i < 200 && !view.text('net/dev').includes(` ${dev}:`); i++) await sleep(10);
    view.dev(dev);
    return view;
  }

  /** A view of the namespace of `host` (which holds `dev`) through a `sleep` there; lab.destroy() ends it. */
  static inHost(lab: Lab, host: string, dev: string, lifetimeMs: number): Promise<ProcView> {
    return ProcView.inNamespace(lab.spawn(host, ['sleep', String(Math.ceil(lifetimeMs / 1000))]).pid ?? -1, dev);
  }

  private text(file: string): string {
    return readFileSync(`/proc/${this.pid}/${file}`, 'utf8');
  }

  rssBytes(): number {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(this.text('status'));
    if (m === null) throw new Error(`/proc/${this.pid}/status has no VmRSS line`);
    return Number(m[1]) * 1024;
  }

  /** Per thread id: how long it ran and how long it was runnable but waited for a CPU. */
  threadTimes(): Map<string, ThreadTimes> {
    const times = new Map<string, ThreadTimes>();
    for (const tid of readdirSync(`/proc/${this.pid}/task`)) {
      const [runNs, waitNs] = this.text(`task/${tid}/schedstat`).trim().split(' ').map(Number);
      times.set(tid, { runNs, waitNs });
    }
    return times;
  }

  /** CPU seconds of all threads together, and seconds they were runnable but waited for a CPU. */
  cpu(): { runS: number; waitS: number } {
    let runNs = 0;
    let waitNs = 0;
    for (const t of this.threadTimes().values()) {
      runNs += t.runNs;
      waitNs += t.waitNs;
    }
    return { runS: runNs / 1e9, waitS: waitNs / 1e9 };
  }

  /** Bytes (Ethernet frames) and packets received by an interface of the namespace. */
  rx(dev: string): { bytes: number; packets: number } {
    const [bytes, packets] = this.dev(dev);
    return { bytes, packets };
  }

  private dev(dev: string): number[] {
    const line = this.text('net/dev').split('\n').find((l) => l.trimStart().startsWith(`${dev}:`));
    if (line === undefined) throw new Error(`${dev} is not in /proc/${this.pid}/net/dev`);
    return line.slice(line.indexOf(':') + 1).trim().split(/\s+/).map(Number);
  }

  /** The namespace's UDP counters (/proc/net/snmp): InDatagrams, NoPorts, ... */
  udp(): Record<string, number> {
    const [names, values] = this.text('net/snmp').split('\n').filter((l) => l.startsWith('Udp:')).map((l) => l.split(/\s+/));
    return Object.fromEntries(names.map((name, i) => [name, Number(values[i])]));
  }

  queue(queueNum: number): QueueProcStats {
    const q = parseQueueStats(this.text('net/netfilter/nfnetlink_queue')).find((s) => s.queueNum === queueNum);
    if (q === undefined) throw new Error(`queue ${queueNum} is not bound in the namespace of process ${this.pid}`);
    return q;
  }
}

export interface LinkConfig {
  interface: string;
  egressBps?: number;
  ingressBps?: number;
  overheadBytes?: number;
}

/**
 * A `sluice run` configuration: the datapath on `queue` (default: the datapath's own default, queue 0),
 * the links, and the classes given as YAML lines indented under `classes:` (default: one default class
 * at the link's rate).
 */
export function configYaml(opts: { queue?: number; links: readonly LinkConfig[]; classes?: string }): string {
  const links = opts.links.map((l) =>
    [
      `  - interface: ${l.interface}`,
      l.egressBps === undefined ? '' : `    egress: ${formatRate(l.egressBps)}`,
      l.ingressBps === undefined ? '' : `    ingress: ${formatRate(l.ingressBps)}`,
      l.overheadBytes === undefined ? '' : `    overhead: ${l.overheadBytes}`,
    ].filter((s) => s !== '').join('\n'));
  const classes = opts.classes ?? '  default:\n    rate: 100%\n';
  const datapath = opts.queue === undefined ? '' : `datapath:\n  queues: ${opts.queue}\n`;
  return `${datapath}links:\n${links.join('\n')}\nclasses:\n${classes}`;
}

/** One full-sized TCP segment with timestamps at `mtuBytes`: its payload and its IP packet. */
export function tcpSegment(family: 4 | 6, mtuBytes: number): { payloadBytes: number; ipBytes: number } {
  const ipHeader = family === 4 ? IPV4_HEADER_BYTES : IPV6_HEADER_BYTES;
  return { payloadBytes: mtuBytes - ipHeader - TCP_HEADER_WITH_TIMESTAMPS_BYTES, ipBytes: mtuBytes };
}

/** Payload bytes per byte sluice counts (IP bytes + overhead) for a bulk TCP flow. */
export function tcpWireRatio(family: 4 | 6, mtuBytes: number, overheadBytes = 0): number {
  const seg = tcpSegment(family, mtuBytes);
  return seg.payloadBytes / (seg.ipBytes + overheadBytes);
}

/**
 * Checks what the payload/wire arithmetic assumes about the lab path and returns the MTU: every
 * veth end has segmentation and receive offloads off (no GSO super-packets, nothing merged), all
 * links have one MTU, and the sending host puts TCP timestamps on its segments.
 */
export async function checkWirePath(lab: Lab, sender: string): Promise<number> {
  const mtus = new Set<number>();
  for (const end of lab.links.flatMap((l) => [l.a, l.b])) {
    const state = await offloadState(end.netns, end.dev);
    for (const feature of ['tcp-segmentation-offload', 'generic-segmentation-offload', 'generic-receive-offload']) {
      assert.equal(state.get(feature), false, `${end.host} ${end.dev}: ${feature} is on; the lab should turn it off`);
    }
    const link = await lab.exec(end.host, ['ip', '-j', 'link', 'show', 'dev', end.dev]);
    mtus.add((JSON.parse(link.stdout) as Array<{ mtu: number }>)[0].mtu);
  }
  assert.equal(mtus.size, 1, `the lab's links have different MTUs: ${[...mtus].join(', ')}`);
  const ts = await lab.exec(sender, ['sysctl', '-n', 'net.ipv4.tcp_timestamps']);
  assert.equal(ts.stdout.trim(), '1', `${sender} sends TCP segments without timestamps (net.ipv4.tcp_timestamps=${ts.stdout.trim()})`);
  return [...mtus][0];
}

interface RxCounters {
  bytes: number;
  packets: number;
}

/** Segments the host's TCP retransmitted so far (/proc/net/snmp is per network namespace). */
async function retransmittedSegments(lab: Lab, host: string): Promise<number> {
  const lines = (await lab.exec(host, ['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Tcp:'));
  return Number(lines[1].split(/\s+/)[lines[0].split(/\s+/).indexOf('RetransSegs')]);
}

/**
 * How the shaper's busiest thread (the hot path's worker) fared between two threadTimes() readings:
 * CPU time it ran, and time it was ready to run but waited for a CPU — the measure of contention.
 */
function busiestThread(before: Map<string, ThreadTimes>, after: Map<string, ThreadTimes>): { runMs: number; waitMs: number } {
  let best = { runMs: 0, waitMs: 0 };
  for (const [tid, a] of after) {
    const b = before.get(tid);
    if (b === undefined) continue;
    const runMs = (a.runNs - b.runNs) / 1e6;
    if (runMs > best.runMs) best = { runMs, waitMs: (a.waitNs - b.waitNs) / 1e6 };
  }
  return best;
}

async function rxCounters(lab: Lab, host: string, dev: string): Promise<RxCounters> {
  const out = await lab.exec(host, ['ip', '-s', '-j', 'link', 'show', 'dev', dev]);
  const rx = (JSON.parse(out.stdout) as Array<{ stats64: { rx: RxCounters } }>)[0].stats64.rx;
  return { bytes: rx.bytes, packets: rx.packets };
}

export interface ShapedTcpOptions {
  from: string;
  to: string;
  family: 4 | 6;
  /** The class's rate sluice enforces (IP bytes + overhead per second × 8). */
  rateBps: number;
  overheadBytes?: number;
  /** What the diagnostics call this measurement. */
  label: string;
  /** The shaping process, whose CPU time and run-queue wait the diagnostics report. */
  shaper: SluiceProcess;
}

export interface ShapedTcpResult {
  goodputBps: number;
  expectedBps: number;
  bulk: TcpBulkResult;
}

/**
 * Runs one TCP bulk flow `from` → `to` for BULK_MS through a shaper set to rateBps, prints the
 * figures (with what explains a miss: retransmissions, CPU time, how long sluice's worker waited for
 * a CPU, the machine's load), and asserts: the packets the receiving interface saw were full-sized
 * (MTU-sized segments, no GSO super-packets, as the arithmetic assumes), and the steady goodput is
 * within GOODPUT_TOLERANCE of rateBps × the payload/wire ratio.
 */
export async function assertShapedTcp(t: TestContext, lab: Lab, opts: ShapedTcpOptions): Promise<ShapedTcpResult> {
  const mtu = await checkWirePath(lab, opts.from);
  const ratio = tcpWireRatio(opts.family, mtu, opts.overheadBytes ?? 0);
  const rxEnd = lab.end(opts.to);
  const shaper = new ProcView(opts.shaper.child.pid ?? 0);
  const before = await rxCounters(lab, opts.to, rxEnd.dev);
  const retransBefore = await retransmittedSegments(lab, opts.from);
  const schedBefore = shaper.threadTimes();
  const bulk = await tcpBulk(lab, { from: opts.from, to: opts.to, family: opts.family, durationMs: BULK_MS });
  const worker = busiestThread(schedBefore, shaper.threadTimes());
  const after = await rxCounters(lab, opts.to, rxEnd.dev);
  const retransmitted = (await retransmittedSegments(lab, opts.from)) - retransBefore;
  const cc = (await lab.exec(opts.from, ['sysctl', '-n', 'net.ipv4.tcp_congestion_control'])).stdout.trim();

  // The receiving veth counts Ethernet frames; the IP packets are 14 bytes shorter.
  const rxPackets = after.packets - before.packets;
  const rxIpBytes = after.bytes - before.bytes - rxPackets * ETHERNET_HEADER_BYTES;
  const meanIpBytes = rxIpBytes / rxPackets;
  const goodput = goodputBps(bulk, STEADY_FROM_MS, STEADY_TO_MS);
  const expected = opts.rateBps * ratio;
  const error = goodput / expected - 1;
  t.diagnostic(
    `${opts.label}: goodput ${(goodput / 1e6).toFixed(4)} Mbit/s over ${STEADY_FROM_MS / 1000}-${STEADY_TO_MS / 1000} s, ` +
      `expected ${(expected / 1e6).toFixed(4)} (${formatRate(opts.rateBps)} × ${ratio.toFixed(4)}), error ${(error * 100).toFixed(2)}% | ` +
      `receiver saw ${rxPackets} packets, mean IP size ${meanIpBytes.toFixed(1)} B | sender (${cc}) retransmitted ${retransmitted} segments | ` +
      `cpu: sender ${(bulk.senderCpuUs / 1e6).toFixed(2)} s, receiver ${(bulk.receiverCpuUs / 1e6).toFixed(2)} s, ` +
      `sluice worker ran ${(worker.runMs / 1000).toFixed(2)} s and waited ${(worker.waitMs / 1000).toFixed(2)} s for a CPU | ` +
      `load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  assert.ok(
    meanIpBytes >= mtu * (1 - MEAN_PACKET_TOLERANCE) && meanIpBytes <= mtu,
    `${opts.label}: the receiver saw packets of ${meanIpBytes.toFixed(1)} IP bytes on average (${rxPackets} packets), not full ${mtu}-byte segments`,
  );
  assert.ok(
    Math.abs(error) <= GOODPUT_TOLERANCE,
    `${opts.label}: goodput ${(goodput / 1e6).toFixed(4)} Mbit/s is ${(error * 100).toFixed(2)}% from ${(expected / 1e6).toFixed(4)} (bins: ${bulk.binsBytes.join(',')})`,
  );
  return { goodputBps: goodput, expectedBps: expected, bulk };
}

/** The summary blocks `sluice run -v` printed, one line each (head and class lines joined by " | "). */
export function summaryBlocks(output: string): string[] {
  const blocks: string[][] = [];
  for (const line of output.split('\n')) {
    if (/^sluice: [\d.]+ s:/.test(line)) blocks.push([line]);
    else if (line.startsWith('  ') && blocks.length > 0) blocks[blocks.length - 1].push(line.trim().replace(/ {2,}/g, ' '));
  }
  return blocks.map((b) => b.join(' | '));
}

/**
 * Bytes each class sent per link and direction over a `sluice run -v` run, keyed "LINK DIRECTION PATH":
 * the sum over every summary block of the class's rate × the block's window. (The first block of a
 * run also has a window: the printer starts counting from the worker's first snapshot.)
 */
export function classBytesFromSummaries(output: string): Map<string, number> {
  const totals = new Map<string, number>();
  let windowS = 0;
  for (const line of output.split('\n')) {
    const head = /^sluice: ([\d.]+) s: \d+ packets received/.exec(line);
    if (head) {
      windowS = Number(head[1]);
      continue;
    }
    const row = /^ {2}(\S+) (egress|ingress) (\S+) +(\S+) +rate /.exec(line);
    if (!row) continue;
    const key = `${row[1]} ${row[2]} ${row[3]}`;
    totals.set(key, (totals.get(key) ?? 0) + (parseRate(row[4]) * windowS) / 8);
  }
  return totals;
}
