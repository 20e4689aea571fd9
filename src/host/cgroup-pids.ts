/**
 * The processes of a cgroup, by the cgroup v2 id sock_diag reports for a socket (the inode number
 * of the cgroup's directory in cgroupfs): SocketOwnerIndex looks in them first, since a socket's
 * cgroup is its creator's, and a cgroup (a service, a session scope) holds few processes.
 *
 * Ids become paths by walking the cgroup tree once and again when an unknown id turns up, at most
 * once per refresh interval (a walk stats every cgroup directory: about a millisecond for a few
 * hundred). Nothing here throws: a cgroup that vanished, or a system without cgroup v2, has no pids.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface CgroupPidsOptions {
  /** Where the cgroup v2 tree is mounted; '/sys/fs/cgroup' by default. */
  root?: string;
  /** Least time between two walks of the tree, µs. */
  refreshIntervalUs: number;
  nowUs: () => number;
}

/** Directories a walk visits at most (a runaway tree costs bounded time). */
const MAX_CGROUPS = 100_000;

export class CgroupPids {
  private readonly root: string;
  private readonly refreshIntervalUs: number;
  private readonly nowUs: () => number;
  private readonly pathOf = new Map<number, string>();
  private lastWalkUs = -Infinity;

  constructor(options: CgroupPidsOptions) {
    this.root = options.root ?? '/sys/fs/cgroup';
    this.refreshIntervalUs = options.refreshIntervalUs;
    this.nowUs = options.nowUs;
  }

  /** The pids in cgroup `id` now; [] when it is not known (or gone). */
  pidsOf(id: number): number[] {
    if (id <= 0) return [];
    let path = this.pathOf.get(id);
    if (path === undefined) {
      const now = this.nowUs();
      if (now - this.lastWalkUs < this.refreshIntervalUs) return [];
      this.lastWalkUs = now;
      this.walk();
      path = this.pathOf.get(id);
      if (path === undefined) return [];
    }
    let text: string;
    try {
      text = readFileSync(join(path, 'cgroup.procs'), 'utf8');
    } catch {
      this.pathOf.delete(id);
      return [];
    }
    const pids: number[] = [];
    for (const line of text.split('\n')) if (line !== '') pids.push(Number(line));
    return pids;
  }

  private walk(): void {
    this.pathOf.clear();
    const stack = [this.root];
    while (stack.length > 0 && this.pathOf.size < MAX_CGROUPS) {
      const dir = stack.pop() as string;
      try {
        this.pathOf.set(statSync(dir).ino, dir);
        for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) stack.push(join(dir, e.name));
      } catch {
        // Removed during the walk.
      }
    }
  }
}
