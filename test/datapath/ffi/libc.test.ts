/**
 * The libc wrappers: a datagram round trip through send/recv on a socketpair, recvmmsg batches
 * (several datagrams in one call, a batch smaller than the backlog, truncation), ppoll's
 * sub-millisecond timeout without busy-spinning, -errno results, and the module inside a worker thread.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import koffi from 'koffi';
import * as libc from '../../../src/datapath/ffi/libc.js';
import * as errno from '../../../src/datapath/errno.js';
import { describeErrno } from '../../../src/datapath/ffi/errno.js';
import { MessageBatch } from '../../../src/datapath/ffi/message-batch.js';

/** A connected AF_UNIX datagram pair; the caller closes both. */
function datagramPair(): [number, number] {
  const fds = new Int32Array(2);
  assert.equal(libc.socketpair(libc.AF_UNIX, libc.SOCK_DGRAM | libc.SOCK_CLOEXEC, 0, fds), 0);
  return [fds[0], fds[1]];
}

function pollfdFor(fd: number): Buffer {
  const p = Buffer.alloc(libc.layout.pollfdBytes);
  p.writeInt32LE(fd, 0);
  p.writeInt16LE(libc.POLLIN, 4);
  return p;
}

describe('libc wrappers', () => {
  it('struct layouts match x86_64/arm64 Linux', () => {
    assert.equal(libc.layout.sockaddrNlBytes, 12);
    assert.equal(libc.layout.nlPidOffset, 4);
    assert.equal(libc.layout.iovecBytes, 16);
    assert.equal(libc.layout.mmsghdrBytes, 64);
    assert.equal(libc.layout.msgIovOffset, 16);
    assert.equal(libc.layout.msgIovlenOffset, 24);
    assert.equal(libc.layout.msgFlagsOffset, 48);
    assert.equal(libc.layout.msgLenOffset, 56);
    assert.equal(libc.layout.timespecBytes, 16);
    assert.equal(libc.layout.pollfdBytes, 8);
    assert.equal(libc.layout.reventsOffset, 6);
  });

  it('send and recv carry a datagram through a socketpair, from and into Buffers without copies', () => {
    const [a, b] = datagramPair();
    try {
      const out = Buffer.from('sluice says hello');
      assert.equal(libc.send(a, out.subarray(7), 4, 0), 4);
      const into = Buffer.alloc(64);
      assert.equal(libc.recv(b, into.subarray(10), 54, libc.MSG_DONTWAIT), 4);
      assert.equal(into.toString('latin1', 10, 14), 'says');
      assert.equal(libc.recv(b, into, 64, libc.MSG_DONTWAIT), -errno.EAGAIN);
    } finally {
      libc.close(a);
      libc.close(b);
    }
  });

  it('recvmmsg drains every waiting datagram in one call, each into its own buffer', () => {
    const [a, b] = datagramPair();
    try {
      const batch = new MessageBatch(8, 256);
      const sizes = [1, 17, 200, 64, 3];
      for (let i = 0; i < sizes.length; i++) assert.equal(libc.send(a, Buffer.alloc(sizes[i], 0x41 + i), sizes[i], 0), sizes[i]);
      assert.equal(batch.receive(b), sizes.length);
      for (let i = 0; i < sizes.length; i++) {
        assert.equal(batch.lengths[i], sizes[i]);
        assert.equal(batch.truncated[i], 0);
        assert.equal(batch.buffers[i][0], 0x41 + i);
        assert.equal(batch.buffers[i][sizes[i] - 1], 0x41 + i);
      }
      assert.equal(batch.receive(b), 0, 'an empty socket gives 0, not an error');
    } finally {
      libc.close(a);
      libc.close(b);
    }
  });

  it('a batch smaller than the backlog takes count at a time; a long datagram is cut and flagged', () => {
    const [a, b] = datagramPair();
    try {
      const small = new MessageBatch(2, 64);
      for (let i = 0; i < 5; i++) libc.send(a, Buffer.alloc(10 + i * 30, i), 10 + i * 30, 0);
      assert.equal(small.receive(b), 2);
      assert.deepEqual([...small.lengths], [10, 40]);
      assert.equal(small.receive(b), 2);
      assert.deepEqual([...small.lengths], [64, 64]);
      assert.deepEqual([...small.truncated], [1, 1]);
      assert.equal(small.buffers[1][63], 3);
      assert.equal(small.receive(b), 1);
      assert.equal(small.truncated[0], 1);
      assert.equal(small.receive(b), 0);
    } finally {
      libc.close(a);
      libc.close(b);
    }
  });

  it('ppoll returns at once when a descriptor is readable, and reports which', () => {
    const [a, b] = datagramPair();
    try {
      const p = pollfdFor(b);
      libc.send(a, Buffer.from('x'), 1, 0);
      const t0 = process.hrtime.bigint();
      assert.equal(libc.ppoll(p, 1, 1_000_000), 1);
      assert.ok(Number(process.hrtime.bigint() - t0) < 50_000_000);
      assert.equal(p.readInt16LE(libc.layout.reventsOffset) & libc.POLLIN, libc.POLLIN);
    } finally {
      libc.close(a);
      libc.close(b);
    }
  });

  it('ppoll sleeps a 500 µs timeout with sub-millisecond precision', () => {
    const [a, b] = datagramPair();
    try {
      const p = pollfdFor(b);
      const elapsedUs: number[] = [];
      for (let i = 0; i < 9; i++) {
        const t0 = process.hrtime.bigint();
        assert.equal(libc.ppoll(p, 1, 500), 0);
        elapsedUs.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      elapsedUs.sort((x, y) => x - y);
      assert.ok(elapsedUs[0] >= 450, `shortest 500 µs sleep took ${elapsedUs[0].toFixed(0)} µs`);
      assert.ok(elapsedUs[4] < 5000, `median 500 µs sleep took ${elapsedUs[4].toFixed(0)} µs`);
    } finally {
      libc.close(a);
      libc.close(b);
    }
  });

  it('ppoll does not busy-spin: a 100 ms wait costs under 20 ms of CPU', () => {
    const [a, b] = datagramPair();
    try {
      const p = pollfdFor(b);
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      assert.equal(libc.ppoll(p, 1, 100_000), 0);
      const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      assert.ok(wallUs >= 99_000, `woke after ${wallUs} µs`);
      assert.ok(cpu.user + cpu.system < 20_000, `used ${cpu.user + cpu.system} µs of CPU`);
    } finally {
      libc.close(a);
      libc.close(b);
    }
  });

  it('failures return -errno, read right after the call', () => {
    assert.equal(libc.close(-1), -errno.EBADF);
    assert.equal(libc.recv(-1, Buffer.alloc(8), 8, 0), -errno.EBADF);
    assert.equal(libc.send(999_999, Buffer.alloc(8), 8, 0), -errno.EBADF);
    assert.equal(libc.setsockoptInt(-1, libc.SOL_SOCKET, libc.SO_RCVBUF, 1), -errno.EBADF);
    assert.equal(libc.socket(libc.AF_NETLINK, libc.SOCK_RAW, 99), -errno.EPROTONOSUPPORT);
    assert.equal(new MessageBatch(1, 64).receive(-1), -errno.EBADF);
  });

  it('errno numbers match the platform, with names and messages', () => {
    const os = koffi.os.errno;
    for (const name of ['EPERM', 'EINTR', 'EBADF', 'EAGAIN', 'EACCES', 'EBUSY', 'EINVAL', 'ENOBUFS', 'EPROTONOSUPPORT', 'EMSGSIZE', 'ENOSPC']) {
      assert.equal((errno as unknown as Record<string, number>)[name], os[name], name);
      assert.equal(errno.errnoName(os[name]), name);
    }
    assert.equal(errno.errnoName(-errno.EBUSY), 'EBUSY');
    assert.equal(errno.errnoName(4000), 'errno 4000');
    assert.equal(describeErrno(-errno.EBUSY), 'Device or resource busy (EBUSY)');
  });

  it('an eventfd written by another thread wakes a ppoll', async () => {
    const efd = libc.eventfd(0, libc.EFD_CLOEXEC | libc.EFD_NONBLOCK);
    assert.ok(efd >= 0);
    try {
      const w = new Worker(
        `const fs = require('node:fs'); const b = Buffer.alloc(8); b.writeBigUInt64LE(1n);
         setTimeout(() => fs.writeSync(${efd}, b), 30);`,
        { eval: true },
      );
      const t0 = process.hrtime.bigint();
      assert.equal(libc.ppoll(pollfdFor(efd), 1, 10_000_000), 1);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      assert.ok(ms < 5000, `woke after ${ms} ms`);
      const count = Buffer.alloc(8);
      assert.equal(libc.read(efd, count, 8), 8);
      assert.equal(count.readBigUInt64LE(0), 1n);
      assert.equal(libc.read(efd, count, 8), -errno.EAGAIN);
      await w.terminate();
    } finally {
      libc.close(efd);
    }
  });

  it('loads and sleeps inside a worker thread (where the datapath runs)', async () => {
    // On Node 20 a worker inherits neither `--import tsx` nor its hooks: the worker registers tsx itself.
    const entry = JSON.stringify(new URL('./sleep-worker.ts', import.meta.url).href);
    const w = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); })`, { eval: true });
    const msg = await new Promise<{ r: number; us: number; pid: number }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    assert.equal(msg.r, 0);
    assert.ok(msg.us >= 1800, `slept ${msg.us} µs`);
    assert.equal(msg.pid, process.pid);
  });
});
