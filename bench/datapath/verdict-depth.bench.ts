/**
 * What a verdict costs against how many packets the queue holds, in the kernel and in sluice. Kernels
 * without upstream commit e19079adcd26 ("nfnetlink_queue: optimize verdict lookup with hash table",
 * also in 6.18 stable) walk a queue's list of held packets from the oldest for each verdict, so a
 * verdict for the newest packet passes every other held one; kernels with it look the id up in a hash
 * table. sluice finds the packet in its own held-packet table (HeldPackets) too. The scheduler's
 * limits bound the held depth; this says where that bound must lie on the kernel it runs on.
 *
 * Root. The benchmark builds a two-host lab (Lab.pair) and runs its measuring half (this same file,
 * with --inside) in the client's namespace, where a mangle POSTROUTING rule queues UDP to the server's
 * port to the queue sluice's NfqueueDatapath binds. For each depth N (16, 256, 1024, 4096) and order
 * (arrival order, newest first, random) it sends N datagrams, waits until the datapath holds all N,
 * then times N accept() calls (user space: encoding into the send buffer) and the one flush() that
 * sends them in a single datagram (kernel: find each packet, reinject it, put it on the veth). The
 * server drops the datagrams in its INPUT chain. Figures are medians over repetitions.
 *
 * Baselines, measured in the same run: arrival order at depth 16 (every lookup finds the list's head:
 * the verdict's cost without the search), and depth 1 (one packet held, its verdict in a send of its
 * own: the classic one-verdict-per-syscall program). After each depth the kernel's queue counters
 * (/proc/net/netfilter/nfnetlink_queue, read inside the namespace) are printed; the queue is
 * fail-closed here so that queue_dropped and user_dropped count, and both must be 0.
 *
 * Run: node --import tsx bench/datapath/verdict-depth.bench.ts
 */
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import * as libc from '../../src/datapath/ffi/libc.js';
import { NfqueueDatapath, type PacketPlace } from '../../src/datapath/nfqueue/datapath.js';
import { readQueueStats, type QueueProcStats } from '../../src/datapath/nfqueue/proc-stats.js';
import { Direction } from '../../src/datapath/types.js';
import { table } from '../../src/control/text-table.js';
import { Lab, NEED_ROOT } from '../../src/lab/index.js';

const DEPTHS = [16, 256, 1024, 4096];
const ORDERS = ['arrival', 'newest first', 'random'] as const;
type Order = (typeof ORDERS)[number];
/** Verdicts timed per (depth, order), at least MIN_REPS repetitions. */
const TARGET_VERDICTS = 32_768;
const MIN_REPS = 5;
const DEPTH1_REPS = 2000;
const PORT = 5311;
const PAYLOAD_BYTES = 64;
const FILL_TIMEOUT_MS = 5000;
const CHILD_TIMEOUT_MS = 240_000;
const SELF = fileURLToPath(import.meta.url);

interface DepthResult {
  depth: number;
  order: Order;
  /** Median µs per verdict: the accept() calls (user space), and the one send (kernel). */
  userUsPerVerdict: number;
  sendUsPerVerdict: number;
  reps: number;
}

interface Report {
  depth1UsPerVerdict: number;
  results: DepthResult[];
  /** The queue's kernel counters after each depth's runs. */
  procAfterDepth: { depth: number; stats: QueueProcStats | null }[];
  kernelErrors: number;
  sendErrors: number;
}

// ---- the measuring half, inside the client's namespace ----

/** A UDP socket toward the server, sending through sendto (libc.ts has no sendto; this is bench-only). */
class UdpSender {
  private static readonly sendto = koffi.load('libc.so.6').func('intptr_t sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)');
  private readonly fd: number;
  private readonly addr = Buffer.alloc(16);
  private readonly payload = Buffer.alloc(PAYLOAD_BYTES, 0x5a);

  constructor(dst: string, port: number) {
    this.fd = libc.socket(2 /* AF_INET */, libc.SOCK_DGRAM | libc.SOCK_CLOEXEC, 0);
    if (this.fd < 0) throw new Error(`UDP socket failed: ${libc.strerror(-this.fd)}`);
    // A queued packet stays charged to its sending socket until its verdict: room for thousands of them.
    const SO_SNDBUFFORCE = 32;
    if (libc.setsockoptInt(this.fd, libc.SOL_SOCKET, SO_SNDBUFFORCE, 64 << 20) < 0) throw new Error('SO_SNDBUFFORCE failed (root needed)');
    this.addr.writeUInt16LE(2, 0);
    this.addr.writeUInt16BE(port, 2);
    dst.split('.').forEach((octet, i) => (this.addr[4 + i] = Number(octet)));
  }

  send(count: number): void {
    for (let i = 0; i < count; i++) {
      const r = UdpSender.sendto(this.fd, this.payload, PAYLOAD_BYTES, libc.MSG_DONTWAIT, this.addr, this.addr.length);
      if (r !== PAYLOAD_BYTES) throw new Error(`sendto failed after ${i} of ${count} datagrams: errno ${koffi.errno()}`);
    }
  }

  close(): void {
    libc.close(this.fd);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function nowUs(): number {
  return performance.now() * 1000;
}

/** Seeded Fisher-Yates shuffle of the first n entries (mulberry32), so runs are comparable. */
function shuffle(a: Uint32Array, n: number, seed: number): void {
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const j = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (i + 1));
    const x = a[i];
    a[i] = a[j];
    a[j] = x;
  }
}

class Measurer {
  private readonly dp: NfqueueDatapath;
  private readonly sender: UdpSender;
  private readonly handles = new Uint32Array(Math.max(...DEPTHS));

  constructor(readonly queueNum: number, dst: string) {
    const place: PacketPlace = { link: 0, direction: Direction.EGRESS };
    this.dp = NfqueueDatapath.open({
      queueNum,
      maxlenPackets: Math.max(...DEPTHS) + 256,
      failOpen: false,
      classify: () => place,
      receiveBufferBytes: 32 << 20,
      slotBytes: 256,
      sendBufferBytes: 256 << 10,
    });
    this.sender = new UdpSender(dst, PORT);
  }

  /** Sends n datagrams and receives them until the datapath holds all n; handles in arrival order. */
  private fill(n: number): void {
    const dp = this.dp;
    this.sender.send(n);
    let got = 0;
    const deadline = Date.now() + FILL_TIMEOUT_MS;
    while (got < n) {
      if (Date.now() > deadline) {
        const s = readQueueStats(this.queueNum);
        throw new Error(`only ${got} of ${n} packets reached the datapath in ${FILL_TIMEOUT_MS} ms (kernel: queue_dropped ${s?.queueDropped}, user_dropped ${s?.userDropped})`);
      }
      const b = dp.receive(10_000);
      for (let i = 0; i < b.count; i++) this.handles[got++] = b.handles[i];
    }
  }

  /** One repetition: hold n, give all n verdicts in `order`, one send. Returns [user µs, send µs] per verdict. */
  private once(n: number, order: Order, seed: number): [number, number] {
    const dp = this.dp;
    const h = this.handles;
    this.fill(n);
    if (order === 'newest first') h.subarray(0, n).reverse();
    else if (order === 'random') shuffle(h, n, seed);
    const sendsBefore = dp.counters.sends;
    const t0 = nowUs();
    for (let i = 0; i < n; i++) dp.accept(h[i]);
    const t1 = nowUs();
    dp.flush();
    const t2 = nowUs();
    if (dp.counters.sends - sendsBefore !== 1) throw new Error(`${n} verdicts took ${dp.counters.sends - sendsBefore} sends, not one`);
    if (dp.heldCount !== 0) throw new Error(`${dp.heldCount} packets still held after the verdicts`);
    return [(t1 - t0) / n, (t2 - t1) / n];
  }

  run(): Report {
    const dp = this.dp;
    // Warm-up: the JIT, the socket buffers, the route and neighbour entry.
    for (let i = 0; i < 200; i++) this.once(16, ORDERS[i % ORDERS.length], i);
    const depth1: number[] = [];
    for (let i = 0; i < DEPTH1_REPS; i++) {
      const [u, s] = this.once(1, 'arrival', i);
      depth1.push(u + s);
    }
    const results: DepthResult[] = [];
    const procAfterDepth: Report['procAfterDepth'] = [];
    for (const depth of DEPTHS) {
      const reps = Math.max(MIN_REPS, Math.ceil(TARGET_VERDICTS / depth));
      const user = new Map<Order, number[]>(ORDERS.map((o) => [o, []]));
      const send = new Map<Order, number[]>(ORDERS.map((o) => [o, []]));
      // Orders interleaved per repetition, so that drift on a shared machine colours them alike.
      for (let r = 0; r < reps; r++) {
        for (const order of ORDERS) {
          const [u, s] = this.once(depth, order, depth * 7919 + r);
          user.get(order)!.push(u);
          send.get(order)!.push(s);
        }
      }
      for (const order of ORDERS) {
        results.push({ depth, order, userUsPerVerdict: median(user.get(order)!), sendUsPerVerdict: median(send.get(order)!), reps });
      }
      dp.receive(0); // collects any error the kernel answered a verdict with
      procAfterDepth.push({ depth, stats: readQueueStats(this.queueNum) });
    }
    return {
      depth1UsPerVerdict: median(depth1),
      results,
      procAfterDepth,
      kernelErrors: dp.counters.kernelErrors,
      sendErrors: dp.counters.sendErrors,
    };
  }

  close(): void {
    this.dp.close();
    this.sender.close();
  }
}

function inside(queueNum: number, dst: string): void {
  let m: Measurer | null = null;
  try {
    m = new Measurer(queueNum, dst);
    console.log(JSON.stringify(m.run()));
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
  } finally {
    m?.close();
  }
}

// ---- the driving half: the lab, the rules, the child, the table ----

function fmt(x: number, digits = 2): string {
  return x.toFixed(digits);
}

function printReport(r: Report): void {
  const at = (depth: number, order: Order): DepthResult => r.results.find((x) => x.depth === depth && x.order === order)!;
  const base = at(DEPTHS[0], 'arrival');
  const baseUs = base.userUsPerVerdict + base.sendUsPerVerdict;
  console.log('verdict cost against held depth (µs per verdict, median; all N verdicts in one send)');
  console.log(`baseline: arrival order at depth ${DEPTHS[0]}: ${fmt(baseUs)} µs/verdict (kernel ${fmt(base.sendUsPerVerdict)}); depth 1, one verdict per send: ${fmt(r.depth1UsPerVerdict)} µs/verdict`);
  const rows: string[][] = [['depth', 'order', 'reps', 'user µs', 'kernel µs', 'total µs', 'x baseline', 'x arrival']];
  for (const x of r.results) {
    const total = x.userUsPerVerdict + x.sendUsPerVerdict;
    const arrival = at(x.depth, 'arrival');
    rows.push([
      String(x.depth), x.order, String(x.reps), fmt(x.userUsPerVerdict, 3), fmt(x.sendUsPerVerdict), fmt(total),
      fmt(total / baseUs), fmt(total / (arrival.userUsPerVerdict + arrival.sendUsPerVerdict)),
    ]);
  }
  for (const line of table(rows, [true, false, true, true, true, true, true, true])) console.log(line);
  // How each part grows from the shallowest to the deepest depth, per order: flat means the lookup
  // does not search; a linear search grows about with depth / 2 (newest first, random).
  const first = DEPTHS[0];
  const last = DEPTHS[DEPTHS.length - 1];
  const growth = (part: 'userUsPerVerdict' | 'sendUsPerVerdict'): string =>
    ORDERS.map((o) => `${o} x${fmt(at(last, o)[part] / at(first, o)[part])}`).join(', ');
  console.log(`growth from depth ${first} to ${last}: user space (sluice's held-packet table) ${growth('userUsPerVerdict')}; kernel ${growth('sendUsPerVerdict')}`);
  const proc = r.procAfterDepth.map((p) => `depth ${p.depth}: queue_dropped ${p.stats?.queueDropped ?? '?'}, user_dropped ${p.stats?.userDropped ?? '?'}, held ${p.stats?.queueTotal ?? '?'}`);
  console.log(`kernel queue counters (fail-closed): ${proc.join('; ')}`);
  console.log(`verdicts the kernel refused: ${r.kernelErrors}; failed sends: ${r.sendErrors}`);
}

function collect(child: ReturnType<Lab['spawn']>, timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

async function drive(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error(`verdict-depth: ${NEED_ROOT}`);
    process.exitCode = 2;
    return;
  }
  const queueNum = 3000 + (process.pid % 20000);
  const lab = await Lab.pair({ name: 'vdepth' });
  try {
    const dev = lab.end('client').dev;
    const server = lab.address('server', 4);
    await lab.exec('client', ['iptables', '-t', 'mangle', '-A', 'POSTROUTING', '-o', dev, '-p', 'udp', '--dport', String(PORT), '-j', 'NFQUEUE', '--queue-num', String(queueNum)]);
    await lab.exec('server', ['iptables', '-A', 'INPUT', '-p', 'udp', '--dport', String(PORT), '-j', 'DROP']);
    const child = lab.spawn('client', [process.execPath, '--import', 'tsx', SELF, '--inside', String(queueNum), server]);
    const r = await collect(child, CHILD_TIMEOUT_MS);
    const line = r.out.split('\n').find((l) => l.startsWith('{'));
    if (r.code !== 0 || line === undefined) {
      console.error(`verdict-depth: the measuring process failed (exit ${r.code}): ${r.err.trim() || r.out.trim()}`);
      process.exitCode = 1;
      return;
    }
    printReport(JSON.parse(line) as Report);
  } finally {
    await lab.destroy();
  }
}

if (process.argv[2] === '--inside') inside(Number(process.argv[3]), process.argv[4]);
else await drive();
