/**
 * The cost of one synchronous libc call through koffi, in ns, beside a plain JavaScript function call
 * measured in the same process: abs() (a koffi call with no system call: the FFI crossing alone), getpid (the cheapest system call: nearly all of it is the FFI
 * crossing), close(-1) with its errno read (the failure path), ppoll with a zero timeout, a 64-byte
 * datagram sent on an AF_UNIX socketpair, and that datagram received back through recvmmsg.
 * Each figure: 200 ms warm-up, then 15 slices of 40 ms alternating with the baseline, median slice.
 */
import koffi from 'koffi';
import * as libc from '../../src/datapath/ffi/libc.js';
import { MessageBatch } from '../../src/datapath/ffi/message-batch.js';

const SLICES = 15;
const SLICE_NS = 40_000_000n;
const WARMUP_NS = 200_000_000n;
const CALLS_PER_ROUND = 1000;

let sink = 0;

/** A plain JS function the loop calls: the baseline (the optimizer may inline it, as it would app code). */
function jsCall(x: number): number {
  return (x * 31 + 7) | 0;
}

/** ns per call of `round` (which makes CALLS_PER_ROUND calls) over one slice. */
function slice(round: () => void, ns: bigint): number {
  const t0 = process.hrtime.bigint();
  let rounds = 0;
  let t = t0;
  while (t - t0 < ns) {
    round();
    rounds++;
    t = process.hrtime.bigint();
  }
  return Number(t - t0) / (rounds * CALLS_PER_ROUND);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const baseline = (): void => {
  for (let i = 0; i < CALLS_PER_ROUND; i++) sink = jsCall(sink + i);
};

function measure(name: string, round: () => void): void {
  slice(round, WARMUP_NS);
  slice(baseline, WARMUP_NS / 4n);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < SLICES; i++) {
    a.push(slice(round, SLICE_NS));
    b.push(slice(baseline, SLICE_NS));
  }
  const ns = median(a);
  const base = median(b);
  console.log(
    `${name}: ${ns.toFixed(1)} ns/call (${(1000 / ns).toFixed(2)} M calls/s) | baseline plain JS call: ${base.toFixed(2)} ns/call | ratio ${(ns / base).toFixed(0)}`,
  );
}

const fds = new Int32Array(2);
if (libc.socketpair(libc.AF_UNIX, libc.SOCK_DGRAM | libc.SOCK_CLOEXEC, 0, fds) !== 0) throw new Error('socketpair failed');
const [a, b] = [fds[0], fds[1]];
libc.setsockoptInt(a, libc.SOL_SOCKET, libc.SO_SNDBUF, 4 << 20);
libc.setsockoptInt(b, libc.SOL_SOCKET, libc.SO_RCVBUF, 4 << 20);
const datagram = Buffer.alloc(64, 0x5a);
const pollfd = Buffer.alloc(libc.layout.pollfdBytes);
pollfd.writeInt32LE(b, 0);
pollfd.writeInt16LE(libc.POLLIN, 4);
const batch = new MessageBatch(64, 256);

const abs = koffi.load('libc.so.6').func('int abs(int)');
measure('koffi call, no syscall (abs)', () => {
  for (let i = 0; i < CALLS_PER_ROUND; i++) sink += abs(i);
});
measure('getpid', () => {
  for (let i = 0; i < CALLS_PER_ROUND; i++) sink += libc.getpid();
});
measure('close(-1) -> -EBADF (errno read)', () => {
  for (let i = 0; i < CALLS_PER_ROUND; i++) sink += libc.close(-1);
});
measure('ppoll(1 fd, timeout 0)', () => {
  for (let i = 0; i < CALLS_PER_ROUND; i++) sink += libc.ppoll(pollfd, 1, 0);
});
// Per datagram: its send plus 1/64 of the recvmmsg that takes back 64 at once, against a send plus a
// recv each; the difference is what batching the receive side saves per message.
measure('send 64 B datagram (+1/64 recvmmsg of 64)', () => {
  for (let i = 0; i < CALLS_PER_ROUND; i += 64) {
    for (let j = 0; j < 64; j++) sink += libc.send(a, datagram, 64, 0);
    sink += batch.receive(b);
  }
});
measure('send 64 B datagram (+1 recv each)', () => {
  for (let i = 0; i < CALLS_PER_ROUND; i++) {
    sink += libc.send(a, datagram, 64, 0);
    sink += libc.recv(b, batch.buffers[0], 256, libc.MSG_DONTWAIT);
  }
});
libc.close(a);
libc.close(b);
if (sink === 0.5) console.log(sink);
