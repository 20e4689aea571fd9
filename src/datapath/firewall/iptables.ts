/**
 * The firewall applier: installs a plan with iptables-restore (one transaction per family, with
 * --noflush so only sluice's chains are touched), finds what of sluice is installed (current or
 * stale from a crash) by reading `iptables -t mangle -S`, removes it (jumps first, then sluice's
 * chains), and checks that an installed plan is still intact for the daemon's periodic check.
 * Failures become a FirewallError with one line saying what to do (errors.ts).
 */
import { readFile } from 'node:fs/promises';
import { describeFailure, type CommandResult } from './errors.js';
import { FIREWALL_TABLE } from './plan.js';
import { compareInstalled, installScript, isEmpty, parseInstalled, parseProtocols, removeScript } from './ruleset.js';
import { commandFor, execRunner, type CommandRunner } from './run.js';
import type { FirewallCheck, FirewallPlan, InstalledFamily, InstalledFirewall, IpFamily } from './types.js';

export interface IptablesOptions {
  /** Run every command inside this network namespace (`ip netns exec NAME ...`); tests use this. */
  netns?: string;
  /** The families to manage; default both. Leave out 'ipv6' on a kernel with IPv6 disabled. */
  families?: readonly IpFamily[];
  /** How commands are run; default execFile. Tests pass a fake to check error handling. */
  run?: CommandRunner;
}

/** What an install or remove did, per family: how many stale chains and jumps it removed. */
export interface FirewallChange {
  family: IpFamily;
  removedChains: number;
  removedJumps: number;
}

/** The command that manages each family. */
export const TOOL: Readonly<Record<IpFamily, string>> = { ipv4: 'iptables', ipv6: 'ip6tables' };

export class IptablesFirewall {
  private readonly netns: string | null;
  private readonly families: readonly IpFamily[];
  private readonly run: CommandRunner;
  private protocols: Map<string, number> | null = null;

  constructor(options: IptablesOptions = {}) {
    this.netns = options.netns ?? null;
    this.families = options.families ?? ['ipv4', 'ipv6'];
    this.run = options.run ?? execRunner;
  }

  /** What of sluice is installed now, per managed family (null for a family not managed). */
  async detect(): Promise<InstalledFirewall> {
    const out: InstalledFirewall = { ipv4: null, ipv6: null };
    for (const family of this.families) out[family] = await this.detectFamily(family);
    return out;
  }

  /**
   * Install `plan`, replacing anything of sluice already there (a stale install from a crash, or
   * this one again): per family one transaction, so the rules are never half there.
   */
  async install(plan: FirewallPlan): Promise<FirewallChange[]> {
    const changes: FirewallChange[] = [];
    for (const family of this.families) {
      const installed = await this.detectFamily(family);
      await this.restore(family, installScript(plan[family], installed));
      changes.push({ family, removedChains: installed.chains.filter((c) => !plan[family].chains.includes(c)).length, removedJumps: installed.jumps.length });
    }
    return changes;
  }

  /** Remove everything of sluice (what this run installed, or stale chains and jumps from a crash). */
  async remove(): Promise<FirewallChange[]> {
    const changes: FirewallChange[] = [];
    for (const family of this.families) {
      const installed = await this.detectFamily(family);
      if (!isEmpty(installed)) await this.restore(family, removeScript(installed));
      changes.push({ family, removedChains: installed.chains.length, removedJumps: installed.jumps.length });
    }
    return changes;
  }

  /** Whether what is installed is still exactly `plan` (nobody flushed or edited sluice's rules). */
  async verify(plan: FirewallPlan): Promise<FirewallCheck> {
    const protocols = await this.protocolNumbers();
    const problems: string[] = [];
    for (const family of this.families) {
      problems.push(...compareInstalled(plan[family], await this.detectFamily(family), protocols).problems);
    }
    return { intact: problems.length === 0, problems };
  }

  private async detectFamily(family: IpFamily): Promise<InstalledFamily> {
    const tool = TOOL[family];
    const result = await this.exec(tool, ['-w', '-t', FIREWALL_TABLE, '-S']);
    return parseInstalled(family, result.stdout);
  }

  private async restore(family: IpFamily, script: string): Promise<void> {
    await this.exec(`${TOOL[family]}-restore`, ['-w', '--noflush'], script);
  }

  private async exec(tool: string, args: readonly string[], stdin?: string): Promise<CommandResult> {
    const cmd = commandFor(tool, args, this.netns);
    const result = await this.run(cmd.file, cmd.args, stdin);
    if (result.exitCode !== 0) throw describeFailure(tool, cmd.file, result, stdin);
    return result;
  }

  private async protocolNumbers(): Promise<Map<string, number>> {
    if (this.protocols === null) {
      this.protocols = parseProtocols(await readFile('/etc/protocols', 'utf8').catch(() => ''));
    }
    return this.protocols;
  }
}
