/**
 * A private network namespace for the NFQUEUE datapath tests, and the two ends of the wire in it.
 *
 * enterPrivateNetns() moves this test process's main thread into a new network namespace
 * (unshare(CLONE_NEWNET) through koffi): every socket it opens afterwards, and every process it spawns
 * (ip, iptables), lives there. node:test runs each test file in a process of its own, and the namespace
 * with its queue and its iptables rule vanishes with that process, also when a test fails or crashes;
 * nothing reaches the machine's own network.
 *
 * The wire, inside the namespace:
 * - inject: the exact IP packets are written to `lo` through an AF_PACKET socket, so the kernel
 *   receives them as they are (raw IP sends would fill in a zero IPv4 identification); they enter
 *   PREROUTING (or INPUT), where the rule `-i lo -p udp --dport 5000 -j NFQUEUE --queue-num N --queue-bypass`
 *   queues them. 198.51.100.20 is an address of lo, so an accepted packet is delivered locally.
 * - released: a raw IPPROTO_UDP socket receives a copy of every UDP packet delivered locally, whole
 *   IP header included, as it was after the verdict (the IP checksum is checked before PREROUTING,
 *   not after, so a packet rewritten in place without fixing it still arrives).
 */
import { spawnSync } from 'node:child_process';
import koffi from 'koffi';
import * as libc from '../../src/datapath/ffi/libc.js';

const lib = koffi.load('libc.so.6');
const unshareFn = lib.func('int unshare(int flags)');
const sendtoFn = lib.func('intptr_t sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)');

const CLONE_NEWNET = 0x40000000;
const AF_INET = 2;
const AF_PACKET = 17;
const IPPROTO_UDP = 17;
const ETH_P_IP = 0x0800;
export const DST_ADDRESS = '198.51.100.20';
export const DST_PORT = 5000;

function run(argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (status ${r.status}): ${r.stderr}${r.error ?? ''}`);
}

let entered = false;

/**
 * Enters a fresh network namespace and sets up lo, the destination address and the NFQUEUE rule for
 * `queueNum`, in PREROUTING (the packets' hook is then one the link classifier leaves unshaped) or in
 * INPUT (the hook of ingress on a link whose interface is lo).
 */
export function enterPrivateNetns(queueNum: number, chain: 'PREROUTING' | 'INPUT' = 'PREROUTING'): void {
  if (entered) return;
  if (process.getuid?.() !== 0) {
    throw new Error('the NFQUEUE datapath tests need root (a network namespace, iptables, netfilter queues): run them as root, as CI does');
  }
  if (unshareFn(CLONE_NEWNET) !== 0) throw new Error(`unshare(CLONE_NEWNET) failed: errno ${koffi.errno()}`);
  entered = true;
  run(['ip', 'link', 'set', 'lo', 'up']);
  run(['ip', 'addr', 'add', `${DST_ADDRESS}/32`, 'dev', 'lo']);
  run(['sysctl', '-q', '-w', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.lo.rp_filter=0']);
  run([
    'iptables', '-t', 'mangle', '-A', chain, '-i', 'lo', '-p', 'udp', '--dport', String(DST_PORT),
    '-j', 'NFQUEUE', '--queue-num', String(queueNum), '--queue-bypass',
  ]);
}

/** The namespace's identity as the kernel names it (net:[inode]), for checking where we are. */
export function netnsOf(pid: number | 'self'): string {
  const r = spawnSync('readlink', [`/proc/${pid}/ns/net`], { encoding: 'utf8' });
  return r.stdout.trim();
}

/** Writes IP packets onto lo; they arrive as received packets. */
export class Injector {
  private readonly fd: number;
  private readonly addr = Buffer.alloc(20);
  sent = 0;

  constructor() {
    this.fd = libc.socket(AF_PACKET, libc.SOCK_DGRAM | libc.SOCK_CLOEXEC, 0);
    if (this.fd < 0) throw new Error(`AF_PACKET socket failed: errno ${-this.fd}`);
    // struct sockaddr_ll: family, protocol (big-endian), ifindex (lo is 1 in a new namespace), hatype, pkttype, halen 6, addr zeros.
    this.addr.writeUInt16LE(AF_PACKET, 0);
    this.addr.writeUInt16BE(ETH_P_IP, 2);
    this.addr.writeInt32LE(1, 4);
    this.addr[11] = 6;
  }

  inject(packets: Buffer[]): void {
    for (const p of packets) {
      const r = sendtoFn(this.fd, p, p.length, 0, this.addr, this.addr.length);
      if (r !== p.length) throw new Error(`sendto on lo failed: ${r < 0 ? `errno ${koffi.errno()}` : `${r} of ${p.length} bytes`}`);
      this.sent++;
    }
  }

  close(): void {
    libc.close(this.fd);
  }
}

/** Receives copies of the UDP packets delivered locally in the namespace. */
export class Capture {
  private readonly fd: number;
  private readonly pollfd = Buffer.alloc(libc.layout.pollfdBytes);
  private readonly scratch = Buffer.alloc(70_000);

  constructor() {
    this.fd = libc.socket(AF_INET, libc.SOCK_RAW | libc.SOCK_CLOEXEC, IPPROTO_UDP);
    if (this.fd < 0) throw new Error(`raw UDP socket failed: errno ${-this.fd}`);
    this.pollfd.writeInt32LE(this.fd, 0);
    this.pollfd.writeInt16LE(libc.POLLIN, 4);
  }

  /**
   * Packets delivered so far: waits up to firstWaitUs for one, then keeps taking them until none
   * comes for quietUs.
   */
  take(firstWaitUs = 150_000, quietUs = 20_000): Buffer[] {
    const out: Buffer[] = [];
    let waitUs = firstWaitUs;
    for (;;) {
      this.pollfd.writeInt16LE(0, libc.layout.reventsOffset);
      if (libc.ppoll(this.pollfd, 1, waitUs) <= 0) return out;
      for (;;) {
        const n = libc.recv(this.fd, this.scratch, this.scratch.length, libc.MSG_DONTWAIT);
        if (n < 0) break;
        out.push(Buffer.from(this.scratch.subarray(0, n)));
      }
      waitUs = quietUs;
    }
  }

  close(): void {
    libc.close(this.fd);
  }
}
