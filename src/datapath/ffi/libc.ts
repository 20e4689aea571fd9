/**
 * The one FFI module over libc (koffi): the few system calls the kernel datapath needs, as typed
 * wrappers that return the call's result, or -errno on failure. Nothing here throws or allocates per
 * call, so the wrappers can sit on the packet path; errors become messages only at the edges
 * (see errno.ts and netlink-socket.ts).
 *
 * Conventions:
 * - libc.so.6 is loaded once, when this module is first imported (in each worker thread that imports it).
 * - Every pointer parameter is declared `void *`, so a Node Buffer (or a subarray of one) is passed as
 *   the address of its bytes: no copy, no marshalling. Structs are encoded by the caller into Buffers
 *   at offsets taken from the koffi.struct layouts below (computed once, at load).
 * - errno is read with koffi.errno() right after a call that failed (result < 0), never otherwise.
 *
 * Costs measured on the 2-core build machine (bench/datapath/ffi.bench.ts, one run; absolute figures
 * move 2x between runs): the koffi crossing alone (abs) ~65 ns; getpid ~260 ns (so a system call's
 * own entry and exit costs ~200 ns here); a failed call plus its errno read ~330-410 ns; ppoll with
 * timeout 0 ~1 µs; a 64-byte AF_UNIX datagram send ~2.7 µs with its share of a 64-datagram recvmmsg,
 * against ~3.5-3.8 µs with a recv of its own — the receive batching saves ~0.8-1 µs per message.
 */
import koffi from 'koffi';

if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) {
  throw new Error(`sluice's kernel datapath needs 64-bit Linux; this is ${process.platform}/${process.arch}`);
}

const lib = koffi.load('libc.so.6');

// ---- Struct layouts (LP64 Linux; koffi computes offsets with the C ABI's alignment rules) ----

/** struct sockaddr_nl: the netlink address (family, pad, port id, multicast groups). */
export const SockaddrNl = koffi.struct('sluice_sockaddr_nl', {
  nl_family: 'uint16_t',
  nl_pad: 'uint16_t',
  nl_pid: 'uint32_t',
  nl_groups: 'uint32_t',
});
/** struct iovec: one contiguous buffer of a scatter/gather list. */
export const Iovec = koffi.struct('sluice_iovec', { iov_base: 'void *', iov_len: 'size_t' });
/** struct msghdr: one datagram's address, iovec list, control data and flags. */
export const Msghdr = koffi.struct('sluice_msghdr', {
  msg_name: 'void *',
  msg_namelen: 'uint32_t',
  msg_iov: 'void *',
  msg_iovlen: 'size_t',
  msg_control: 'void *',
  msg_controllen: 'size_t',
  msg_flags: 'int',
});
/** struct mmsghdr: a msghdr and the length the kernel received into it (recvmmsg). */
export const Mmsghdr = koffi.struct('sluice_mmsghdr', { msg_hdr: Msghdr, msg_len: 'uint32_t' });
/** struct timespec: seconds and nanoseconds (ppoll's timeout). */
export const Timespec = koffi.struct('sluice_timespec', { tv_sec: 'int64_t', tv_nsec: 'int64_t' });
/** struct pollfd: a descriptor, the events asked for and the events that happened. */
export const Pollfd = koffi.struct('sluice_pollfd', { fd: 'int', events: 'int16_t', revents: 'int16_t' });

/** Byte sizes and offsets the callers encode with (all from the layouts above). */
export const layout = {
  sockaddrNlBytes: koffi.sizeof(SockaddrNl),
  nlPidOffset: koffi.offsetof(SockaddrNl, 'nl_pid'),
  nlGroupsOffset: koffi.offsetof(SockaddrNl, 'nl_groups'),
  iovecBytes: koffi.sizeof(Iovec),
  iovLenOffset: koffi.offsetof(Iovec, 'iov_len'),
  mmsghdrBytes: koffi.sizeof(Mmsghdr),
  msgIovOffset: koffi.offsetof(Msghdr, 'msg_iov'),
  msgIovlenOffset: koffi.offsetof(Msghdr, 'msg_iovlen'),
  msgFlagsOffset: koffi.offsetof(Msghdr, 'msg_flags'),
  msgLenOffset: koffi.offsetof(Mmsghdr, 'msg_len'),
  timespecBytes: koffi.sizeof(Timespec),
  pollfdBytes: koffi.sizeof(Pollfd),
  reventsOffset: koffi.offsetof(Pollfd, 'revents'),
} as const;

// ---- Constants (Linux, all architectures sluice runs on) ----

export const AF_UNIX = 1;
export const AF_NETLINK = 16;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const NETLINK_NETFILTER = 12;
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_SNDBUF = 7;
export const SO_RCVBUFFORCE = 33;
export const SOL_NETLINK = 270;
export const NETLINK_NO_ENOBUFS = 5;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;
export const POLLIN = 0x1;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;

// ---- Raw bindings (every pointer is void *: Buffers pass as their address) ----

const c = {
  socket: lib.func('int socket(int domain, int type, int protocol)'),
  socketpair: lib.func('int socketpair(int domain, int type, int protocol, void *sv)'),
  bind: lib.func('int bind(int fd, void *addr, uint32_t addrlen)'),
  connect: lib.func('int connect(int fd, void *addr, uint32_t addrlen)'),
  getsockname: lib.func('int getsockname(int fd, void *addr, void *addrlen)'),
  setsockopt: lib.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)'),
  getsockopt: lib.func('int getsockopt(int fd, int level, int name, void *value, void *len)'),
  send: lib.func('intptr_t send(int fd, void *buf, size_t len, int flags)'),
  recv: lib.func('intptr_t recv(int fd, void *buf, size_t len, int flags)'),
  recvmmsg: lib.func('int recvmmsg(int fd, void *msgvec, unsigned int vlen, int flags, void *timeout)'),
  ppoll: lib.func('int ppoll(void *fds, unsigned long nfds, void *timeout, void *sigmask)'),
  read: lib.func('intptr_t read(int fd, void *buf, size_t len)'),
  write: lib.func('intptr_t write(int fd, void *buf, size_t len)'),
  eventfd: lib.func('int eventfd(unsigned int initval, int flags)'),
  close: lib.func('int close(int fd)'),
  getpid: lib.func('int getpid(void)'),
  gettid: lib.func('int gettid(void)'),
  setpriority: lib.func('int setpriority(int which, unsigned int who, int prio)'),
  strerror: lib.func('const char *strerror(int errnum)'),
};

/** Scratch for the int-sized socket options and for ppoll's timeout; this module is per thread. */
const intScratch = Buffer.alloc(8);
const lenScratch = Buffer.alloc(4);
const timespecScratch = Buffer.alloc(layout.timespecBytes);
/** ppoll timeouts from here on (2^32 s, or not finite) mean "no limit", so tv_sec fits in 32 bits. */
const MAX_TIMEOUT_US = 4_294_967_296 * 1_000_000;

// ---- Wrappers: result, or -errno. Cost: one koffi crossing (~65 ns) plus the system call. ----

/** socket(2): a descriptor, or -errno. */
export function socket(domain: number, type: number, protocol: number): number {
  const r = c.socket(domain, type, protocol);
  return r < 0 ? -koffi.errno() : r;
}

/** socketpair(2) into fds[0] and fds[1]: 0, or -errno. For tests and wake-ups. */
export function socketpair(domain: number, type: number, protocol: number, fds: Int32Array): number {
  const r = c.socketpair(domain, type, protocol, fds);
  return r < 0 ? -koffi.errno() : r;
}

/** bind(2) to the address encoded in `addr` (its full length): 0, or -errno. */
export function bind(fd: number, addr: Buffer): number {
  const r = c.bind(fd, addr, addr.length);
  return r < 0 ? -koffi.errno() : r;
}

/** connect(2) to the address in `addr` (all of it): 0, or -errno. */
export function connect(fd: number, addr: Buffer): number {
  const r = c.connect(fd, addr, addr.length);
  return r < 0 ? -koffi.errno() : r;
}

/** getsockname(2) into `addr` (its full length is offered): the address length, or -errno. */
export function getsockname(fd: number, addr: Buffer): number {
  lenScratch.writeUInt32LE(addr.length, 0);
  const r = c.getsockname(fd, addr, lenScratch);
  return r < 0 ? -koffi.errno() : lenScratch.readUInt32LE(0);
}

/** setsockopt(2) with an int value: 0, or -errno. */
export function setsockoptInt(fd: number, level: number, name: number, value: number): number {
  intScratch.writeInt32LE(value, 0);
  const r = c.setsockopt(fd, level, name, intScratch, 4);
  return r < 0 ? -koffi.errno() : r;
}

/** getsockopt(2) of an int option: its value (>= 0 for every option read here), or -errno. */
export function getsockoptInt(fd: number, level: number, name: number): number {
  lenScratch.writeUInt32LE(4, 0);
  const r = c.getsockopt(fd, level, name, intScratch, lenScratch);
  return r < 0 ? -koffi.errno() : intScratch.readInt32LE(0);
}

/** send(2) of buf[0, length): bytes sent, or -errno. One datagram; on netlink the kernel handles it in this call. */
export function send(fd: number, buf: Buffer, length: number, flags: number): number {
  const r = c.send(fd, buf, length, flags);
  return r < 0 ? -koffi.errno() : r;
}

/** recv(2) into buf[0, length): bytes received, or -errno (-EAGAIN when nothing waits with MSG_DONTWAIT). */
export function recv(fd: number, buf: Buffer, length: number, flags: number): number {
  const r = c.recv(fd, buf, length, flags);
  return r < 0 ? -koffi.errno() : r;
}

/**
 * recvmmsg(2) into the first `vlen` entries of an mmsghdr table (built by MessageBatch): how many
 * datagrams were received, or -errno. No timeout pointer: use MSG_DONTWAIT and ppoll.
 */
export function recvmmsg(fd: number, msgvec: Buffer, vlen: number, flags: number): number {
  const r = c.recvmmsg(fd, msgvec, vlen, flags, null);
  return r < 0 ? -koffi.errno() : r;
}

/**
 * ppoll(2) over `nfds` pollfd entries encoded in `fds`, for at most `timeoutUs` µs (negative: no
 * limit, as is anything from 2^32 s on; 0: just look). The count of entries with events, 0 on timeout, or -errno (-EINTR on a signal).
 * Sleeps in the kernel with nanosecond resolution (hrtimer), so sub-millisecond waits are exact to a
 * few tens of µs plus scheduling latency, and cost no CPU while asleep.
 */
export function ppoll(fds: Buffer, nfds: number, timeoutUs: number): number {
  let r: number;
  if (timeoutUs < 0 || timeoutUs >= MAX_TIMEOUT_US) {
    r = c.ppoll(fds, nfds, null, null);
  } else {
    // Two little-endian 64-bit fields written as 32-bit halves: no BigInt per call.
    const us = Math.floor(timeoutUs);
    const sec = Math.floor(us / 1_000_000);
    timespecScratch.writeUInt32LE(sec, 0);
    timespecScratch.writeUInt32LE(0, 4);
    timespecScratch.writeUInt32LE((us - sec * 1_000_000) * 1000, 8);
    timespecScratch.writeUInt32LE(0, 12);
    r = c.ppoll(fds, nfds, timespecScratch, null);
  }
  return r < 0 ? -koffi.errno() : r;
}

/** read(2) into buf[0, length): bytes read, or -errno. */
export function read(fd: number, buf: Buffer, length: number): number {
  const r = c.read(fd, buf, length);
  return r < 0 ? -koffi.errno() : r;
}

/** write(2) of buf[0, length): bytes written, or -errno. */
export function write(fd: number, buf: Buffer, length: number): number {
  const r = c.write(fd, buf, length);
  return r < 0 ? -koffi.errno() : r;
}

/**
 * eventfd(2): a descriptor another thread can write an 8-byte count to, to wake a ppoll on it (the way
 * the main thread wakes a datapath worker asleep in the kernel), or -errno.
 */
export function eventfd(initval: number, flags: number): number {
  const r = c.eventfd(initval, flags);
  return r < 0 ? -koffi.errno() : r;
}

/** close(2): 0, or -errno. */
export function close(fd: number): number {
  const r = c.close(fd);
  return r < 0 ? -koffi.errno() : r;
}

/** getpid(2): the cheapest system call there is; the benchmark's measure of a bare FFI call. */
export function getpid(): number {
  return c.getpid();
}

const PRIO_PROCESS = 0;

/**
 * setpriority(2) of the calling thread alone (Linux applies PRIO_PROCESS with a thread id to that
 * thread): its nice value, -20 (most favoured) to 19. 0, or -errno (EACCES/EPERM without CAP_SYS_NICE).
 */
export function setThreadNice(nice: number): number {
  const r = c.setpriority(PRIO_PROCESS, c.gettid(), nice);
  return r < 0 ? -koffi.errno() : r;
}

/** libc's message for an errno (a positive number), e.g. "Device or resource busy". Not for the packet path. */
export function strerror(errno: number): string {
  return c.strerror(errno) as string;
}

/** The address of a Buffer's first byte, for pointers stored inside structs (iovec.iov_base). */
export function addressOf(buf: Buffer): bigint {
  return koffi.address(buf) as bigint;
}
