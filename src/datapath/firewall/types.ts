/**
 * The firewall rule manager's contract: what sluice wants queued (a description built from the
 * configuration), and the plan of iptables rules that does it, per IP family. The planner
 * (plan.ts) is pure; the applier (iptables.ts) installs, verifies and removes a plan.
 */

export type IpFamily = 'ipv4' | 'ipv6';

/** A port, or an inclusive range [lo, hi]. */
export type PortSpec = number | readonly [number, number];

/**
 * An exemption (traffic that never enters the queue), already parsed from the restricted rule
 * language (`proto == "tcp" and lport == 22`). local/remote are the sides as the classifier sees
 * them: local is this host or the LAN host behind it, remote is the far end. So on egress local is
 * the source, on ingress the destination. Addresses are CIDR strings ("10.0.0.0/8", "2001:db8::/32",
 * or a bare address). `proto` names follow the classifier: 'icmp' is protocol 1 (IPv4 only),
 * 'icmpv6' protocol 58 (IPv6 only).
 */
export interface ExemptRule {
  proto?: 'tcp' | 'udp' | 'icmp' | 'icmpv6' | number;
  lport?: PortSpec;
  rport?: PortSpec;
  laddr?: string;
  raddr?: string;
}

/** One link sluice shapes, and in which directions its packets must be queued. */
export interface FirewallLink {
  interface: string;
  egress: boolean;
  ingress: boolean;
}

export interface FirewallDescription {
  /** One queue (first === last) or a range spread with --queue-balance. */
  queues: { first: number; last: number };
  /** true: --queue-bypass, traffic flows unshaped while no process is bound to the queue. */
  failOpen: boolean;
  /** Packets carrying exactly this mark never enter the queue; null for no bypass mark. */
  bypassMark: number | null;
  links: readonly FirewallLink[];
  exempt: readonly ExemptRule[];
}

/**
 * One rule: `-A chain args...`. args are in the order `iptables -S` prints them (addresses,
 * interfaces, protocol, matches, target), so a read-back compares token for token.
 */
export interface PlannedRule {
  chain: string;
  args: readonly string[];
}

export interface FamilyPlan {
  family: IpFamily;
  /** sluice's own chains, created (or flushed) by an install. */
  chains: readonly string[];
  /** The contents of sluice's chains, in order. */
  rules: readonly PlannedRule[];
  /** Jumps from the built-in hooks into sluice's chains, appended to those hooks. */
  jumps: readonly PlannedRule[];
}

export interface FirewallPlan {
  table: 'mangle';
  ipv4: FamilyPlan;
  ipv6: FamilyPlan;
}

/** What `iptables -t mangle -S` shows of sluice, for one family. Lines are verbatim `-A ...` lines. */
export interface InstalledFamily {
  family: IpFamily;
  /** Chains named SLUICE-*. */
  chains: string[];
  /** Rules inside those chains, in order. */
  rules: string[];
  /** Rules elsewhere that jump to a sluice chain or carry sluice's comment. */
  jumps: string[];
}

export interface InstalledFirewall {
  ipv4: InstalledFamily | null;
  ipv6: InstalledFamily | null;
}

/** The outcome of comparing what is installed with a plan (the daemon's periodic check). */
export interface FirewallCheck {
  intact: boolean;
  /** One line per difference, e.g. "ipv4: missing -A POSTROUTING -o eth0 ... -j SLUICE-EGRESS". */
  problems: string[];
}
