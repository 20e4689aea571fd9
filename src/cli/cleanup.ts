/**
 * `sluice cleanup`: removes sluice's firewall rules by hand — the SLUICE-* chains of the mangle
 * table and the jumps to them, iptables and ip6tables — after a crash, a SIGKILL or a power loss
 * left them behind (a normal stop removes them itself, and a start replaces stale ones). Prints one
 * line saying what it removed per family, or that there was nothing; exit 0.
 *
 * It refuses (one line, exit 2) while a running sluice holds the rules, since removing them would
 * silently stop its shaping. "Holds" means: a queue the installed NFQUEUE rules feed is bound in
 * this network namespace, as /proc/net/netfilter/nfnetlink_queue shows (firewall/holders.ts). That
 * is the simplest test that cannot go stale: the kernel unbinds a queue when its holder dies, by
 * SIGKILL too, whereas a pid file outlives a crash and its pid may be reused; and it needs nothing
 * from `sluice run`. The refusal names the holder's pid so that it can be stopped; `--force`
 * removes the rules anyway. (Rules feeding a queue bound by some other program are refused alike:
 * removing them would cut that program's traffic just the same.)
 *
 * Expected failures — not root, iptables not installed, iptables failing — print one line and exit
 * 2, as `sluice run` does. A family the kernel cannot manage (IPv6 disabled, no mangle table) holds
 * nothing of sluice: it is named in the summary, not treated as a failure.
 */
import { FirewallError, IptablesFirewall, type InstalledFamily, type IpFamily } from '../datapath/firewall/index.js';
import { describeHolder, findQueueHolders, queuesOf } from '../datapath/firewall/holders.js';
import { TOOL, type FirewallChange } from '../datapath/firewall/iptables.js';
import { describeChanges, removedAnything } from '../datapath/firewall/report.js';
import type { CommandRunner } from '../datapath/firewall/run.js';
import type { Io } from './io.js';
import { EXIT_FAILURE } from './run.js';

export const NEED_ROOT_TO_CLEANUP = 'sluice cleanup needs root (it removes iptables and ip6tables rules): run it as root';

export interface CleanupOptions {
  /** Whether the process is root; default process.getuid() === 0 (tests pass false). */
  isRoot?: boolean;
  /** Remove the rules even while a live process holds the queue they feed. */
  force?: boolean;
  /** How iptables and ip6tables are run; default execFile (tests pass a fake). */
  run?: CommandRunner;
}

const FAMILIES: readonly IpFamily[] = ['ipv4', 'ipv6'];

/** One family the kernel can manage, and what of sluice it holds now. */
interface Managed {
  firewall: IptablesFirewall;
  installed: InstalledFamily;
}

export async function cleanupCommand(io: Io, opts: CleanupOptions = {}): Promise<number> {
  if (!(opts.isRoot ?? process.getuid?.() === 0)) {
    io.err(`sluice: ${NEED_ROOT_TO_CLEANUP}\n`);
    return EXIT_FAILURE;
  }
  try {
    return await cleanup(io, opts);
  } catch (err) {
    if (err instanceof FirewallError) {
      io.err(`sluice: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    throw err;
  }
}

async function cleanup(io: Io, opts: CleanupOptions): Promise<number> {
  const managed: Managed[] = [];
  const unavailable: string[] = [];
  for (const family of FAMILIES) {
    const firewall = new IptablesFirewall({ families: [family], run: opts.run });
    try {
      const installed = (await firewall.detect())[family];
      if (installed !== null) managed.push({ firewall, installed });
    } catch (err) {
      if (!(err instanceof FirewallError && err.code === 'kernel-feature')) throw err;
      unavailable.push(err.message);
    }
  }

  const holders = await findQueueHolders(queuesOf(managed.flatMap((m) => m.installed.rules)));
  if (holders.length > 0) {
    const held = holders.map(describeHolder).join('; ');
    if (opts.force !== true) {
      io.err(`sluice: not removing the rules of a running sluice: ${held} — stop it (it removes its rules on SIGINT or SIGTERM), or remove them anyway with sluice cleanup --force\n`);
      return EXIT_FAILURE;
    }
    io.err(`warning: ${held}: removing its rules anyway (--force); it no longer receives the traffic it shaped\n`);
  }

  const changes: FirewallChange[] = [];
  for (const m of managed) changes.push(...(await m.firewall.remove()));
  const notes = unavailable.map((u) => `; ${u}`).join('');
  if (removedAnything(changes)) {
    io.out(`sluice: removed ${describeChanges(changes)}${notes}\n`);
  } else {
    const tools = changes.map((c) => TOOL[c.family]).join(', ');
    io.out(`sluice: nothing to remove: no sluice chains or jumps in the mangle table${tools === '' ? '' : ` (${tools})`}${notes}\n`);
  }
  return 0;
}
