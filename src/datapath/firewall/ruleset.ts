/**
 * Pure text work between plans and iptables: reading `iptables -t mangle -S` into what of sluice is
 * installed, writing the iptables-restore scripts that install and remove, and comparing a read-back
 * with a plan. The applier (iptables.ts) only runs the commands.
 *
 * Scripts are applied with `iptables-restore --noflush`: the table is not flushed, only the chains
 * the script declares (":CHAIN - [0:0]" flushes an existing chain in --noflush mode), so the user's
 * own rules are never touched, and each script is one transaction (one nf_tables batch): it applies
 * whole or not at all.
 */
import { CHAIN_PREFIX, FIREWALL_TABLE, SLUICE_COMMENT, ruleLine } from './plan.js';
import type { FamilyPlan, FirewallCheck, InstalledFamily, IpFamily } from './types.js';

/** Split an `iptables -S` line into arguments, honouring its "double quotes" and backslash escapes. */
export function splitRuleLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inToken = true;
    } else if (c === '"') {
      quoted = !quoted;
      inToken = true;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (inToken) out.push(cur);
      cur = '';
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (inToken) out.push(cur);
  return out;
}

const isSluiceChain = (name: string): boolean => name.startsWith(CHAIN_PREFIX);

/** What of sluice one family's `-S` output of the mangle table holds (current or stale alike). */
export function parseInstalled(family: IpFamily, listing: string): InstalledFamily {
  const result: InstalledFamily = { family, chains: [], rules: [], jumps: [] };
  for (const raw of listing.split('\n')) {
    const line = raw.trim();
    const args = splitRuleLine(line);
    if (args[0] === '-N' && isSluiceChain(args[1] ?? '')) result.chains.push(args[1]);
    if (args[0] !== '-A') continue;
    if (isSluiceChain(args[1] ?? '')) {
      result.rules.push(line);
      continue;
    }
    const target = args.findIndex((a, i) => (a === '-j' || a === '-g') && isSluiceChain(args[i + 1] ?? ''));
    const comment = args.findIndex((a, i) => a === '--comment' && args[i + 1] === SLUICE_COMMENT);
    if (target >= 0 || comment >= 0) result.jumps.push(line);
  }
  return result;
}

export function isEmpty(installed: InstalledFamily): boolean {
  return installed.chains.length === 0 && installed.rules.length === 0 && installed.jumps.length === 0;
}

const asDelete = (line: string): string => `-D${line.slice(2)}`;

/**
 * One transaction that removes whatever of sluice is installed (stale jumps, stale chains) and
 * installs the plan: delete the old jumps, declare (create or flush) every sluice chain, fill the
 * planned ones, delete the others, append the jumps.
 */
export function installScript(plan: FamilyPlan, installed: InstalledFamily): string {
  const lines = [`*${FIREWALL_TABLE}`];
  for (const j of installed.jumps) lines.push(asDelete(j));
  const stale = installed.chains.filter((c) => !plan.chains.includes(c));
  for (const c of [...plan.chains, ...stale]) lines.push(`:${c} - [0:0]`);
  for (const c of stale) lines.push(`-X ${c}`);
  for (const r of plan.rules) lines.push(ruleLine(r));
  for (const j of plan.jumps) lines.push(ruleLine(j));
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** One transaction that removes everything of sluice: the jumps first, then sluice's chains. */
export function removeScript(installed: InstalledFamily): string {
  const lines = [`*${FIREWALL_TABLE}`];
  for (const j of installed.jumps) lines.push(asDelete(j));
  for (const c of installed.chains) lines.push(`:${c} - [0:0]`);
  for (const c of installed.chains) lines.push(`-X ${c}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/**
 * A line in a form that compares equal however iptables spells it: quotes removed, and protocol
 * names after -p turned into numbers (iptables prints 47 as "gre", 58 as "ipv6-icmp"), using
 * `protocols` (name → number, from /etc/protocols) with the four sluice emits built in.
 */
export function normalizeLine(line: string, protocols: ReadonlyMap<string, number>): string {
  const args = splitRuleLine(line);
  for (let i = 0; i + 1 < args.length; i++) {
    if (args[i] === '-p' || args[i] === '--protocol') {
      const name = args[i + 1].toLowerCase();
      const num = BUILTIN_PROTOCOLS.get(name) ?? protocols.get(name);
      if (num !== undefined) args[i + 1] = String(num);
    }
  }
  return args.join(' ');
}

const BUILTIN_PROTOCOLS: ReadonlyMap<string, number> = new Map([
  ['icmp', 1],
  ['tcp', 6],
  ['udp', 17],
  ['ipv6-icmp', 58],
  ['icmpv6', 58],
]);

/** Compare what is installed with the plan: chains, each chain's rules in order, and the jumps (in any order). */
export function compareInstalled(plan: FamilyPlan, installed: InstalledFamily, protocols: ReadonlyMap<string, number>): FirewallCheck {
  const problems: string[] = [];
  const tag = plan.family;
  const norm = (l: string): string => normalizeLine(l, protocols);
  for (const c of plan.chains) if (!installed.chains.includes(c)) problems.push(`${tag}: chain ${c} is missing`);
  for (const c of installed.chains) if (!plan.chains.includes(c)) problems.push(`${tag}: unexpected chain ${c}`);
  const expectedRules = plan.rules.map((r) => norm(ruleLine(r)));
  const actualRules = installed.rules.map(norm);
  diff(expectedRules, actualRules, tag, problems);
  if (problems.length === 0 && expectedRules.some((l, i) => l !== actualRules[i])) {
    problems.push(`${tag}: sluice's rules are out of order`);
  }
  diff(plan.jumps.map((r) => norm(ruleLine(r))), installed.jumps.map(norm), tag, problems);
  return { intact: problems.length === 0, problems };
}

/** Multiset difference: each expected line missing, each actual line not expected (duplicates count). */
function diff(expected: string[], actual: string[], tag: string, problems: string[]): void {
  const left = [...actual];
  for (const e of expected) {
    const i = left.indexOf(e);
    if (i < 0) problems.push(`${tag}: missing ${e}`);
    else left.splice(i, 1);
  }
  for (const a of left) problems.push(`${tag}: unexpected ${a}`);
}

/** /etc/protocols text → name (and aliases) → number. */
export function parseProtocols(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const fields = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (fields.length < 2 || !/^\d+$/.test(fields[1])) continue;
    const num = Number(fields[1]);
    map.set(fields[0].toLowerCase(), num);
    for (const alias of fields.slice(2)) map.set(alias.toLowerCase(), num);
  }
  return map;
}
