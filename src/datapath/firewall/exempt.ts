/**
 * Translates one exemption (protocol, address and port conditions from the restricted rule
 * language) into iptables match arguments for one chain direction and one IP family. Pure.
 *
 * Sides: local is this host or the LAN host behind it. On egress (packets leaving through the
 * link) local is the source; on ingress (packets arriving from the link) local is the destination.
 * So `lport == 22` is `--sport 22` on egress and `--dport 22` on ingress: ssh to the box is exempt
 * both ways.
 *
 * Families: an address condition belongs to one family, and the rule is left out of the other
 * family's plan; so are 'icmp' (protocol 1, IPv4) in ip6tables and 'icmpv6' (58) in iptables, as in
 * the classifier, where proto == "icmp" never matches an ICMPv6 packet. A port condition without a
 * protocol becomes two rules, tcp and udp (iptables needs -p for a port match).
 */
import { parseCidr } from './address.js';
import { FirewallError } from './errors.js';
import type { ExemptRule, IpFamily, PortSpec } from './types.js';

export type ChainDirection = 'egress' | 'ingress';

interface ProtoSpec {
  /** What iptables -S prints after -p. */
  name: string;
  /** The family it exists in, or null for both. */
  family: IpFamily | null;
  /** tcp or udp: port matches are allowed. */
  ports: boolean;
}

function protoSpec(proto: NonNullable<ExemptRule['proto']>): ProtoSpec {
  switch (proto) {
    case 'tcp':
    case 6:
      return { name: 'tcp', family: null, ports: true };
    case 'udp':
    case 17:
      return { name: 'udp', family: null, ports: true };
    case 'icmp':
    case 1:
      return { name: 'icmp', family: 'ipv4', ports: false };
    case 'icmpv6':
    case 58:
      return { name: 'ipv6-icmp', family: 'ipv6', ports: false };
    default:
      if (typeof proto === 'number' && Number.isInteger(proto) && proto >= 1 && proto <= 255) {
        return { name: String(proto), family: null, ports: false };
      }
      throw new FirewallError('invalid', `protocol ${JSON.stringify(proto)} is not tcp, udp, icmp, icmpv6 or a number 1-255`);
  }
}

function portText(spec: PortSpec, what: string): string {
  const [lo, hi] = typeof spec === 'number' ? [spec, spec] : spec;
  const ok = (p: number): boolean => Number.isInteger(p) && p >= 0 && p <= 65535;
  if (!ok(lo) || !ok(hi) || lo > hi) {
    throw new FirewallError('invalid', `${what} ${JSON.stringify(spec)} is not a port 0-65535 or a range [lo, hi] with lo <= hi`);
  }
  return lo === hi ? String(lo) : `${lo}:${hi}`;
}

/**
 * The match arguments for `rule` in a chain of `direction`, in `iptables -S` order
 * (-s, -d, -p, -m tcp|udp --sport --dport): zero lists when the rule belongs to the other family,
 * two when ports without a protocol stand for tcp and udp, else one. Throws FirewallError('invalid').
 */
export function exemptMatches(rule: ExemptRule, direction: ChainDirection, family: IpFamily): string[][] {
  const hasPorts = rule.lport !== undefined || rule.rport !== undefined;
  if (rule.proto === undefined && !hasPorts && rule.laddr === undefined && rule.raddr === undefined) {
    throw new FirewallError('invalid', 'an exemption with no condition would exempt all traffic');
  }
  const laddr = rule.laddr === undefined ? null : parseCidr(rule.laddr);
  const raddr = rule.raddr === undefined ? null : parseCidr(rule.raddr);
  if (laddr && raddr && laddr.family !== raddr.family) {
    throw new FirewallError('invalid', `laddr ${rule.laddr} and raddr ${rule.raddr} are of different families: the exemption could never match`);
  }
  const protos = rule.proto !== undefined ? [protoSpec(rule.proto)] : hasPorts ? [protoSpec('tcp'), protoSpec('udp')] : [];
  for (const p of protos) {
    if (hasPorts && !p.ports) throw new FirewallError('invalid', `port conditions need proto tcp or udp, not ${p.name}`);
  }
  const lport = rule.lport === undefined ? null : portText(rule.lport, 'lport');
  const rport = rule.rport === undefined ? null : portText(rule.rport, 'rport');
  const addrFamily = laddr?.family ?? raddr?.family ?? null;
  if (addrFamily && protos.length === 1 && protos[0].family && protos[0].family !== addrFamily) {
    throw new FirewallError('invalid', `protocol ${protos[0].name} does not exist in ${addrFamily}: the exemption could never match`);
  }
  if (addrFamily !== null && addrFamily !== family) return [];

  const egress = direction === 'egress';
  const src = egress ? laddr : raddr;
  const dst = egress ? raddr : laddr;
  const sport = egress ? lport : rport;
  const dport = egress ? rport : lport;
  const addrArgs: string[] = [];
  if (src) addrArgs.push('-s', src.text);
  if (dst) addrArgs.push('-d', dst.text);
  if (protos.length === 0) return [addrArgs];
  const out: string[][] = [];
  for (const p of protos) {
    if (p.family !== null && p.family !== family) continue;
    const args = [...addrArgs, '-p', p.name];
    if (hasPorts) {
      args.push('-m', p.name);
      if (sport !== null) args.push('--sport', sport);
      if (dport !== null) args.push('--dport', dport);
    }
    out.push(args);
  }
  return out;
}
