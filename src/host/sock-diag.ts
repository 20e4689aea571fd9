/**
 * Which socket a connection belongs to, asked of the kernel through NETLINK_SOCK_DIAG (inet_diag):
 * an exact lookup by 5-tuple, answering the socket's owner uid, sockfs inode and cgroup id, and a
 * dump of every socket of a family and protocol. The inode leads to the owning process through
 * socket-owners.ts.
 *
 * Exact lookup: one SOCK_DIAG_BY_FAMILY request without NLM_F_DUMP, both cookie words
 * INET_DIAG_NOCOOKIE; the kernel answers with one inet_diag_msg or an NLMSG_ERROR (ENOENT: no such
 * socket). TCP finds established sockets first, then the listener. UDP's lookup scores sockets the way
 * packet delivery does, so an unconnected socket is found by its local address and port, and an IPv4
 * query finds a dual-stack IPv6 socket too (tested). When it is still ENOENT (e.g. a socket bound to
 * a device with SO_BINDTODEVICE, which a request naming no interface does not match), lookup() falls
 * back to dumping the family's UDP sockets and choosing the one bound to the local port (exact local
 * address over wildcard, connected to this remote over not); for IPv4 the IPv6 sockets as well.
 *
 * Cost: an exact lookup is one send and one recvmmsg (about 10 µs here); the fallback dumps every
 * UDP socket of the family. Request and receive buffers are made once; lookup() writes into the
 * caller's SocketRecord and allocates nothing (dump() allocates the records it returns).
 *
 * Errors: a socket that is not there is `false`; a kernel that rejects or never answers the request
 * throws HostLookupError with one line.
 */
import { performance } from 'node:perf_hooks';
import { NetlinkSocket } from '../datapath/ffi/netlink-socket.js';
import { describeErrno } from '../datapath/ffi/errno.js';
import { EACCES, EBADMSG, EINVAL, ENOENT, EPERM, errnoName } from '../datapath/errno.js';
import { NLMSG_DONE, NLMSG_ERROR } from '../datapath/netlink/constants.js';
import { decodeError, NetlinkMessageIterator } from '../datapath/netlink/messages.js';
import { readI32Host } from '../datapath/netlink/bytes.js';
import {
  decodeSocket,
  encodeRequest,
  IPPROTO_TCP,
  IPPROTO_UDP,
  NETLINK_SOCK_DIAG,
  REQUEST_BYTES,
  SOCK_DIAG_BY_FAMILY,
  SocketRecord,
  type SocketTuple,
} from './inet-diag-codec.js';
import { HostLookupError } from './errors.js';

export interface SockDiagOptions {
  /** How long to wait for the kernel's reply before throwing, µs; 1 s by default (the kernel answers within the send). */
  replyTimeoutUs?: number;
}

/** What the receive loop does with each socket record. */
const enum Sink {
  Exact,
  Collect,
  UdpFallback,
}

const ETIMEDOUT = 110;
const RECEIVE_BUFFERS = 8;
/** Where encodeRequest writes sdiag_protocol: after the 16-byte nlmsghdr and sdiag_family. */
const REQUEST_PROTOCOL_OFFSET = 17;
/** The kernel sizes dump datagrams to the reader's buffer, up to 32 KiB. */
const RECEIVE_BUFFER_BYTES = 32768;

function protocolName(protocol: number): string {
  return protocol === IPPROTO_TCP ? 'tcp' : protocol === IPPROTO_UDP ? 'udp' : `protocol ${protocol}`;
}

function describeFailure(errno: number, what: string): string {
  switch (errno) {
    case ENOENT:
      return `sock_diag ${what}: this kernel has no inet_diag handler for it (CONFIG_INET_DIAG, CONFIG_INET_TCP_DIAG / CONFIG_INET_UDP_DIAG)`;
    case EINVAL:
      return `sock_diag ${what}: the kernel rejected the request as invalid (a sluice bug, please report it)`;
    case EPERM:
    case EACCES:
      return `sock_diag ${what}: not permitted (${errnoName(errno)})`;
    case EBADMSG:
      return `sock_diag ${what}: the kernel's reply could not be read (EBADMSG)`;
    default:
      return `sock_diag ${what} failed: ${describeErrno(errno)}`;
  }
}

/** True when the 4- or 16-byte `address` is all zeros (a wildcard bind). */
function isWildcard(address: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) if (address[i] !== 0) return false;
  return true;
}

/**
 * Whether the record's address `recAddr` (16 bytes, family recFamily) is the query's address `q`
 * (4 or 16 bytes); an IPv4 query matches an IPv6 record's ::ffff:a.b.c.d.
 */
function sameAddress(recAddr: Buffer, recFamily: 4 | 6, q: Uint8Array): boolean {
  if (q.length === 4 && recFamily === 6) {
    for (let i = 0; i < 10; i++) if (recAddr[i] !== 0) return false;
    if (recAddr[10] !== 0xff || recAddr[11] !== 0xff) return false;
    for (let i = 0; i < 4; i++) if (recAddr[12 + i] !== q[i]) return false;
    return true;
  }
  for (let i = 0; i < q.length; i++) if (recAddr[i] !== q[i]) return false;
  return true;
}

export class SockDiag {
  /** UDP lookups the exact request missed and a dump answered (or tried to): read by tests and status. */
  fallbackDumps = 0;
  private readonly sock: NetlinkSocket;
  private readonly requestBuf = Buffer.alloc(REQUEST_BYTES);
  private readonly messages = new NetlinkMessageIterator();
  private readonly record = new SocketRecord();
  private readonly replyTimeoutUs: number;
  private seq = 0;
  /** State of the current receive loop (fields, not arguments, so the loop allocates nothing). */
  private sink: Sink = Sink.Exact;
  private exactOut: SocketRecord | null = null;
  private collected: SocketRecord[] | null = null;
  private query: SocketTuple | null = null;
  private bestScore = 0;

  private constructor(sock: NetlinkSocket, replyTimeoutUs: number) {
    this.sock = sock;
    this.replyTimeoutUs = replyTimeoutUs;
  }

  /** Opens the NETLINK_SOCK_DIAG socket in the calling thread's network namespace. Throws NetlinkSocketError with one line. */
  static open(options: SockDiagOptions = {}): SockDiag {
    const sock = NetlinkSocket.open({ protocol: NETLINK_SOCK_DIAG, batchCount: RECEIVE_BUFFERS, bufferBytes: RECEIVE_BUFFER_BYTES });
    return new SockDiag(sock, options.replyTimeoutUs ?? 1_000_000);
  }

  /**
   * The socket of connection `t`, written into `out`: true when found, false when no socket matches
   * (the connection is forwarded, already closed, or not this host's). Throws HostLookupError when the
   * kernel rejects the request.
   */
  lookup(t: SocketTuple, out: SocketRecord): boolean {
    if (t.localAddress.length !== (t.family === 4 ? 4 : 16) || t.remoteAddress.length !== t.localAddress.length) {
      throw new RangeError(`sock_diag lookup: IPv${t.family} addresses must be ${t.family === 4 ? 4 : 16} bytes`);
    }
    this.sink = Sink.Exact;
    this.exactOut = out;
    encodeRequest(this.requestBuf, this.nextSeq(), t.family, t.protocol, t);
    const errno = this.exchange(false);
    if (errno === 0) return true;
    if (errno !== ENOENT) throw new HostLookupError(describeFailure(errno, `lookup of a ${protocolName(t.protocol)} socket`), errno);
    if (t.protocol !== IPPROTO_UDP) return false;
    return this.udpFallback(t, out);
  }

  /** Every socket of `family` and `protocol` (any state), as the kernel lists them. Allocates a record per socket. */
  dump(family: 4 | 6, protocol: number): SocketRecord[] {
    const list: SocketRecord[] = [];
    this.sink = Sink.Collect;
    this.collected = list;
    this.sendDump(family, protocol);
    this.collected = null;
    return list;
  }

  /** Closes the netlink socket (idempotent). */
  close(): void {
    this.sock.close();
  }

  private udpFallback(t: SocketTuple, out: SocketRecord): boolean {
    this.sink = Sink.UdpFallback;
    this.query = t;
    this.exactOut = out;
    this.bestScore = 0;
    this.fallbackDumps++;
    this.sendDump(t.family, IPPROTO_UDP);
    if (this.bestScore === 0 && t.family === 4) this.sendDump(6, IPPROTO_UDP);
    this.query = null;
    return this.bestScore > 0;
  }

  private sendDump(family: 4 | 6, protocol: number): void {
    encodeRequest(this.requestBuf, this.nextSeq(), family, protocol, null);
    const errno = this.exchange(true);
    if (errno !== 0) throw new HostLookupError(describeFailure(errno, `dump of IPv${family} ${protocolName(protocol)} sockets`), errno);
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  /**
   * Sends the request in requestBuf and reads replies with its sequence number until the answer is
   * complete: the one record (exact) or NLMSG_DONE (dump). Returns 0 or the kernel's errno.
   */
  private exchange(dump: boolean): number {
    const sock = this.sock;
    const sent = sock.send(this.requestBuf, REQUEST_BYTES);
    if (sent < 0) throw new HostLookupError(`sock_diag: cannot send the request: ${describeErrno(sent)}`, sent);
    const seq = this.seq;
    const it = this.messages;
    const batch = sock.batch;
    const deadlineMs = performance.now() + this.replyTimeoutUs / 1000;
    for (;;) {
      const n = sock.receiveBatch();
      if (n < 0) throw new HostLookupError(`sock_diag: cannot receive the reply: ${describeErrno(n)}`, n);
      if (n === 0) {
        const leftUs = (deadlineMs - performance.now()) * 1000;
        if (leftUs <= 0) throw new HostLookupError(`sock_diag: no reply from the kernel within ${this.replyTimeoutUs} µs`, ETIMEDOUT);
        sock.wait(leftUs);
        continue;
      }
      for (let i = 0; i < n; i++) {
        if (batch.truncated[i] !== 0) throw new HostLookupError('sock_diag: a reply was longer than the receive buffer (EMSGSIZE)', EBADMSG);
        const buf = batch.buffers[i];
        it.reset(buf, 0, batch.lengths[i]);
        while (it.next()) {
          if (it.seq !== seq) continue;
          if (it.type === NLMSG_ERROR) return decodeError(buf, it.offset);
          if (it.type === NLMSG_DONE) {
            if (!dump) continue;
            const status = it.payloadLength >= 4 ? readI32Host(buf, it.payloadOffset) : 0;
            return status < 0 ? -status : 0;
          }
          if (it.type !== SOCK_DIAG_BY_FAMILY) continue;
          const protocol = this.requestBuf[REQUEST_PROTOCOL_OFFSET];
          if (!decodeSocket(buf, it.payloadOffset, it.payloadLength, protocol, this.record)) return EBADMSG;
          this.take();
          if (!dump) return 0;
        }
      }
    }
  }

  /** Hands the record just decoded to the current sink. */
  private take(): void {
    const rec = this.record;
    if (this.sink === Sink.Exact) {
      (this.exactOut as SocketRecord).copyFrom(rec);
    } else if (this.sink === Sink.Collect) {
      const copy = new SocketRecord();
      copy.copyFrom(rec);
      (this.collected as SocketRecord[]).push(copy);
    } else {
      const q = this.query as SocketTuple;
      if (rec.localPort !== q.localPort) return;
      const localExact = sameAddress(rec.localAddress, rec.family, q.localAddress);
      if (!localExact && !isWildcard(rec.localAddress, 16)) return;
      const connected = rec.remotePort !== 0;
      if (connected && (rec.remotePort !== q.remotePort || !sameAddress(rec.remoteAddress, rec.family, q.remoteAddress))) return;
      const score = 1 + (localExact ? 1 : 0) + (connected ? 2 : 0);
      if (score <= this.bestScore) return;
      this.bestScore = score;
      (this.exactOut as SocketRecord).copyFrom(rec);
    }
  }
}

export { SocketRecord, IPPROTO_TCP, IPPROTO_UDP, type SocketTuple };
