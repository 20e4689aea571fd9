/**
 * Who owns a connection, in one call: sock_diag finds the socket (uid, inode, cgroup id), the
 * SocketOwnerIndex maps the inode to a pid, /proc/PID says what the process is. This is what the
 * engine calls when a new locally terminated flow needs process attributes; it runs off the packet
 * path (I/O: about 15-20 µs for sock_diag and an index hit, plus 50-100 µs to read a process's
 * attributes the first time in processInfoTtlUs; bench/host/owner-lookup.bench.ts).
 *
 * The answer always comes back, never an exception for a connection or process that is not there:
 * - socket not found (forwarded traffic, a connection already gone): found false, known false;
 * - socket found but no process holds it (TIME_WAIT, a process that exited): found true, known false,
 *   with the socket's uid and user, the rest unknown (pid -1, names '');
 * - both found: found true, known true, every attribute filled.
 * Only a kernel that rejects sock_diag requests throws (HostLookupError, from SockDiag).
 */
import { performance } from 'node:perf_hooks';
import { NO_OWNER } from '../classify/context.js';
import { type ProcessInfo, readProcess } from './process-info.js';
import { SockDiag, type SockDiagOptions, type SocketTuple } from './sock-diag.js';
import { SocketRecord } from './inet-diag-codec.js';
import { SocketOwnerIndex, type SocketOwnerIndexOptions } from './socket-owners.js';
import { UserNames } from './user-names.js';

export interface SocketOwner extends ProcessInfo {
  /** sock_diag found the socket. */
  found: boolean;
  /** A process holding the socket was found (pid and the process attributes are real). */
  known: boolean;
  /** The socket's sockfs inode (0 when not found). */
  inode: number;
  /** The socket's cgroup v2 id (0 when unknown). */
  cgroupId: number;
}

export interface OwnerLookupOptions extends SockDiagOptions, SocketOwnerIndexOptions {
  /** User and group names; a UserNames over /etc/passwd and /etc/group by default. */
  names?: UserNames;
  /**
   * How long a process's attributes are reused for its next connections, µs; 1 s by default, 0 to
   * read them every time. Reading them costs 50-100 µs (status, cmdline, cgroup, exe); a process
   * that exec()s another program within this time keeps its old cmd for the rest of it.
   */
  processInfoTtlUs?: number;
}

/** Processes whose attributes are kept at most; past it the cache starts over (bounded memory). */
const PROCESS_CACHE_ENTRIES = 4096;

const NO_ARGV: readonly string[] = Object.freeze([]);

/** The owner of a connection whose socket was not found (or not looked up): found and known false. */
export const NO_SOCKET: SocketOwner = Object.freeze({ ...NO_OWNER, inode: 0, cgroupId: 0, argv: NO_ARGV });

/** A socket found without its process: its uid (and user) are real, the rest unknown. */
function socketOnly(rec: SocketRecord, names: UserNames): SocketOwner {
  return { ...NO_SOCKET, found: true, inode: rec.inode, cgroupId: rec.cgroupId, uid: rec.uid, user: names.user(rec.uid) };
}

export class OwnerLookup {
  readonly index: SocketOwnerIndex;
  private readonly diag: SockDiag;
  private readonly names: UserNames;
  private readonly procRoot: string;
  private readonly record = new SocketRecord();
  private readonly processInfoTtlUs: number;
  private readonly nowUs: () => number;
  /** pid → attributes and when they were read (µs). */
  private readonly processes = new Map<number, ProcessInfo>();
  private readonly processReadUs = new Map<number, number>();

  private constructor(diag: SockDiag, options: OwnerLookupOptions) {
    this.diag = diag;
    this.index = new SocketOwnerIndex(options);
    this.names = options.names ?? new UserNames();
    this.procRoot = options.procRoot ?? '/proc';
    this.processInfoTtlUs = options.processInfoTtlUs ?? 1_000_000;
    this.nowUs = options.nowUs ?? (() => performance.now() * 1000);
  }

  /** Opens the sock_diag socket in the calling thread's network namespace (where the connections live). */
  static open(options: OwnerLookupOptions = {}): OwnerLookup {
    return new OwnerLookup(SockDiag.open(options), options);
  }

  /** The owner of connection `t` (see the header for what found/known mean). */
  resolve(t: SocketTuple): SocketOwner {
    const rec = this.record;
    if (!this.diag.lookup(t, rec)) return NO_SOCKET;
    // The process may exit between the index's answer and the read: look once more, then give up.
    for (let attempt = 0; attempt < 2; attempt++) {
      const pid = this.index.find(rec.inode, rec.uid, rec.cgroupId);
      if (pid < 0) break;
      const info = this.processInfo(pid);
      if (info !== null) return { ...info, found: true, known: true, inode: rec.inode, cgroupId: rec.cgroupId };
    }
    return socketOnly(rec, this.names);
  }

  /** pid's attributes, from the cache while they are younger than the TTL, else from /proc; null when it exited. */
  private processInfo(pid: number): ProcessInfo | null {
    const now = this.nowUs();
    const cached = this.processes.get(pid);
    if (cached !== undefined && now - (this.processReadUs.get(pid) as number) < this.processInfoTtlUs) return cached;
    const info = readProcess(pid, this.names, this.procRoot);
    if (info === null) {
      this.processes.delete(pid);
      this.processReadUs.delete(pid);
      return null;
    }
    if (this.processes.size >= PROCESS_CACHE_ENTRIES) {
      this.processes.clear();
      this.processReadUs.clear();
    }
    this.processes.set(pid, info);
    this.processReadUs.set(pid, now);
    return info;
  }

  close(): void {
    this.diag.close();
  }
}
