/**
 * What an install or a removal took away, in words a person reads in one line:
 * "2 chains and 3 jumps (iptables), nothing (ip6tables)". `sluice cleanup` prints it after a
 * removal; `sluice run` can print it when an install replaced stale rules from a crash.
 */
import { TOOL, type FirewallChange } from './iptables.js';

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** Whether any family had a sluice chain or jump removed. */
export function removedAnything(changes: readonly FirewallChange[]): boolean {
  return changes.some((c) => c.removedChains > 0 || c.removedJumps > 0);
}

/** "2 chains and 3 jumps" (a zero count left out), or "nothing". */
export function describeChange(change: FirewallChange): string {
  const parts: string[] = [];
  if (change.removedChains > 0) parts.push(count(change.removedChains, 'chain'));
  if (change.removedJumps > 0) parts.push(count(change.removedJumps, 'jump'));
  return parts.length === 0 ? 'nothing' : parts.join(' and ');
}

/** Every family's change, each followed by its tool: "2 chains and 3 jumps (iptables), nothing (ip6tables)". */
export function describeChanges(changes: readonly FirewallChange[]): string {
  return changes.map((c) => `${describeChange(c)} (${TOOL[c.family]})`).join(', ');
}
