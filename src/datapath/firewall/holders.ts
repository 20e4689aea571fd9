/**
 * Who holds the queues sluice's rules feed: the NFQUEUE queue numbers an installed ruleset targets,
 * and, for each, the live process bound to it in this network namespace, if any. `sluice cleanup`
 * uses this to tell stale rules (left by a crash: nobody holds their queue) from the rules of a
 * sluice that is running (its queue is bound).
 *
 * A bound queue is kernel state that lives exactly as long as the process holding it: the kernel
 * unbinds a queue when its netlink socket closes, which a SIGKILL or a crash does too. So
 * /proc/net/netfilter/nfnetlink_queue (per network namespace, one line per bound queue: queue
 * number, peer netlink port id, ...; parsed by nfqueue/proc-stats.ts) lists only live holders,
 * with nothing to go stale — unlike a pid file, which a crash leaves behind and whose pid may be
 * reused.
 *
 * The holder is named by its process id when it can be found: the kernel gives a process's first
 * netlink socket the process id as port id, so that pid is tried first; otherwise (the process had
 * another netlink socket bound first) every process's descriptors are searched for the socket's
 * inode, which /proc/net/netlink gives for the port id.
 */
import { readFile, readdir, readlink } from 'node:fs/promises';
import { parseQueueStats, type QueueProcStats } from '../nfqueue/proc-stats.js';
import { FirewallError } from './errors.js';
import { splitRuleLine } from './ruleset.js';

/** A queue sluice's rules feed, held by a live process. pid and command are null when not found. */
export interface QueueHolder {
  queueNum: number;
  portid: number;
  pid: number | null;
  command: string | null;
}

/** The NETLINK_NETFILTER protocol number, the `Eth` column of /proc/net/netlink. */
const NETLINK_NETFILTER = 12;

/**
 * The queue numbers the NFQUEUE targets among `rules` (`iptables -S` lines) feed, ascending, each once:
 * `--queue-num N`, every queue of `--queue-balance A:B`, and queue 0 for a bare `-j NFQUEUE`.
 */
export function queuesOf(rules: readonly string[]): number[] {
  const queues = new Set<number>();
  for (const line of rules) {
    const args = splitRuleLine(line);
    const target = args.findIndex((a, i) => a === '-j' && args[i + 1] === 'NFQUEUE');
    if (target < 0) continue;
    const num = args.indexOf('--queue-num', target);
    const balance = args.indexOf('--queue-balance', target);
    if (balance >= 0) {
      const [first, last] = (args[balance + 1] ?? '').split(':').map(Number);
      for (let q = first; q <= last; q++) queues.add(q);
    } else {
      queues.add(num >= 0 ? Number(args[num + 1]) : 0);
    }
  }
  return [...queues].filter((q) => Number.isInteger(q)).sort((a, b) => a - b);
}

/** The socket inode of the NETLINK_NETFILTER socket with port id `portid`, from /proc/net/netlink; null if none. */
export function netfilterSocketInode(netlinkTable: string, portid: number): number | null {
  for (const line of netlinkTable.split('\n')) {
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    const f = line.trim().split(/\s+/);
    if (f.length >= 10 && Number(f[1]) === NETLINK_NETFILTER && Number(f[2]) === portid) return Number(f[9]);
  }
  return null;
}

/** The bound queues in the nfnetlink_queue table's text; a line not in the kernel's format is a FirewallError. */
function boundQueues(text: string): QueueProcStats[] {
  try {
    return parseQueueStats(text);
  } catch (err) {
    throw new FirewallError('failed', (err as Error).message);
  }
}

const readOr = (path: string, fallback: string): Promise<string> => readFile(path, 'utf8').catch(() => fallback);

/** Whether process `pid` has the socket `inode` open. */
async function holdsSocket(procRoot: string, pid: number, inode: number): Promise<boolean> {
  const fds = await readdir(`${procRoot}/${pid}/fd`).catch(() => [] as string[]);
  const want = `socket:[${inode}]`;
  for (const fd of fds) {
    if ((await readlink(`${procRoot}/${pid}/fd/${fd}`).catch(() => '')) === want) return true;
  }
  return false;
}

/** The process that has netlink socket `inode` open: pid `portid` first, then every process (a bounded scan of /proc). */
async function socketOwner(procRoot: string, portid: number, inode: number): Promise<number | null> {
  if (await holdsSocket(procRoot, portid, inode)) return portid;
  const pids = (await readdir(procRoot).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).map(Number);
  for (const pid of pids) {
    if (pid !== portid && (await holdsSocket(procRoot, pid, inode))) return pid;
  }
  return null;
}

/**
 * The live holders of `queues` in this process's network namespace. A kernel without nfnetlink_queue
 * loaded has no such file, and then nobody holds any queue. `procRoot` is for tests.
 */
export async function findQueueHolders(queues: readonly number[], procRoot = '/proc'): Promise<QueueHolder[]> {
  if (queues.length === 0) return [];
  const held = boundQueues(await readOr(`${procRoot}/net/netfilter/nfnetlink_queue`, '')).filter((b) => queues.includes(b.queueNum));
  if (held.length === 0) return [];
  const netlink = await readOr(`${procRoot}/net/netlink`, '');
  const holders: QueueHolder[] = [];
  for (const b of held) {
    const inode = netfilterSocketInode(netlink, b.peerPortId);
    const pid = inode === null ? null : await socketOwner(procRoot, b.peerPortId, inode);
    const command = pid === null ? null : (await readOr(`${procRoot}/${pid}/comm`, '')).trim() || null;
    holders.push({ queueNum: b.queueNum, portid: b.peerPortId, pid, command });
  }
  return holders;
}

/** "queue 3 is held by process 812 (node)". */
export function describeHolder(h: QueueHolder): string {
  const who = h.pid === null ? `netlink port ${h.portid} (its process was not found)` : `process ${h.pid}${h.command === null ? '' : ` (${h.command})`}`;
  return `queue ${h.queueNum} is held by ${who}`;
}
