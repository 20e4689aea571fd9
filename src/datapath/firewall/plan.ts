/**
 * The firewall planner: from what sluice wants queued (FirewallDescription) to the exact iptables
 * and ip6tables rules that queue it. Pure: no I/O, the same description always gives the same plan,
 * and each rule's arguments are in the order `iptables -S` prints them, so the applier can compare
 * a read-back token for token.
 *
 * Table: mangle. NFQUEUE is allowed in any table, but only mangle has all three hooks sluice needs
 * (POSTROUTING, INPUT, FORWARD), and it runs before the others at each hook: at POSTROUTING
 * (priority -150) before nat's source NAT (100), so on a router egress packets still carry the LAN
 * host's address, which per-host fairness needs. A packet accepted from the queue continues with
 * the next table at that hook (filter, nat), never skipping the user's filtering; it does skip the
 * mangle rules after sluice's jump, so the jumps are appended at the end of each mangle hook, after
 * the user's mangle rules (TCPMSS clamping, DSCP marks) have run.
 *
 * Hooks, each packet queued once per link direction:
 * - Egress: POSTROUTING -o IFACE, which sees both locally generated and forwarded packets as they
 *   leave. Not OUTPUT as well: a local packet passes OUTPUT and then POSTROUTING, and would be
 *   queued twice.
 * - Ingress: INPUT -i IFACE (packets for this host) and FORWARD -i IFACE (packets routed on). Both
 *   come after PREROUTING, where conntrack has already undone the masquerade (destination NAT of
 *   replies), so the LAN host is visible and both directions of a connection meet in one flow. A
 *   packet takes INPUT or FORWARD, never both. Not PREROUTING: addresses are still NATed there.
 * A forwarded packet that arrives on one shaped link and leaves through another is queued twice,
 * once for each link's direction (FORWARD, then POSTROUTING), because each direction has its own
 * rate to honour; the hook and interface in each queued packet tell the datapath which one it is.
 *
 * Inside sluice's chains, in order: RETURN for loopback, for the bypass mark, for each exemption,
 * then NFQUEUE. Every rule carries `-m comment --comment sluice` so that stale ones are recognised.
 */
import { FirewallError } from './errors.js';
import { exemptMatches, type ChainDirection } from './exempt.js';
import type { FamilyPlan, FirewallDescription, FirewallPlan, IpFamily, PlannedRule } from './types.js';

export const FIREWALL_TABLE = 'mangle';
/** Every chain sluice owns starts with this; a chain so named is sluice's, stale or not. */
export const CHAIN_PREFIX = 'SLUICE-';
export const CHAIN_EGRESS = 'SLUICE-EGRESS';
export const CHAIN_INGRESS = 'SLUICE-INGRESS';
export const SLUICE_COMMENT = 'sluice';

const COMMENT = ['-m', 'comment', '--comment', SLUICE_COMMENT] as const;

/** Linux interface names: 1-15 bytes; kept to characters that need no quoting and are not iptables syntax. */
const IFACE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,14}$/;

function validate(desc: FirewallDescription): void {
  const { first, last } = desc.queues;
  const isQueue = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 65535;
  if (!isQueue(first) || !isQueue(last) || first > last) {
    throw new FirewallError('invalid', `queues ${first}..${last}: queue numbers are 0-65535, first <= last`);
  }
  if (desc.bypassMark !== null) {
    const m = desc.bypassMark;
    if (!Number.isInteger(m) || m < 1 || m > 0xffffffff) {
      throw new FirewallError('invalid', `bypass mark ${m} must be 1-0xffffffff (0 would exempt every unmarked packet)`);
    }
  }
  const seen = new Set<string>();
  for (const link of desc.links) {
    if (!IFACE_NAME.test(link.interface)) {
      throw new FirewallError('invalid', `"${link.interface}" is not an interface name (1-15 characters: letters, digits, _ . @ -)`);
    }
    if (link.interface === 'lo') throw new FirewallError('invalid', 'loopback (lo) is never shaped: remove it from links');
    if (seen.has(link.interface)) throw new FirewallError('invalid', `interface ${link.interface} is listed twice in links`);
    seen.add(link.interface);
  }
}

function queueTarget(desc: FirewallDescription): string[] {
  const { first, last } = desc.queues;
  const args = first === last ? ['-j', 'NFQUEUE', '--queue-num', String(first)] : ['-j', 'NFQUEUE', '--queue-balance', `${first}:${last}`];
  if (desc.failOpen) args.push('--queue-bypass');
  return args;
}

function chainRules(desc: FirewallDescription, chain: string, direction: ChainDirection, family: IpFamily): PlannedRule[] {
  const rule = (...args: string[]): PlannedRule => ({ chain, args });
  const loopback = direction === 'egress' ? '-o' : '-i';
  const rules = [rule(loopback, 'lo', ...COMMENT, '-j', 'RETURN')];
  if (desc.bypassMark !== null) rules.push(rule('-m', 'mark', '--mark', `0x${desc.bypassMark.toString(16)}`, ...COMMENT, '-j', 'RETURN'));
  desc.exempt.forEach((ex, i) => {
    let matches: string[][];
    try {
      matches = exemptMatches(ex, direction, family);
    } catch (e) {
      if (e instanceof FirewallError) throw new FirewallError(e.code, `exempt rule ${i + 1}: ${e.message}`);
      throw e;
    }
    for (const m of matches) rules.push(rule(...m, ...COMMENT, '-j', 'RETURN'));
  });
  rules.push(rule(...COMMENT, ...queueTarget(desc)));
  return rules;
}

function planFamily(desc: FirewallDescription, family: IpFamily): FamilyPlan {
  const egressLinks = desc.links.filter((l) => l.egress);
  const ingressLinks = desc.links.filter((l) => l.ingress);
  const chains: string[] = [];
  const rules: PlannedRule[] = [];
  const jumps: PlannedRule[] = [];
  const jump = (hook: string, dir: string, iface: string, chain: string): PlannedRule => ({
    chain: hook,
    args: [dir, iface, ...COMMENT, '-j', chain],
  });
  if (egressLinks.length > 0) {
    chains.push(CHAIN_EGRESS);
    rules.push(...chainRules(desc, CHAIN_EGRESS, 'egress', family));
    for (const l of egressLinks) jumps.push(jump('POSTROUTING', '-o', l.interface, CHAIN_EGRESS));
  }
  if (ingressLinks.length > 0) {
    chains.push(CHAIN_INGRESS);
    rules.push(...chainRules(desc, CHAIN_INGRESS, 'ingress', family));
    for (const hook of ['INPUT', 'FORWARD']) {
      for (const l of ingressLinks) jumps.push(jump(hook, '-i', l.interface, CHAIN_INGRESS));
    }
  }
  return { family, chains, rules, jumps };
}

/** The rules for both families. Throws FirewallError('invalid') naming what is wrong. */
export function planFirewall(desc: FirewallDescription): FirewallPlan {
  validate(desc);
  return { table: FIREWALL_TABLE, ipv4: planFamily(desc, 'ipv4'), ipv6: planFamily(desc, 'ipv6') };
}

/** A rule as an iptables-restore / `iptables -S` line: "-A CHAIN args..." (or -D to delete it). */
export function ruleLine(rule: PlannedRule, op: '-A' | '-D' = '-A'): string {
  return [op, rule.chain, ...rule.args].join(' ');
}
