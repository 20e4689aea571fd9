/**
 * Counting at the receiver: iptables rules in a lab host's mangle PREROUTING that match packets and
 * count them, each named by its comment, so a test can ask the receiving kernel what arrived (with
 * which DSCP, how big, SYN or not). PREROUTING comes after the IP layer's own checks, so a counted
 * packet also had a valid header.
 */
import assert from 'node:assert/strict';
import type { Lab } from '../../src/lab/index.js';

/** A rule's name (its comment, no spaces) and its iptables match arguments. */
export type CountingRule = [name: string, match: string[]];

export interface RuleCount {
  packets: number;
  bytes: number;
}

export function iptablesTool(family: 4 | 6): string {
  return family === 4 ? 'iptables' : 'ip6tables';
}

/** Appends the rules to `host`'s mangle PREROUTING for `family`, in one iptables-restore. */
export async function addCountingRules(lab: Lab, host: string, family: 4 | 6, rules: readonly CountingRule[]): Promise<void> {
  const lines = rules.map(([name, match]) => ['-A', 'PREROUTING', ...match, '-m', 'comment', '--comment', name].join(' '));
  await lab.exec(host, [`${iptablesTool(family)}-restore`, '-w', '--noflush'], { input: `*mangle\n${lines.join('\n')}\nCOMMIT\n` });
}

/** What each of `rules` counted so far, by name; fails the test when one is missing. */
export async function readCountingRules(lab: Lab, host: string, family: 4 | 6, rules: readonly CountingRule[]): Promise<Map<string, RuleCount>> {
  const { stdout } = await lab.exec(host, [iptablesTool(family), '-w', '-t', 'mangle', '-nvxL', 'PREROUTING']);
  const counts = new Map<string, RuleCount>();
  for (const m of stdout.matchAll(/^\s*(\d+)\s+(\d+)\s.*\/\* (\S+) \*\/\s*$/gm)) counts.set(m[3], { packets: Number(m[1]), bytes: Number(m[2]) });
  for (const [name] of rules) assert.ok(counts.has(name), `no counting rule '${name}' in ${host}'s ${iptablesTool(family)} mangle PREROUTING`);
  return counts;
}

/** Sets every rule's counters in `host`'s mangle PREROUTING back to zero. */
export async function zeroCountingRules(lab: Lab, host: string, family: 4 | 6): Promise<void> {
  await lab.exec(host, [iptablesTool(family), '-w', '-t', 'mangle', '-Z', 'PREROUTING']);
}
