/**
 * A preallocated recvmmsg(2) batch: `count` receive buffers, each `bufferBytes` long, and the mmsghdr
 * and iovec tables that point at them, built once. Receiving then costs one system call for up to
 * `count` datagrams and allocates nothing: the kernel writes each datagram into its buffer and its
 * length into the table, which receive() copies into `lengths` (a typed array the caller reads).
 *
 * Memory: the buffers are views into one ArrayBuffer (one allocation, adjacent in memory). V8 never
 * moves an ArrayBuffer's backing store, so the addresses written into the iovec table stay valid for
 * as long as this object (which holds the buffers) lives.
 */
import { addressOf, layout, MSG_DONTWAIT, MSG_TRUNC, recvmmsg } from './libc.js';
import { EAGAIN } from '../errno.js';

export class MessageBatch {
  /** Receive buffers; after receive() returns n, buffers[i] holds lengths[i] bytes for i < n. */
  readonly buffers: Buffer[];
  /** Bytes received into each buffer by the last receive(). */
  readonly lengths: Uint32Array;
  /** 1 where the datagram was longer than its buffer and its tail was lost (MSG_TRUNC). */
  readonly truncated: Uint8Array;
  readonly count: number;
  readonly bufferBytes: number;
  /** The mmsghdr table handed to recvmmsg. */
  private readonly table: Buffer;
  /** The iovec table the msghdrs point into, one iovec per buffer. */
  private readonly iovecs: Buffer;

  /** `area`, when given, holds the buffers (at least count x bufferBytes): a caller's ArrayBuffer shared with its other buffers. */
  constructor(count: number, bufferBytes: number, area?: Buffer) {
    if (!Number.isInteger(count) || count < 1 || count > 1024) throw new RangeError(`batch count ${count} is not in 1..1024`);
    if (!Number.isInteger(bufferBytes) || bufferBytes < 64) throw new RangeError(`batch buffer size ${bufferBytes} is below 64 bytes`);
    this.count = count;
    this.bufferBytes = bufferBytes;
    this.lengths = new Uint32Array(count);
    this.truncated = new Uint8Array(count);
    if (area !== undefined && area.length < count * bufferBytes) throw new RangeError(`receive area of ${area.length} bytes is below ${count} x ${bufferBytes}`);
    const bytes = area ?? Buffer.allocUnsafeSlow(count * bufferBytes);
    this.buffers = [];
    this.table = Buffer.alloc(count * layout.mmsghdrBytes);
    this.iovecs = Buffer.alloc(count * layout.iovecBytes);
    const iovecsAddress = addressOf(this.iovecs);
    for (let i = 0; i < count; i++) {
      const buf = bytes.subarray(i * bufferBytes, (i + 1) * bufferBytes);
      this.buffers.push(buf);
      const iov = i * layout.iovecBytes;
      this.iovecs.writeBigUInt64LE(addressOf(buf), iov);
      this.iovecs.writeBigUInt64LE(BigInt(bufferBytes), iov + layout.iovLenOffset);
      // msg_name, msg_namelen, msg_control and msg_controllen stay 0: no address, no ancillary data.
      const hdr = i * layout.mmsghdrBytes;
      this.table.writeBigUInt64LE(iovecsAddress + BigInt(iov), hdr + layout.msgIovOffset);
      this.table.writeBigUInt64LE(1n, hdr + layout.msgIovlenOffset);
    }
  }

  /**
   * One recvmmsg(MSG_DONTWAIT) on `fd`: every datagram waiting, up to `count`. Returns how many
   * buffers were filled (0 when nothing waits), or -errno (-ENOBUFS after an overrun when
   * NETLINK_NO_ENOBUFS is off, -EINTR, -EBADF). When it returns `count`, more may be waiting: call again.
   * Cost: one system call (~1-2 µs) plus the kernel's copy of each datagram, and 2 reads per datagram here.
   */
  receive(fd: number): number {
    const n = recvmmsg(fd, this.table, this.count, MSG_DONTWAIT);
    if (n < 0) return n === -EAGAIN ? 0 : n;
    const table = this.table;
    for (let i = 0; i < n; i++) {
      const hdr = i * layout.mmsghdrBytes;
      this.lengths[i] = table.readUInt32LE(hdr + layout.msgLenOffset);
      this.truncated[i] = (table.readInt32LE(hdr + layout.msgFlagsOffset) & MSG_TRUNC) !== 0 ? 1 : 0;
    }
    return n;
  }
}
