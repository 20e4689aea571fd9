/**
 * Counters for the datapath throughput benchmark, read from /proc without starting a process per
 * reading (a tool run per sample would cost the CPU the benchmark measures): an interface's
 * transmit counters and an NFQUEUE queue's kernel counters, both read through /proc/PID/net of a
 * process living in the lab host's namespace (/proc/PID/net is the network namespace of PID), and a
 * process's CPU time from /proc/PID/stat (all its threads: sluice's worker is counted with it).
 *
 * The measuring window: wait until the sender's packets are flowing, let them run for a warm-up,
 * then take one sample at the start and one at the end of the window. The figures are differences
 * between the two.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { readQueueStats } from '../../src/datapath/nfqueue/proc-stats.js';

/** USER_HZ: the unit of utime and stime in /proc/PID/stat, 100 on every Linux architecture sluice runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
/** How often the start of the traffic is looked for, and how many packets say that it started. */
const START_POLL_MS = 50;
const START_PACKETS = 50;

export interface Sample {
  atUs: number;
  /** The interface's transmitted frames and their bytes (Ethernet header included). */
  txPackets: number;
  txBytes: number;
  /** The queue's id sequence (packets the kernel handed to the queue's reader), null without a bound queue. */
  queuedPackets: number | null;
  /** Packets the queue holds (no verdict yet) at this moment. */
  heldPackets: number | null;
  /**
   * User and system CPU seconds of the shaper process, null when there is none. System time includes
   * what the kernel does for its verdicts: reinjecting each packet and carrying it across the veth.
   */
  cpu: { user: number; system: number } | null;
}

export interface SampleSource {
  /** A process inside the namespace whose interface and queue are read. */
  netnsPid: number;
  dev: string;
  queueNum: number;
  /** The shaper process whose CPU time is read, or null (no shaper, kernel HTB). */
  shaperPid: number | null;
}

/** The comm of a process ("sleep", "node", "nfq-passthrough"); a process just spawned through `ip netns exec` says "ip" until it has entered the namespace. */
export function processName(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

/** Waits until `pid` runs `name`, i.e. `ip netns exec` has entered the namespace and exec'd it. */
export async function waitForExec(pid: number, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (processName(pid) !== name) {
    if (Date.now() > deadline) throw new Error(`process ${pid} is still "${processName(pid)}", not "${name}", after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** User and system CPU seconds of `pid`, all threads. */
export function cpuSecondsOf(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised comm (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLOCK_TICKS_PER_SECOND, system: Number(fields[12]) / CLOCK_TICKS_PER_SECOND };
}

function txCounters(pid: number, dev: string): { packets: number; bytes: number } {
  for (const line of readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== dev) continue;
    // rx: bytes packets errs drop fifo frame compressed multicast; then tx: bytes packets ...
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    return { bytes: f[8], packets: f[9] };
  }
  throw new Error(`no interface ${dev} in /proc/${pid}/net/dev`);
}

export function takeSample(src: SampleSource): Sample {
  const tx = txCounters(src.netnsPid, src.dev);
  const queue = readQueueStats(src.queueNum, readFileSync(`/proc/${src.netnsPid}/net/netfilter/nfnetlink_queue`, 'utf8'));
  return {
    atUs: performance.now() * 1000,
    txPackets: tx.packets,
    txBytes: tx.bytes,
    queuedPackets: queue === null ? null : queue.idSequence,
    heldPackets: queue === null ? null : queue.queueTotal,
    cpu: src.shaperPid === null ? null : cpuSecondsOf(src.shaperPid),
  };
}

/** Waits for the traffic to start (up to startTimeoutMs), then for warmUpMs, then samples the next windowMs. */
export async function sampleWindow(
  src: SampleSource,
  opts: { warmUpMs: number; windowMs: number; startTimeoutMs: number },
): Promise<{ first: Sample; last: Sample }> {
  const before = takeSample(src).txPackets;
  const deadline = Date.now() + opts.startTimeoutMs;
  while (takeSample(src).txPackets - before < START_PACKETS) {
    if (Date.now() > deadline) throw new Error(`no traffic left ${src.dev} within ${opts.startTimeoutMs} ms of starting the sender`);
    await sleep(START_POLL_MS);
  }
  await sleep(opts.warmUpMs);
  const first = takeSample(src);
  await sleep(opts.windowMs);
  return { first, last: takeSample(src) };
}
