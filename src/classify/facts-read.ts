/**
 * Which facts beyond the packet a configuration's rules read: the engine gathers a fact only for a
 * link direction whose rules read it (a process lookup, a country database, l7 detection), and
 * `sluice explain` opens the country database only when a rule reads the country. One answer for both.
 */
import { FLOW_COUNTER_ATTRIBUTES, INTERFACE_ATTRIBUTES } from './attributes.js';
import type { CompiledRule } from './compile.js';
import { GEO_ATTRIBUTES, KERNEL_OWNER_ATTRIBUTES, L7_ATTRIBUTES, OWNER_ATTRIBUTES } from './flow-facts.js';

export interface FactsRead {
  /** flow.bytes, flow.packets, flow.age or flow.rate. */
  flowCounters: boolean;
  /** iif or oif. */
  interfaces: boolean;
  l7: boolean;
  /** flow.entropy (most of l7 detection's cost). */
  entropy: boolean;
  owner: boolean;
  /** Owner attributes beyond what the kernel's uid and gid of a sent packet answer (a lookup is needed). */
  process: boolean;
  country: boolean;
}

/** What the rules (null: a class without one) read. */
export function factsRead(rules: Iterable<CompiledRule | null>): FactsRead {
  const used = new Set<string>();
  for (const r of rules) if (r !== null) for (const a of r.attributes) used.add(a);
  const reads = (names: ReadonlySet<string>): boolean => [...used].some((a) => names.has(a));
  return {
    flowCounters: reads(FLOW_COUNTER_ATTRIBUTES),
    interfaces: reads(INTERFACE_ATTRIBUTES),
    l7: reads(L7_ATTRIBUTES),
    entropy: used.has('flow.entropy'),
    owner: reads(OWNER_ATTRIBUTES),
    process: [...used].some((a) => OWNER_ATTRIBUTES.has(a) && !KERNEL_OWNER_ATTRIBUTES.has(a)),
    country: reads(GEO_ATTRIBUTES),
  };
}
