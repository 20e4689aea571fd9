/**
 * The lab: hosts made of network namespaces joined by veth pairs, for the end-to-end tests, the
 * datapath benchmark and `sluice demo`. Lab.pair() is two hosts on one link; Lab.line() is client —
 * router — server with the router forwarding; Lab.create() takes any description (see plan.ts).
 * Every veth has its offloads off, so packets on it are MTU-sized as on a real wire.
 *
 * Everything a lab makes (namespaces, the veth ends inside them, processes started with spawn or left
 * behind by exec) is removed by destroy(), which is idempotent, also runs from the process's exit and
 * signal hooks (exit-hooks.ts), and runs when building the lab fails halfway. Lab.cleanupStale()
 * removes namespaces left by runs that were killed before any hook could run (SIGKILL, power loss).
 *
 * Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN for namespaces); without it create() says so in one line.
 */
import { spawn as spawnChild, type ChildProcess, type StdioOptions } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, toolEnv, type RunOptions, type RunResult } from './exec.js';
import { liveNamespaces, track, untrack } from './exit-hooks.js';
import { DEFAULT_PREFIX, checkPrefix, makeLabId, ownerPid, processAlive } from './names.js';
import {
  addAddress, addDefaultRoute, addNetns, addVethPair, deleteNetns, deleteNetnsSync, disableOffloads, inNetns, listNetns,
  netnsPids, netnsPidsSync, setLinkUp, setSysctl,
} from './netns.js';
import { LINE, PAIR, planLab, type LabEnd, type LabLink, type LabPlan, type LabSpec } from './plan.js';

export const NEED_ROOT = 'the lab needs root (it creates network namespaces and veth pairs): run it as root';

/** How long destroy() gives spawned processes to exit after SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 500;

export interface SpawnOptions {
  /** Default: stdin ignored, stdout and stderr piped. */
  stdio?: StdioOptions;
}

export class Lab {
  readonly id: string;
  readonly hosts: readonly string[];
  readonly links: readonly LabLink[];
  private readonly plan: LabPlan;
  private readonly made = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  private destroying: Promise<void> | null = null;
  private done = false;

  private constructor(id: string, plan: LabPlan) {
    this.id = id;
    this.plan = plan;
    this.hosts = plan.hosts.map((h) => h.name);
    this.links = plan.links;
  }

  /** Builds the lab described by `spec`; on any failure removes what it made and rethrows. */
  static async create(spec: LabSpec): Promise<Lab> {
    const prefix = spec.prefix ?? DEFAULT_PREFIX;
    const id = makeLabId(prefix, spec.name);
    const lab = new Lab(id, planLab(spec, id));
    if (process.getuid?.() !== 0) throw new Error(NEED_ROOT);
    track(lab);
    try {
      await lab.build();
    } catch (e) {
      await lab.destroy().catch(() => undefined); // the build error is the one worth reporting
      throw e;
    }
    return lab;
  }

  /** Two hosts, "client" and "server", joined by one veth pair (10.200.1.1-2, fd00:200:1::1-2). */
  static pair(opts: { name?: string; prefix?: string } = {}): Promise<Lab> {
    return Lab.create({ ...PAIR, ...opts });
  }

  /** "client" — "router" — "server"; the router forwards IPv4 and IPv6, the others route through it. */
  static line(opts: { name?: string; prefix?: string } = {}): Promise<Lab> {
    return Lab.create({ ...LINE, ...opts });
  }

  /**
   * Removes namespaces named with `prefix` whose creating process is gone (or, for this process, that no
   * live lab owns), killing the processes still inside them. Namespaces of labs that other processes
   * are still running are left alone. Returns the names removed.
   */
  static async cleanupStale(prefix: string = DEFAULT_PREFIX): Promise<string[]> {
    checkPrefix(prefix);
    const mine = liveNamespaces();
    const stale = (await listNetns()).filter((ns) => {
      if (!ns.startsWith(prefix) || mine.has(ns)) return false;
      const owner = ownerPid(prefix, ns);
      return owner === null || owner === process.pid || !processAlive(owner);
    });
    for (const ns of stale) {
      killAll(await netnsPids(ns));
      await deleteNetns(ns);
    }
    return stale;
  }

  /** The namespace name of a host. */
  netns(host: string): string {
    const h = this.plan.hosts.find((x) => x.name === host);
    if (!h) throw new Error(`lab ${this.id} has no host "${host}" (hosts: ${this.hosts.join(', ')})`);
    return h.netns;
  }

  /** The host's end of its link toward `towards`, or of its only link when `towards` is omitted. */
  end(host: string, towards?: string): LabEnd {
    this.netns(host);
    const ends = this.links.flatMap((l) => (l.a.host === host ? [[l.a, l.b]] : l.b.host === host ? [[l.b, l.a]] : []));
    const found = towards === undefined ? ends : ends.filter(([, peer]) => peer.host === towards);
    if (found.length === 0) throw new Error(`host "${host}" has no link${towards === undefined ? '' : ` to "${towards}"`}`);
    if (found.length > 1) throw new Error(`host "${host}" has ${found.length} links: say which neighbour`);
    return found[0][0];
  }

  /** The host's IPv4 or IPv6 address on its link toward `towards` (or its only link). */
  address(host: string, family: 4 | 6, towards?: string): string {
    const e = this.end(host, towards);
    return family === 4 ? e.ipv4 : e.ipv6;
  }

  get destroyed(): boolean {
    return this.done;
  }

  /** The namespaces this lab has made and not yet removed. */
  get namespaces(): readonly string[] {
    return [...this.made];
  }

  /** Runs argv inside the host's namespace and waits for it (RunOptions: timeoutMs, input, check). */
  async exec(host: string, argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    this.assertLive();
    return run(inNetns(this.netns(host), argv), opts);
  }

  /** Starts a long-running argv inside the host's namespace; it is killed by destroy() if still running. */
  spawn(host: string, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    this.assertLive();
    const [cmd, ...args] = inNetns(this.netns(host), argv);
    const child = spawnChild(cmd, args, { env: toolEnv(), stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /**
   * Stops every process started in the lab (SIGTERM, then SIGKILL after a short grace) and deletes
   * every namespace, which removes the veth pairs with them. Safe to call any number of times.
   */
  destroy(): Promise<void> {
    if (this.destroying === null) this.destroying = this.teardown();
    return this.destroying;
  }

  /** destroy() without waiting: SIGKILL for every process, for the process exit hook. */
  destroySync(): void {
    if (this.done) return;
    for (const child of this.children) child.kill('SIGKILL');
    for (const ns of [...this.made]) {
      killAll(netnsPidsSync(ns));
      if (deleteNetnsSync(ns)) this.made.delete(ns);
    }
    this.finish();
  }

  private assertLive(): void {
    if (this.destroying !== null || this.done) throw new Error(`lab ${this.id} is destroyed`);
  }

  private finish(): void {
    this.done = true;
    untrack(this);
  }

  private async teardown(): Promise<void> {
    if (this.done) return;
    const running = [...this.children].filter((c) => c.exitCode === null && c.signalCode === null);
    if (running.length > 0) {
      const exited = Promise.all(running.map((c) => new Promise<void>((resolve) => c.once('exit', () => resolve()))));
      for (const c of running) c.kill('SIGTERM');
      const graceful = await Promise.race([exited.then(() => true), sleep(TERM_GRACE_MS).then(() => false)]);
      if (!graceful) {
        for (const c of running) c.kill('SIGKILL');
        await exited;
      }
    }
    const errors: unknown[] = [];
    await Promise.all(
      [...this.made].map(async (ns) => {
        try {
          killAll(await netnsPids(ns));
          await deleteNetns(ns);
          this.made.delete(ns);
        } catch (e) {
          errors.push(e);
        }
      }),
    );
    this.finish();
    if (errors.length > 0) throw errors[0];
  }

  private async build(): Promise<void> {
    const { hosts, links } = this.plan;
    await Promise.all(
      hosts.map(async (h) => {
        await addNetns(h.netns);
        this.made.add(h.netns);
        // New interfaces skip duplicate address detection, so link-local addresses work at once too.
        await setSysctl(h.netns, 'net.ipv6.conf.default.accept_dad', '0');
        await setLinkUp(h.netns, 'lo');
        if (h.forward) {
          await setSysctl(h.netns, 'net.ipv4.ip_forward', '1');
          await setSysctl(h.netns, 'net.ipv6.conf.all.forwarding', '1');
        }
      }),
    );
    await Promise.all(links.map((l) => addVethPair(l.a.netns, l.a.dev, l.b.netns, l.b.dev, l.mtu)));
    const ends = links.flatMap((l) => [l.a, l.b]);
    await Promise.all(
      ends.map(async (e) => {
        await disableOffloads(e.netns, e.dev);
        await setLinkUp(e.netns, e.dev);
      }),
    );
    // Addresses go on only once both ends of every veth are up (carrier on): an IPv6 address added
    // before that has its setup finished later by the kernel's addrconf work, and the first neighbour
    // solicitation toward it could go unanswered for a second.
    await Promise.all(
      ends.map(async (e) => {
        await addAddress(e.netns, e.dev, e.ipv4Cidr);
        await addAddress(e.netns, e.dev, e.ipv6Cidr);
      }),
    );
    await Promise.all(
      hosts.map(async (h) => {
        if (h.gateway === null) return;
        await addDefaultRoute(h.netns, h.gateway.via4, h.gateway.dev);
        await addDefaultRoute(h.netns, h.gateway.via6, h.gateway.dev);
      }),
    );
  }
}

/** SIGKILL for processes inside a lab namespace; ones that already exited are ignored. */
function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone between listing and killing.
    }
  }
}
