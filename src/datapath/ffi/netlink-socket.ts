/**
 * A netlink socket (NETLINK_NETFILTER by default) over the libc wrappers: open and bind it, size its
 * receive buffer, send a buffer of one or more netlink messages in one call, drain every waiting
 * datagram with one recvmmsg, and sleep until it is readable or a timeout with microsecond precision.
 * Message encoding and decoding live elsewhere (src/datapath/nfqueue/); this file only moves bytes.
 *
 * Design of the receive side: the kernel queues one datagram per nfqueue packet message (and one per
 * ACK). receiveBatch() takes all of them, up to the batch's count, in a single recvmmsg(MSG_DONTWAIT)
 * into preallocated buffers (MessageBatch), so a burst of k messages costs ceil(k / count) system
 * calls instead of k, and an empty socket costs one call that returns 0. The loop that owns the socket
 * calls wait() (ppoll) only when receiveBatch() came back empty or the next departure is due.
 *
 * Errors on open, bind and options become NetlinkSocketError (one clear line); send, receiveBatch and
 * wait return -errno / false instead, so the packet path never throws.
 */
import * as libc from './libc.js';
import { EACCES, EAFNOSUPPORT, EPERM, EPROTONOSUPPORT, errnoName } from '../errno.js';
import { describeErrno } from './errno.js';
import { MessageBatch } from './message-batch.js';

/** The one error type of this folder: what failed, and the errno name as `code` ('EPERM'). */
export class NetlinkSocketError extends Error {
  readonly code: string;
  readonly errno: number;
  constructor(message: string, errno: number) {
    super(message);
    this.name = 'NetlinkSocketError';
    this.errno = Math.abs(errno);
    this.code = errnoName(errno);
  }
}

export interface NetlinkSocketOptions {
  /** Netlink protocol (family); NETLINK_NETFILTER (12) by default. */
  protocol?: number;
  /** Datagrams one receiveBatch() can take (recvmmsg's vlen); 64 by default. */
  batchCount?: number;
  /**
   * Bytes per receive buffer; a larger datagram is cut (and flagged in `truncated`). The default,
   * 65536 + 4096, holds an nfqueue message carrying a full 64 KiB packet and its attributes.
   */
  bufferBytes?: number;
  /** Where the receive buffers live (batchCount x bufferBytes bytes), e.g. in one ArrayBuffer with the caller's; allocated if absent. */
  receiveArea?: Buffer;
  /** Socket receive buffer to ask for (SO_RCVBUFFORCE, else SO_RCVBUF); the kernel's default if absent. */
  receiveBufferBytes?: number;
  /** Set NETLINK_NO_ENOBUFS (an overrun drops messages silently instead of failing the next recv); true by default. */
  noEnobufs?: boolean;
  /**
   * A descriptor whose readability also ends wait(): how another thread wakes this one. An eventfd
   * made with EFD_NONBLOCK (wait() drains it with one 8-byte read). Owned by the caller.
   */
  wakeFd?: number;
}

const DEFAULT_BATCH_COUNT = 64;
export const DEFAULT_BUFFER_BYTES = 65536 + 4096;

/** Why the socket could not be opened, in words that say what to do. */
function openFailure(protocol: number, errno: number): string {
  const what = protocol === libc.NETLINK_NETFILTER ? 'a netfilter netlink socket' : `a netlink socket (protocol ${protocol})`;
  if (errno === EPERM || errno === EACCES) return `cannot open ${what}: not permitted — run as root (or with CAP_NET_ADMIN)`;
  if (errno === EPROTONOSUPPORT || errno === EAFNOSUPPORT) {
    return `cannot open ${what}: this kernel does not support it (${errnoName(errno)}; netfilter netlink needs CONFIG_NETFILTER_NETLINK)`;
  }
  return `cannot open ${what}: ${describeErrno(errno)}`;
}

export class NetlinkSocket {
  readonly fd: number;
  readonly protocol: number;
  /** The port id the kernel assigned at bind (nlmsg_pid of messages the kernel sends to us). */
  readonly portId: number;
  /** The batch receiveBatch() fills: buffers, lengths, truncated. */
  readonly batch: MessageBatch;
  /** True when the last wait() ended because the wake descriptor became readable (it is then drained). */
  woken = false;
  private readonly pollfds: Buffer;
  private readonly nfds: number;
  private readonly wakeFd: number;
  private readonly wakeScratch = Buffer.alloc(8);
  private closed = false;

  private constructor(fd: number, protocol: number, portId: number, batch: MessageBatch, wakeFd: number) {
    this.fd = fd;
    this.protocol = protocol;
    this.portId = portId;
    this.batch = batch;
    this.wakeFd = wakeFd;
    this.nfds = wakeFd >= 0 ? 2 : 1;
    this.pollfds = Buffer.alloc(2 * libc.layout.pollfdBytes);
    this.pollfds.writeInt32LE(fd, 0);
    this.pollfds.writeInt16LE(libc.POLLIN, 4);
    this.pollfds.writeInt32LE(wakeFd, libc.layout.pollfdBytes);
    this.pollfds.writeInt16LE(libc.POLLIN, libc.layout.pollfdBytes + 4);
  }

  /**
   * socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol), bind with nl_pid 0 (the kernel assigns a
   * port id), then the options. Throws NetlinkSocketError with one line saying what to do.
   */
  static open(options: NetlinkSocketOptions = {}): NetlinkSocket {
    const protocol = options.protocol ?? libc.NETLINK_NETFILTER;
    const batch = new MessageBatch(options.batchCount ?? DEFAULT_BATCH_COUNT, options.bufferBytes ?? DEFAULT_BUFFER_BYTES, options.receiveArea);
    const fd = libc.socket(libc.AF_NETLINK, libc.SOCK_RAW | libc.SOCK_CLOEXEC, protocol);
    if (fd < 0) throw new NetlinkSocketError(openFailure(protocol, -fd), fd);
    let sock: NetlinkSocket | undefined;
    try {
      const addr = Buffer.alloc(libc.layout.sockaddrNlBytes);
      addr.writeUInt16LE(libc.AF_NETLINK, 0);
      const b = libc.bind(fd, addr);
      if (b < 0) throw new NetlinkSocketError(`cannot bind the netlink socket: ${describeErrno(b)}`, b);
      const n = libc.getsockname(fd, addr);
      if (n < 0) throw new NetlinkSocketError(`cannot read the netlink socket's port id: ${describeErrno(n)}`, n);
      sock = new NetlinkSocket(fd, protocol, addr.readUInt32LE(libc.layout.nlPidOffset), batch, options.wakeFd ?? -1);
      if (options.noEnobufs ?? true) sock.setNoEnobufs(true);
      if (options.receiveBufferBytes !== undefined) sock.setReceiveBufferBytes(options.receiveBufferBytes);
      return sock;
    } catch (err) {
      libc.close(fd);
      throw err;
    }
  }

  /**
   * Ask for a receive buffer of `bytes`: SO_RCVBUFFORCE (may exceed net.core.rmem_max; needs
   * CAP_NET_ADMIN), falling back to SO_RCVBUF (capped at rmem_max). Returns what the kernel granted,
   * as getsockopt reports it (the kernel doubles the request for its bookkeeping).
   */
  setReceiveBufferBytes(bytes: number): number {
    if (libc.setsockoptInt(this.fd, libc.SOL_SOCKET, libc.SO_RCVBUFFORCE, bytes) < 0) {
      const r = libc.setsockoptInt(this.fd, libc.SOL_SOCKET, libc.SO_RCVBUF, bytes);
      if (r < 0) throw new NetlinkSocketError(`cannot set the netlink receive buffer to ${bytes} bytes: ${describeErrno(r)}`, r);
    }
    const granted = libc.getsockoptInt(this.fd, libc.SOL_SOCKET, libc.SO_RCVBUF);
    if (granted < 0) throw new NetlinkSocketError(`cannot read the netlink receive buffer size: ${describeErrno(granted)}`, granted);
    return granted;
  }

  /** NETLINK_NO_ENOBUFS on or off. On: a full receive buffer drops messages instead of reporting ENOBUFS. */
  setNoEnobufs(on: boolean): void {
    this.setNetlinkOption(libc.NETLINK_NO_ENOBUFS, on ? 1 : 0, 'NETLINK_NO_ENOBUFS');
  }

  /** A SOL_NETLINK int option (NETLINK_CAP_ACK, NETLINK_EXT_ACK, ...); throws with `name` in the message. */
  setNetlinkOption(option: number, value: number, name: string): void {
    const r = libc.setsockoptInt(this.fd, libc.SOL_NETLINK, option, value);
    if (r < 0) throw new NetlinkSocketError(`cannot set ${name} on the netlink socket: ${describeErrno(r)}`, r);
  }

  /**
   * Send buf[0, length) to the kernel as one datagram (one or more netlink messages back to back).
   * The kernel processes the messages inside this call; ACKs and errors arrive as datagrams to receive.
   * Returns the bytes sent, or -errno. Cost: one system call plus the kernel's handling of each message.
   */
  send(buf: Buffer, length: number): number {
    return libc.send(this.fd, buf, length, 0);
  }

  /**
   * Drain the waiting datagrams into `batch` with one recvmmsg: how many (0 when none waits, or
   * `batch.count` when more may wait), or -errno. See the header for the design.
   */
  receiveBatch(): number {
    return this.batch.receive(this.fd);
  }

  /**
   * Sleep until the socket is readable, the wake descriptor is readable, or `timeoutUs` µs pass
   * (negative: no limit; 0: just look). True when the socket is readable (or has an error to report
   * on the next receive). Blocks the calling thread (ppoll): meant for the datapath worker. A signal
   * (EINTR) returns false, like a timeout; the caller's loop recomputes its deadline either way.
   */
  wait(timeoutUs: number): boolean {
    const pollfds = this.pollfds;
    const pfdBytes = libc.layout.pollfdBytes;
    const rev = libc.layout.reventsOffset;
    pollfds.writeInt16LE(0, rev);
    pollfds.writeInt16LE(0, pfdBytes + rev);
    const r = libc.ppoll(pollfds, this.nfds, timeoutUs);
    this.woken = false;
    if (r <= 0) return false;
    if (this.nfds === 2 && pollfds.readInt16LE(pfdBytes + rev) !== 0) {
      this.woken = true;
      libc.read(this.wakeFd, this.wakeScratch, 8);
    }
    return pollfds.readInt16LE(rev) !== 0;
  }

  /** Close the descriptor (idempotent). The kernel unbinds any queue this socket had bound. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc.close(this.fd);
  }
}
