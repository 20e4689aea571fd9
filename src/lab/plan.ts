/**
 * The lab's shape, worked out before anything is created: a pure function from the description
 * (hosts, links, who forwards, who routes through whom) to the namespaces, interface names, addresses
 * and default routes to make. Every mistake in the description is found here, as one clear error,
 * before the first namespace exists.
 *
 * Addresses exist only inside the lab's namespaces: link i (counting from 0) gets subnet n = i + 1,
 * 10.200.n.0/24 and fd00:200:n::/64 with n in hex (private and unique-local ranges; n starts at 1 so
 * the IPv6 strings are in canonical form), side a ends in 1 and side b in 2. Interfaces are named eth0,
 * eth1, ... per host in the order of its links, unless the link names them.
 */
import { checkWord, netnsName } from './names.js';
import { checkIfName } from './netns.js';

export interface HostSpec {
  /** Lower-case letters and digits, e.g. "client"; also the last part of the namespace name. */
  name: string;
  /** Turn on IPv4 and IPv6 forwarding (a router). */
  forward?: boolean;
  /** Route everything not on a directly connected link through this neighbouring host. */
  gateway?: string;
}

export interface LinkSpec {
  a: string;
  b: string;
  /** Interface name on host a (default eth<k>, k counting a's links). */
  devA?: string;
  devB?: string;
  /** MTU of both ends (default: the veth default, 1500). */
  mtu?: number;
}

export interface LabSpec {
  /** A short label inside the namespace names, e.g. "demo" → sl-demo-PID-TAG-client. */
  name?: string;
  /** Namespace name prefix (default "sl-"); Lab.cleanupStale takes the same one. */
  prefix?: string;
  hosts: HostSpec[];
  links: LinkSpec[];
}

/** One end of a veth pair as built: where it is and what it is called and numbered. */
export interface LabEnd {
  host: string;
  netns: string;
  dev: string;
  /** The address alone ("10.200.1.1", "fd00:200:1::1") and with its prefix length. */
  ipv4: string;
  ipv6: string;
  ipv4Cidr: string;
  ipv6Cidr: string;
}

export interface LabLink {
  a: LabEnd;
  b: LabEnd;
  mtu: number | undefined;
}

export interface PlannedHost {
  name: string;
  netns: string;
  forward: boolean;
  /** The neighbour's ends this host's default routes go through, or null. */
  gateway: { via4: string; via6: string; dev: string } | null;
}

export interface LabPlan {
  hosts: PlannedHost[];
  links: LabLink[];
}

const MAX_LINKS = 250;

function end(labId: string, host: string, dev: string, linkIndex: number, side: 1 | 2): LabEnd {
  const n = linkIndex + 1;
  return {
    host,
    netns: netnsName(labId, host),
    dev,
    ipv4: `10.200.${n}.${side}`,
    ipv6: `fd00:200:${n.toString(16)}::${side}`,
    ipv4Cidr: `10.200.${n}.${side}/24`,
    ipv6Cidr: `fd00:200:${n.toString(16)}::${side}/64`,
  };
}

export function planLab(spec: LabSpec, labId: string): LabPlan {
  if (spec.hosts.length === 0) throw new Error('a lab needs at least one host');
  if (spec.links.length > MAX_LINKS) throw new Error(`a lab has at most ${MAX_LINKS} links, not ${spec.links.length}`);
  const names = new Set<string>();
  for (const h of spec.hosts) {
    checkWord('host name', h.name);
    if (names.has(h.name)) throw new Error(`host "${h.name}" is listed twice`);
    names.add(h.name);
  }
  const devCount = new Map<string, number>();
  const devsOf = new Map<string, Set<string>>();
  const nextDev = (host: string, given: string | undefined): string => {
    const k = devCount.get(host) ?? 0;
    devCount.set(host, k + 1);
    const dev = given ?? `eth${k}`;
    checkIfName(dev);
    const used = devsOf.get(host) ?? new Set<string>();
    if (used.has(dev)) throw new Error(`host "${host}" would have two interfaces named ${dev}`);
    used.add(dev);
    devsOf.set(host, used);
    return dev;
  };
  const links = spec.links.map((l, i): LabLink => {
    for (const h of [l.a, l.b]) if (!names.has(h)) throw new Error(`link ${i} names host "${h}", which is not in the lab`);
    if (l.a === l.b) throw new Error(`link ${i} joins host "${l.a}" to itself`);
    if (l.mtu !== undefined && !(Number.isInteger(l.mtu) && l.mtu >= 1280 && l.mtu <= 65535)) {
      throw new Error(`link ${i} has MTU ${l.mtu}: use a whole number from 1280 (IPv6's minimum) to 65535`);
    }
    return { a: end(labId, l.a, nextDev(l.a, l.devA), i, 1), b: end(labId, l.b, nextDev(l.b, l.devB), i, 2), mtu: l.mtu };
  });
  const hosts = spec.hosts.map((h): PlannedHost => {
    let gateway: PlannedHost['gateway'] = null;
    if (h.gateway !== undefined) {
      const link = links.find((l) => (l.a.host === h.name && l.b.host === h.gateway) || (l.b.host === h.name && l.a.host === h.gateway));
      if (!link) throw new Error(`host "${h.name}" routes through "${h.gateway}", but no link joins them`);
      const [mine, theirs] = link.a.host === h.name ? [link.a, link.b] : [link.b, link.a];
      gateway = { via4: theirs.ipv4, via6: theirs.ipv6, dev: mine.dev };
    }
    return { name: h.name, netns: netnsName(labId, h.name), forward: h.forward ?? false, gateway };
  });
  return { hosts, links };
}

/** Two hosts joined by one veth pair. */
export const PAIR: LabSpec = {
  hosts: [{ name: 'client' }, { name: 'server' }],
  links: [{ a: 'client', b: 'server' }],
};

/** Three hosts in a line, client — router — server, the router forwarding and the others routing through it. */
export const LINE: LabSpec = {
  hosts: [{ name: 'client', gateway: 'router' }, { name: 'router', forward: true }, { name: 'server', gateway: 'router' }],
  links: [
    { a: 'client', b: 'router' },
    { a: 'router', b: 'server' },
  ],
};
