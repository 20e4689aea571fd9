/**
 * Which process holds a socket: an index from sockfs inode (the N of a `socket:[N]` link in
 * /proc/PID/fd) to pid, built from /proc and kept up to date on demand.
 *
 * How find(inode, uid) works:
 * 1. Hit: the index names a pid and fd; one readlink confirms the fd still holds that socket (the
 *    process may have exited, closed it, or handed it on). About 2-5 µs.
 * 2. Miss: list /proc; forget pids that are gone; scan the pids that appeared since the last listing,
 *    those whose uid is the socket's first (sock_diag reports the socket's uid, and a new connection
 *    most often comes from a new process of that user). Cost: one readdir of /proc, plus a status read
 *    and a readdir and readlink per fd for each new process. The first miss finds every process new:
 *    it builds the index (about 10-20 ms on a machine with 70 processes) and counts as a full scan.
 * 3. Still missing: rescan the processes of the socket's cgroup (sock_diag reports its id; its
 *    cgroup.procs lists them, cgroup-pids.ts). A long-running program's new connection is found
 *    here, at the cost of a few fd tables, without waiting for the next full rescan.
 * 4. Still missing, and no full rescan in the last `fullScanIntervalUs` (250 ms by default): rescan
 *    every known pid, same-uid pids first, stopping when the socket is found (long-lived processes
 *    open new sockets too). The interval bounds what a stream of unknown sockets can cost: at most
 *    one full scan per interval; between them a miss costs step 2 only.
 * A socket not found is -1: the caller reports the owner as unknown. Nothing here throws for a
 * process that vanishes during a scan (every /proc read may fail; failures mean "gone").
 *
 * scanProcForInode() is the naive reference: walk every /proc/PID/fd until the inode turns up. The
 * benchmark compares the index with it.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { CgroupPids } from './cgroup-pids.js';
import { readProcessUid } from './process-info.js';

export interface SocketOwnerIndexOptions {
  /** Where proc is mounted; '/proc' by default. */
  procRoot?: string;
  /** Where the cgroup v2 tree is mounted; '/sys/fs/cgroup' by default. */
  cgroupRoot?: string;
  /** Least time between two full rescans, µs; 250 ms by default. */
  fullScanIntervalUs?: number;
  /** The clock, µs; performance.now() by default. */
  nowUs?: () => number;
}

/** Counters, read by whoever asks (status, tests, the benchmark). */
export interface SocketOwnerIndexStats {
  hits: number;
  misses: number;
  /** Processes whose fd table was read. */
  pidScans: number;
  fullScans: number;
}

const SOCKET_PREFIX = 'socket:[';
const CGROUP_WALK_US = 1_000_000;

/** The inode of a `socket:[N]` link, or -1 for any other link. */
function socketInode(link: string): number {
  if (!link.startsWith(SOCKET_PREFIX)) return -1;
  const n = Number(link.slice(SOCKET_PREFIX.length, -1));
  return Number.isInteger(n) ? n : -1;
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function readLink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/** The pids in procRoot, in the order readdir gives them. */
function listPids(procRoot: string): number[] {
  const pids: number[] = [];
  for (const name of listDir(procRoot)) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(name));
  }
  return pids;
}

/** The naive way: every fd of every process until one is `socket:[inode]`. Returns the pid, or -1. */
export function scanProcForInode(inode: number, procRoot = '/proc'): number {
  const want = `${SOCKET_PREFIX}${inode}]`;
  for (const pid of listPids(procRoot)) {
    const fdDir = `${procRoot}/${pid}/fd`;
    for (const fd of listDir(fdDir)) if (readLink(`${fdDir}/${fd}`) === want) return pid;
  }
  return -1;
}

export class SocketOwnerIndex {
  readonly stats: SocketOwnerIndexStats = { hits: 0, misses: 0, pidScans: 0, fullScans: 0 };
  private readonly procRoot: string;
  private readonly fullScanIntervalUs: number;
  private readonly nowUs: () => number;
  /** inode → pid and inode → fd number of the last scan that saw it. */
  private readonly inodePid = new Map<number, number>();
  private readonly inodeFd = new Map<number, number>();
  /** Known pids → their effective uid when last scanned, and the socket inodes seen in their fd table. */
  private readonly pidUid = new Map<number, number>();
  private readonly pidInodes = new Map<number, number[]>();
  private lastFullScanUs = -Infinity;
  private readonly cgroups: CgroupPids;

  constructor(options: SocketOwnerIndexOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.fullScanIntervalUs = options.fullScanIntervalUs ?? 250_000;
    this.nowUs = options.nowUs ?? (() => performance.now() * 1000);
    // The cgroup tree changes slowly (services start, sessions open): a second between walks at least.
    this.cgroups = new CgroupPids({ root: options.cgroupRoot, refreshIntervalUs: Math.max(this.fullScanIntervalUs, CGROUP_WALK_US), nowUs: this.nowUs });
  }

  /** Processes the index knows of. */
  get knownPids(): number {
    return this.pidUid.size;
  }

  /**
   * The pid holding socket `inode`, or -1 when none is found (see the header for the steps and their
   * cost). `uid` is the socket's owner as sock_diag reports it, used to look at that user's processes
   * first; -1 when unknown. `cgroupId` is the socket's cgroup v2 id (0 when unknown), whose
   * processes are read before a full rescan. Inode 0 (a socket no file holds, e.g. TIME_WAIT) is -1 at once.
   */
  find(inode: number, uid = -1, cgroupId = 0): number {
    if (inode <= 0) return -1;
    const pid = this.inodePid.get(inode);
    if (pid !== undefined) {
      if (readLink(`${this.procRoot}/${pid}/fd/${this.inodeFd.get(inode)}`) === `${SOCKET_PREFIX}${inode}]`) {
        this.stats.hits++;
        return pid;
      }
      this.inodePid.delete(inode);
      this.inodeFd.delete(inode);
    }
    this.stats.misses++;
    const now = this.nowUs();
    if (this.pidUid.size === 0) {
      // The first build reads every process: it is a full scan.
      this.lastFullScanUs = now;
      this.stats.fullScans++;
    }
    const found = this.scanNewPids(inode, uid);
    if (found >= 0) return found;
    for (const pid of this.cgroups.pidsOf(cgroupId)) {
      if (this.pidUid.has(pid) && this.scanPid(pid, readProcessUid(pid, this.procRoot), inode)) return pid;
    }
    if (now - this.lastFullScanUs < this.fullScanIntervalUs) return -1;
    this.lastFullScanUs = now;
    this.stats.fullScans++;
    return this.rescanKnown(inode, uid);
  }

  /** Lists /proc, forgets vanished pids, scans new ones (same uid first); the pid holding `inode` or -1. */
  private scanNewPids(inode: number, uid: number): number {
    const pids = listPids(this.procRoot);
    const present = new Set(pids);
    for (const pid of this.pidUid.keys()) if (!present.has(pid)) this.forgetPid(pid);
    const others: number[] = [];
    let found = -1;
    for (const pid of pids) {
      if (this.pidUid.has(pid)) continue;
      const pidUid = readProcessUid(pid, this.procRoot);
      if (pidUid < 0) continue;
      if (uid >= 0 && pidUid !== uid) {
        others.push(pid);
        continue;
      }
      if (this.scanPid(pid, pidUid, inode) && found < 0) found = pid;
    }
    // New processes of other users are indexed too, so that the next full rescan is not their first sight.
    for (const pid of others) {
      if (this.scanPid(pid, readProcessUid(pid, this.procRoot), inode) && found < 0) found = pid;
    }
    return found;
  }

  /** Rescans known pids, those of `uid` first, until `inode` turns up; the pid or -1. */
  private rescanKnown(inode: number, uid: number): number {
    const pids = [...this.pidUid.keys()];
    if (uid >= 0) {
      for (const pid of pids) if (this.pidUid.get(pid) === uid && this.scanPid(pid, uid, inode)) return pid;
    }
    for (const pid of pids) {
      const known = this.pidUid.get(pid);
      if (known === undefined || (uid >= 0 && known === uid)) continue;
      if (this.scanPid(pid, readProcessUid(pid, this.procRoot), inode)) return pid;
    }
    return -1;
  }

  /** Reads pid's fd table into the index (replacing what it had); true when it holds `inode`. */
  private scanPid(pid: number, uid: number, inode: number): boolean {
    this.stats.pidScans++;
    if (uid < 0) {
      this.forgetPid(pid);
      return false;
    }
    this.dropInodesOf(pid);
    const fdDir = `${this.procRoot}/${pid}/fd`;
    const inodes: number[] = [];
    let holds = false;
    for (const fd of listDir(fdDir)) {
      const n = socketInode(readLink(`${fdDir}/${fd}`));
      if (n < 0) continue;
      inodes.push(n);
      this.inodePid.set(n, pid);
      this.inodeFd.set(n, Number(fd));
      if (n === inode) holds = true;
    }
    this.pidUid.set(pid, uid);
    this.pidInodes.set(pid, inodes);
    return holds;
  }

  private dropInodesOf(pid: number): void {
    const inodes = this.pidInodes.get(pid);
    if (inodes === undefined) return;
    for (const n of inodes) {
      if (this.inodePid.get(n) !== pid) continue;
      this.inodePid.delete(n);
      this.inodeFd.delete(n);
    }
  }

  private forgetPid(pid: number): void {
    this.dropInodesOf(pid);
    this.pidUid.delete(pid);
    this.pidInodes.delete(pid);
  }
}
