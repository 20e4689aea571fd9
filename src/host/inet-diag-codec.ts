/**
 * The inet_diag messages of NETLINK_SOCK_DIAG, encoded and decoded by hand (like the nfnetlink codec
 * in src/datapath/nfqueue/): the request struct inet_diag_req_v2 and the reply struct inet_diag_msg
 * with its attributes. Numbers from /usr/include/linux/sock_diag.h and linux/inet_diag.h.
 *
 * Layouts (host order unless __be):
 *   nlmsghdr (16): len, type = SOCK_DIAG_BY_FAMILY, flags, seq, pid = 0
 *   inet_diag_req_v2 (56): family u8, protocol u8, ext u8, pad u8, states u32, inet_diag_sockid
 *   inet_diag_sockid (48): sport __be16, dport __be16, src __be32[4], dst __be32[4], if u32, cookie u32[2]
 *   inet_diag_msg (72): family, state, timer, retrans (u8 each), inet_diag_sockid, expires, rqueue,
 *                       wqueue, uid, inode (u32 each); then attributes (nlattr), of which sluice reads
 *                       INET_DIAG_CGROUP_ID (u64, sent unasked since Linux 5.7 when cgroups are on).
 *
 * In replies, src is the socket's local end and dst its remote end, for TCP and UDP alike. In an
 * exact request TCP reads them the same way, but UDP reads them swapped ("src and dst are swapped for
 * historical reasons", net/ipv4/udp_diag.c): encodeRequest takes local/remote and swaps for UDP.
 *
 * Nothing here allocates: requests are written into the caller's buffer, replies are read into the
 * caller's SocketRecord.
 */
import { endianness } from 'node:os';
import { AF_INET, AF_INET6, NLM_F_REQUEST, NLMSG_HDRLEN } from '../datapath/netlink/constants.js';
import { readU16BE, readU32Host, writeU16BE, writeU16Host, writeU32Host } from '../datapath/netlink/bytes.js';
import { NetlinkAttributeIterator } from '../datapath/netlink/messages.js';

/** Protocol number for socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG). */
export const NETLINK_SOCK_DIAG = 4;
export const SOCK_DIAG_BY_FAMILY = 20;
export const NLM_F_DUMP = 0x300;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
/** Both cookie words set: "any socket", the kernel skips its cookie check. */
export const INET_DIAG_NOCOOKIE = 0xffffffff;
export const INET_DIAG_CGROUP_ID = 21;
/** Every TCP state (bit per state); UDP uses TCP_ESTABLISHED (connected) and TCP_CLOSE (unconnected). */
export const ALL_STATES = 0xffffffff;

const REQ_V2_BYTES = 56;
export const REQUEST_BYTES = NLMSG_HDRLEN + REQ_V2_BYTES;
export const INET_DIAG_MSG_BYTES = 72;
const SOCKID_OFFSET = 8;
const TWO_POW_32 = 4294967296;
const HOST_LE = endianness() === 'LE';

/** One socket as inet_diag reports it. Addresses are 16-byte buffers; an IPv4 address fills the first 4 bytes. */
export class SocketRecord {
  /** 4 or 6. */
  family: 4 | 6 = 4;
  /** IPPROTO_TCP or IPPROTO_UDP. */
  protocol = 0;
  /** The kernel's TCP state number (1 established, 7 close, 10 listen, ...). */
  state = 0;
  readonly localAddress = Buffer.alloc(16);
  localPort = 0;
  readonly remoteAddress = Buffer.alloc(16);
  remotePort = 0;
  /** The socket's owner uid (the creator's fsuid), in the querying process's user namespace. */
  uid = 0;
  /** sockfs inode: the N of the socket:[N] link in /proc/PID/fd; 0 for sockets no file holds (TIME_WAIT). */
  inode = 0;
  /** cgroup v2 id (the cgroup directory's inode number); 0 when the kernel did not send it. */
  cgroupId = 0;

  copyFrom(other: SocketRecord): void {
    this.family = other.family;
    this.protocol = other.protocol;
    this.state = other.state;
    other.localAddress.copy(this.localAddress);
    this.localPort = other.localPort;
    other.remoteAddress.copy(this.remoteAddress);
    this.remotePort = other.remotePort;
    this.uid = other.uid;
    this.inode = other.inode;
    this.cgroupId = other.cgroupId;
  }
}

/** A connection as seen from this host: addresses of 4 (IPv4) or 16 (IPv6) bytes, protocol 6 (TCP) or 17 (UDP). */
export interface SocketTuple {
  family: 4 | 6;
  protocol: number;
  localAddress: Uint8Array;
  localPort: number;
  remoteAddress: Uint8Array;
  remotePort: number;
}

/** Writes a 4- or 16-byte address into the 16 bytes at buf[o], zero-padded. */
function writeAddress(buf: Buffer, o: number, address: Uint8Array): void {
  const n = address.length;
  for (let i = 0; i < 16; i++) buf[o + i] = i < n ? address[i] : 0;
}

/**
 * Writes one complete request at buf[0] and returns REQUEST_BYTES: the exact socket of connection `t`,
 * or with `t` null a dump of every socket of `family` and `protocol`.
 */
export function encodeRequest(buf: Buffer, seq: number, family: 4 | 6, protocol: number, t: SocketTuple | null): number {
  writeU32Host(buf, 0, REQUEST_BYTES);
  writeU16Host(buf, 4, SOCK_DIAG_BY_FAMILY);
  writeU16Host(buf, 6, t === null ? NLM_F_REQUEST | NLM_F_DUMP : NLM_F_REQUEST);
  writeU32Host(buf, 8, seq);
  writeU32Host(buf, 12, 0);
  const r = NLMSG_HDRLEN;
  buf[r] = family === 6 ? AF_INET6 : AF_INET;
  buf[r + 1] = protocol;
  buf[r + 2] = 0;
  buf[r + 3] = 0;
  writeU32Host(buf, r + 4, ALL_STATES);
  const id = r + SOCKID_OFFSET;
  if (t === null) {
    buf.fill(0, id, id + 36);
  } else {
    // UDP's exact lookup reads src as the remote end (see the header).
    const swap = protocol === IPPROTO_UDP;
    writeU16BE(buf, id, swap ? t.remotePort : t.localPort);
    writeU16BE(buf, id + 2, swap ? t.localPort : t.remotePort);
    writeAddress(buf, id + 4, swap ? t.remoteAddress : t.localAddress);
    writeAddress(buf, id + 20, swap ? t.localAddress : t.remoteAddress);
  }
  writeU32Host(buf, id + 36, 0);
  writeU32Host(buf, id + 40, INET_DIAG_NOCOOKIE);
  writeU32Host(buf, id + 44, INET_DIAG_NOCOOKIE);
  return REQUEST_BYTES;
}

const attrs = new NetlinkAttributeIterator();

/**
 * Reads the inet_diag_msg whose payload is buf[offset, offset + length) into `out`, with `protocol`
 * (the reply does not repeat it). False when the payload is too short to be one.
 */
export function decodeSocket(buf: Buffer, offset: number, length: number, protocol: number, out: SocketRecord): boolean {
  if (length < INET_DIAG_MSG_BYTES) return false;
  const o = offset;
  out.family = buf[o] === AF_INET6 ? 6 : 4;
  out.protocol = protocol;
  out.state = buf[o + 1];
  const id = o + 4;
  out.localPort = readU16BE(buf, id);
  out.remotePort = readU16BE(buf, id + 2);
  const local = out.localAddress;
  const remote = out.remoteAddress;
  for (let i = 0; i < 16; i++) {
    local[i] = buf[id + 4 + i];
    remote[i] = buf[id + 20 + i];
  }
  out.uid = readU32Host(buf, o + 64);
  out.inode = readU32Host(buf, o + 68);
  out.cgroupId = 0;
  attrs.reset(buf, o + INET_DIAG_MSG_BYTES, length - INET_DIAG_MSG_BYTES);
  while (attrs.next()) {
    if (attrs.type === INET_DIAG_CGROUP_ID && attrs.payloadLength >= 8) {
      const p = attrs.payloadOffset;
      const lo = readU32Host(buf, HOST_LE ? p : p + 4);
      const hi = readU32Host(buf, HOST_LE ? p + 4 : p);
      // Exact below 2^53: cgroup ids are inode numbers.
      out.cgroupId = hi * TWO_POW_32 + lo;
    }
  }
  return true;
}
