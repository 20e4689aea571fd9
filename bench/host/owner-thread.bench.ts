/**
 * What the packet thread pays for a connection's owner when the lookup runs in the owner thread
 * (OwnerResolver.request() + the poll() that delivers the answer), and how long the answer takes to
 * come back (request() to delivery, p50/p99), beside the baseline measured in the same run: calling
 * OwnerLookup.resolve() inline, which is what the packet thread would otherwise pay, stalls
 * included (the first lookup builds the /proc index).
 *
 * Setup (root): a private network namespace (unshare on the main thread, which the owner thread
 * inherits; lo up), one child process holding a listener and 1000 connections to it: 2000 connected
 * sockets, each looked up once per pass. The calling thread's costs are given twice: wall time
 * around each call, and that thread's own CPU time (CLOCK_THREAD_CPUTIME_ID through koffi: Node 20 has
 * no per-thread CPU clock); on a loaded 2-core machine the first includes time the thread was
 * descheduled, e.g. when a request wakes the owner thread. The caller waits between request and
 * answer by polling in a loop, as the packet thread's loop would. Bounded: each pass at most its
 * count or LIMIT_MS.
 */
import { spawn } from 'node:child_process';
import koffi from 'koffi';
import { enterPrivateNetns, heldConnections } from './setup.js';
import { OwnerLookup } from '../../src/host/owner-lookup.js';
import { OwnerResolver, type OwnerAnswer } from '../../src/host/owner-thread/resolver.js';

const CONNECTIONS = 1000;
const LIMIT_MS = 5000;
const FIRST_ANSWER_MS = 20_000;
const EMPTY_POLLS = 1_000_000;
const BURST = 256;

enterPrivateNetns('owner-thread.bench');

const holderScript = `
const net = require('net');
let accepted = 0, connected = 0;
const pairs = [];
const ready = () => { if (accepted === ${CONNECTIONS} && connected === ${CONNECTIONS}) console.log(JSON.stringify(pairs)); };
const s = net.createServer(() => { accepted++; ready(); });
s.listen(0, '127.0.0.1', 1024, () => {
  const port = s.address().port;
  for (let i = 0; i < ${CONNECTIONS}; i++) {
    const c = net.connect(port, '127.0.0.1', () => { pairs.push([c.localPort, port]); connected++; ready(); });
  }
});`;
const CLOCK_THREAD_CPUTIME_ID = 3;
const clockGettime = koffi.load('libc.so.6').func('int clock_gettime(int clk, void *ts)');
const timespec = Buffer.alloc(16);

/** This thread's CPU time, µs (one system call, about a microsecond). */
function threadCpuUs(): number {
  clockGettime(CLOCK_THREAD_CPUTIME_ID, timespec);
  return timespec.readUInt32LE(0) * 1e6 + timespec.readUInt32LE(8) / 1000;
}

const child = spawn(process.execPath, ['-e', holderScript], { stdio: ['ignore', 'pipe', 'inherit'] });

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function summary(us: Float64Array): string {
  const s = us.slice().sort();
  let sum = 0;
  for (const v of s) sum += v;
  return `p50 ${percentile(s, 0.5).toFixed(1)}  p99 ${percentile(s, 0.99).toFixed(1)}  max ${s[s.length - 1].toFixed(0)}  mean ${(sum / s.length).toFixed(1)} µs`;
}

async function main(): Promise<void> {
  const tuples = await heldConnections(child, 20_000);
  const pid = child.pid as number;
  const n = tuples.length;
  let wrong = 0;

  // Baseline: resolve() inline, as the packet thread would call it.
  const inline = OwnerLookup.open();
  let t0 = performance.now();
  let c0 = 0;
  if (inline.resolve(tuples[0]).pid !== pid) wrong++;
  const inlineFirstUs = (performance.now() - t0) * 1000;
  const inlineUs = new Float64Array(n);
  const inlineCpuUs = new Float64Array(n);
  let inlineCount = 0;
  for (const passT0 = performance.now(); inlineCount < n && performance.now() - passT0 < LIMIT_MS; inlineCount++) {
    c0 = threadCpuUs();
    t0 = performance.now();
    if (inline.resolve(tuples[inlineCount]).pid !== pid) wrong++;
    inlineUs[inlineCount] = (performance.now() - t0) * 1000;
    inlineCpuUs[inlineCount] = threadCpuUs() - c0;
  }
  inline.close();
  c0 = threadCpuUs();
  for (let i = 0; i < 1000; i++) threadCpuUs();
  const clockReadUs = (threadCpuUs() - c0) / 1000;

  // The owner thread.
  const resolver = OwnerResolver.start({ maxOutstanding: BURST });
  let answers = 0;
  const onAnswer = (a: OwnerAnswer): void => {
    answers++;
    if (a.owner.pid !== pid) wrong++;
  };
  t0 = performance.now();
  resolver.request(0, 0, tuples[0]);
  while (answers === 0 && performance.now() - t0 < FIRST_ANSWER_MS) resolver.poll(onAnswer);
  const firstAnswerMs = performance.now() - t0;
  if (answers === 0) throw new Error(`no first answer within ${FIRST_ANSWER_MS} ms (${resolver.error ?? 'no error'})`);

  t0 = performance.now();
  for (let i = 0; i < EMPTY_POLLS; i++) resolver.poll(onAnswer);
  const emptyPollUs = ((performance.now() - t0) * 1000) / EMPTY_POLLS;

  // One connection at a time: request, then poll until its answer is delivered.
  const latencyUs = new Float64Array(n);
  const callerUs = new Float64Array(n);
  const requestCpuUs = new Float64Array(n);
  const deliverCpuUs = new Float64Array(n);
  let one = 0;
  for (const passT0 = performance.now(); one < n && performance.now() - passT0 < LIMIT_MS; one++) {
    const want = answers + 1;
    c0 = threadCpuUs();
    const r0 = performance.now();
    resolver.request(one, 1, tuples[one]);
    const r1 = performance.now();
    requestCpuUs[one] = threadCpuUs() - c0;
    let p0 = 0;
    let c1 = 0;
    while (answers < want) {
      c1 = threadCpuUs();
      p0 = performance.now();
      resolver.poll(onAnswer);
    }
    const p1 = performance.now();
    deliverCpuUs[one] = threadCpuUs() - c1;
    latencyUs[one] = (p1 - r0) * 1000;
    callerUs[one] = (r1 - r0 + p1 - p0) * 1000;
  }
  const lookupMeanUs = resolver.stats.lookupSumUs / resolver.stats.answered;

  // Bursts of BURST requests, then poll until all are answered: throughput, and the caller's CPU.
  let burstCpuUs = 0;
  let burstDone = 0;
  const burstT0 = performance.now();
  for (let at = 0; at + BURST <= n && performance.now() - burstT0 < LIMIT_MS; at += BURST) {
    const want = answers + BURST;
    c0 = threadCpuUs();
    for (let i = 0; i < BURST; i++) if (!resolver.request(at + i, 2, tuples[at + i])) wrong++;
    burstCpuUs += threadCpuUs() - c0;
    while (answers < want) {
      c0 = threadCpuUs();
      const got = resolver.poll(onAnswer);
      if (got > 0) burstCpuUs += threadCpuUs() - c0;
    }
    burstDone += BURST;
  }
  const burstWallMs = performance.now() - burstT0;
  const stats = { ...resolver.stats };
  await resolver.close();

  const callerCpuUs = new Float64Array(one);
  for (let i = 0; i < one; i++) callerCpuUs[i] = requestCpuUs[i] + deliverCpuUs[i];
  const meanOf = (a: Float64Array): number => a.reduce((sum, v) => sum + v, 0) / a.length;
  const inlineCpuMean = meanOf(inlineCpuUs.subarray(0, inlineCount));
  const callerCpuMean = meanOf(callerCpuUs);
  const rows: [string, string][] = [
    ['baseline: resolve() inline, first (index build)', `${(inlineFirstUs / 1000).toFixed(1)} ms stalled`],
    [`baseline: resolve() inline, ${inlineCount} lookups, wall`, summary(inlineUs.subarray(0, inlineCount))],
    ['baseline: resolve() inline, thread CPU', summary(inlineCpuUs.subarray(0, inlineCount))],
    ['resolver: first answer (thread start + index)', `${firstAnswerMs.toFixed(0)} ms (the caller never blocked)`],
    ['resolver: poll() with nothing arrived', `${emptyPollUs.toFixed(3)} µs/call`],
    [`resolver: request() → answer delivered, ${one}`, summary(latencyUs.subarray(0, one))],
    ['caller: request() + delivering poll(), wall', summary(callerUs.subarray(0, one))],
    ['caller: request(), thread CPU', summary(requestCpuUs.subarray(0, one))],
    ['caller: delivering poll(), thread CPU', summary(deliverCpuUs.subarray(0, one))],
    ['owner thread: resolve() per lookup', `mean ${lookupMeanUs.toFixed(1)} µs, max ${(stats.lookupMaxUs / 1000).toFixed(1)} ms`],
    [`bursts of ${BURST}: ${burstDone} lookups`, `${((burstDone / burstWallMs) * 1000).toFixed(0)} lookups/s, caller CPU ${(burstCpuUs / burstDone).toFixed(2)} µs/lookup`],
  ];
  console.log(`${tuples.length} connected sockets held by pid ${pid}; thread CPU clock read: ${clockReadUs.toFixed(2)} µs (included once in each CPU figure)`);
  for (const [label, figure] of rows) console.log(`${`${label}:`.padEnd(52)}${figure}`);
  console.log(
    `ratio caller CPU / inline resolve CPU: ${(callerCpuMean / inlineCpuMean).toFixed(2)} (mean ${callerCpuMean.toFixed(1)} vs ${inlineCpuMean.toFixed(1)} µs); ` +
      `worst stall inline ${(inlineFirstUs / 1000).toFixed(1)} ms, the caller's worst with the thread ${(Math.max(...callerUs.subarray(0, one)) / 1000).toFixed(2)} ms`,
  );
  console.log(`stats: ${JSON.stringify(stats)}`);
  if (wrong > 0) console.log(`WRONG ANSWERS: ${wrong}`);
}

main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  })
  .finally(() => child.kill('SIGKILL'));
