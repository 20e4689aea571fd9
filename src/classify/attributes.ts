/**
 * The attribute registry: every name a rule may use, with its type, its scope and an accessor that
 * reads it from a MatchContext. The parser knows no attribute; check.ts resolves names here, so the
 * process, user, country and layer-7 attributes of a later issue are added by registering them
 * (and filling MatchContext), not by touching the grammar.
 *
 * Accessors run per packet: they read plain fields and allocate nothing. Address attributes do not
 * return an address; they say where its bytes are (buffer, offset, IP version), so a prefix test
 * reads them in place (prefix.ts).
 *
 * Scope says how often a rule using the attribute must be evaluated:
 * - 'flow': the same for every packet of a connection in both directions, so a rule using only flow
 *   attributes is evaluated once per flow and the result cached (classifier.ts).
 * - 'packet': may change from packet to packet, so a rule using it is evaluated per packet.
 * `src`, `dst`, `sport`, `dport` and `direction` are packet scope even though a connection's
 * addresses never change: a reply carries them swapped, so they differ between the two directions
 * of one flow. The side-aware `laddr`, `raddr`, `lport`, `rport` (local = source on egress,
 * destination on ingress) are the same in both directions, hence flow scope, as are `proto` and
 * `ipv`. The `flow.*` figures grow over the flow's life, so they are packet scope too.
 */
import { Direction } from '../datapath/types.js';
import { Proto, TcpFlag } from '../packet/types.js';
import type { MatchContext } from './context.js';
import { registerFlowFacts } from './flow-facts.js';
import type { UnitKind } from './units.js';

export type AttrScope = 'packet' | 'flow';
export type AttrType = 'number' | 'string' | 'bool' | 'addr' | 'enum';

interface AttributeBase {
  /** Lower-case, dotted: `rport`, `tcp.syn`. */
  readonly name: string;
  readonly scope: AttrScope;
  /** One line for `sluice explain` and the docs. */
  readonly description: string;
  /**
   * For an attribute that may have no value (a process attribute of forwarded traffic, `l7` while
   * the protocol is pending): whether the flow in hand has one. A comparison on an absent value is
   * false whatever its operator (`user != "fred"` does not hold for forwarded traffic, nor
   * `l7 != "http"` while pending); a `not` written around the comparison negates that, as written.
   */
  readonly present?: (ctx: MatchContext) => boolean;
  /** The literal that names the absent state and so tests it, unguarded (`l7 == "pending"`). */
  readonly absentName?: string;
}

export interface NumberAttribute extends AttributeBase {
  readonly type: 'number';
  /** What a literal with a unit must measure (`flow.bytes > 10MB`); null for plain counts. */
  readonly unit: UnitKind | null;
  readonly read: (ctx: MatchContext) => number;
}

/** Names standing for numbers (`proto == "tcp"` is `proto == 6`); `numeric` allows bare numbers too. */
export interface EnumAttribute extends AttributeBase {
  readonly type: 'enum';
  /** Accepted names (lower case; rules match them case-insensitively) and their values. */
  readonly values: ReadonlyMap<string, number>;
  readonly numeric: boolean;
  readonly read: (ctx: MatchContext) => number;
}

export interface BoolAttribute extends AttributeBase {
  readonly type: 'bool';
  readonly read: (ctx: MatchContext) => boolean;
}

export interface StringAttribute extends AttributeBase {
  readonly type: 'string';
  readonly read: (ctx: MatchContext) => string;
  /**
   * For values of a fixed form (`cc`): the canonical form of a literal (`"sk"` → `"SK"`), or null
   * when it cannot be a value, so that a typo is an error at load time; `expects` says what is.
   */
  readonly canonical?: (literal: string) => string | null;
  readonly expects?: string;
}

export interface AddrAttribute extends AttributeBase {
  readonly type: 'addr';
  /** The buffer holding the address, its offset, and 4 or 6 for the address length (4 or 16 bytes). */
  readonly buf: (ctx: MatchContext) => Buffer;
  readonly offset: (ctx: MatchContext) => number;
  readonly ipVersion: (ctx: MatchContext) => number;
}

export type Attribute = NumberAttribute | EnumAttribute | BoolAttribute | StringAttribute | AddrAttribute;

const NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$/;
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false']);

export class AttributeRegistry {
  private readonly byName = new Map<string, Attribute>();

  /** Adds an attribute; throws when the name is taken or could not be written in a rule. */
  register(attr: Attribute): this {
    if (!NAME.test(attr.name) || KEYWORDS.has(attr.name)) throw new Error(`bad attribute name '${attr.name}'`);
    if (this.byName.has(attr.name)) throw new Error(`attribute '${attr.name}' is already registered`);
    this.byName.set(attr.name, attr);
    return this;
  }

  get(name: string): Attribute | undefined {
    return this.byName.get(name);
  }

  list(): readonly Attribute[] {
    return [...this.byName.values()];
  }

  /** A copy to register more attributes in without changing this one. */
  extend(): AttributeRegistry {
    const copy = new AttributeRegistry();
    for (const attr of this.byName.values()) copy.register(attr);
    return copy;
  }

  /** The registered name closest to `name` by edit distance, when close enough to be a typo. */
  suggest(name: string): string | null {
    let best: string | null = null;
    let bestDistance = Math.max(1, Math.min(2, Math.floor(name.length / 3)));
    for (const candidate of this.byName.keys()) {
      const d = editDistance(name, candidate);
      if (d <= bestDistance && (best === null || d < bestDistance)) {
        best = candidate;
        bestDistance = d;
      }
    }
    return best;
  }
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[i].push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i].push(d);
    }
  }
  return rows[a.length][b.length];
}

// ---- Accessors over PacketInfo (src/packet/types.ts). Plain functions: nothing captured. ----

// Enum members are copied into plain constants once: under tsx (esbuild, one file at a time) a
// `const enum` imported from another file is not inlined but read as an object property on every
// call, which measured 5-10x slower in tcp.pure_ack (bench/classify).
const EGRESS: number = Direction.EGRESS;
const TCP: number = Proto.TCP;
const ICMP: number = Proto.ICMP;
const ICMPV6: number = Proto.ICMPV6;
const ACK: number = TcpFlag.ACK;
const PURE_ACK_MASK: number = TcpFlag.ACK | TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST;

const pktBuf = (c: MatchContext): Buffer => c.pkt.buf;
const pktVersion = (c: MatchContext): number => c.pkt.ipVersion;
const isEgress = (c: MatchContext): boolean => c.direction === EGRESS;
const isIcmp = (c: MatchContext): boolean => c.pkt.hasL4 && (c.pkt.proto === ICMP || c.pkt.proto === ICMPV6);

const TCP_FLAGS: ReadonlyArray<readonly [string, number]> = [
  ['fin', TcpFlag.FIN],
  ['syn', TcpFlag.SYN],
  ['rst', TcpFlag.RST],
  ['psh', TcpFlag.PSH],
  ['ack', TcpFlag.ACK],
  ['urg', TcpFlag.URG],
  ['ece', TcpFlag.ECE],
  ['cwr', TcpFlag.CWR],
];

/** DSCP names (RFC 2474 class selectors, RFC 2597 AF, RFC 3246 EF, RFC 8622 LE, RFC 5865 VA). */
function dscpNames(): Map<string, number> {
  const names = new Map<string, number>([
    ['be', 0],
    ['df', 0],
    ['le', 1],
    ['ef', 46],
    ['va', 44],
  ]);
  for (let n = 0; n < 8; n++) names.set(`cs${n}`, 8 * n);
  for (let x = 1; x <= 4; x++) for (let y = 1; y <= 3; y++) names.set(`af${x}${y}`, 8 * x + 2 * y);
  return names;
}

type Read<T> = (c: MatchContext) => T;

function num(name: string, scope: AttrScope, unit: UnitKind | null, description: string, read: Read<number>): NumberAttribute {
  return { name, type: 'number', scope, unit, description, read };
}

function enumeration(name: string, scope: AttrScope, values: Array<[string, number]>, numeric: boolean, description: string, read: Read<number>): EnumAttribute {
  return { name, type: 'enum', scope, values: new Map(values), numeric, description, read };
}

function addr(name: string, scope: AttrScope, description: string, offset: Read<number>): AddrAttribute {
  return { name, type: 'addr', scope, description, buf: pktBuf, ipVersion: pktVersion, offset };
}

/**
 * The attributes that read the flow's counters in MatchContext (flowBytes, flowPackets, flowAgeUs,
 * flowRateBps). Filling those fields costs memory reads per packet, so the engine fills them only
 * when some rule uses one of these.
 */
export const FLOW_COUNTER_ATTRIBUTES: ReadonlySet<string> = new Set(['flow.bytes', 'flow.packets', 'flow.age', 'flow.rate']);
/** The attributes that read interface names (filled only for rules that use them, like the counters). */
export const INTERFACE_ATTRIBUTES: ReadonlySet<string> = new Set(['iif', 'oif']);

/** Registers the attributes read from the packet and the flow counters. */
export function registerPacketAttributes(r: AttributeRegistry): AttributeRegistry {
  for (const [flag, bit] of TCP_FLAGS) {
    const description = `TCP ${flag.toUpperCase()} flag set (false for other protocols)`;
    r.register({ name: `tcp.${flag}`, type: 'bool', scope: 'packet', description, read: (c) => (c.pkt.tcpFlags & bit) !== 0 });
  }
  r.register({
    name: 'tcp.pure_ack',
    type: 'bool',
    scope: 'packet',
    description: 'TCP segment with ACK set, no SYN, FIN or RST, and no payload',
    read: (c) => c.pkt.proto === TCP && c.pkt.hasL4 && (c.pkt.tcpFlags & PURE_ACK_MASK) === ACK && c.pkt.payloadBytes === 0,
  });
  r.register(num('icmp.type', 'packet', null, 'ICMP or ICMPv6 type; -1 for other packets', (c) => (isIcmp(c) ? c.pkt.icmpType : -1)));
  r.register(num('icmp.code', 'packet', null, 'ICMP or ICMPv6 code; -1 for other packets', (c) => (isIcmp(c) ? c.pkt.icmpCode : -1)));
  r.register(enumeration('dscp', 'packet', [...dscpNames()], true, 'DSCP, 0..63, or a name: ef, af11..af43, cs0..cs7, le, va, be', (c) => c.pkt.dscp));
  const ecnNames: Array<[string, number]> = [['not-ect', 0], ['ect1', 1], ['ect0', 2], ['ce', 3]];
  r.register(enumeration('ecn', 'packet', ecnNames, true, 'ECN field, 0..3, or not-ect, ect1, ect0, ce', (c) => c.pkt.ecn));
  r.register(num('length', 'packet', 'size', 'IP packet length, bytes', (c) => c.pkt.ipBytes));
  r.register(num('ttl', 'packet', null, 'IPv4 TTL or IPv6 hop limit', (c) => c.pkt.ttl));
  r.register(num('mark', 'packet', null, "the packet's firewall mark as it arrived (compare bits with mark in [...] or ==)", (c) => c.mark));
  r.register({ name: 'iif', type: 'string', scope: 'packet', description: 'interface the packet came in by ("" when this host sent it)', read: (c) => c.iif });
  r.register({ name: 'oif', type: 'string', scope: 'packet', description: 'interface the packet goes out by ("" when it is for this host)', read: (c) => c.oif });

  const directions: Array<[string, number]> = [['egress', Direction.EGRESS], ['ingress', Direction.INGRESS]];
  r.register(enumeration('direction', 'packet', directions, false, 'egress (leaving by the link) or ingress (arriving)', (c) => c.direction));
  r.register(addr('src', 'packet', 'source address of this packet', (c) => c.pkt.srcOffset));
  r.register(addr('dst', 'packet', 'destination address of this packet', (c) => c.pkt.dstOffset));
  r.register(num('sport', 'packet', null, 'source port of this packet (0 without ports)', (c) => c.pkt.sport));
  r.register(num('dport', 'packet', null, 'destination port of this packet (0 without ports)', (c) => c.pkt.dport));

  const protos: Array<[string, number]> = [['icmp', Proto.ICMP], ['tcp', Proto.TCP], ['udp', Proto.UDP], ['icmpv6', Proto.ICMPV6]];
  r.register(enumeration('proto', 'flow', protos, true, 'transport protocol: tcp, udp, icmp, icmpv6 or a number', (c) => c.pkt.proto));
  r.register(num('ipv', 'flow', null, 'IP version, 4 or 6', (c) => c.pkt.ipVersion));
  r.register(addr('laddr', 'flow', 'local address (source on egress, destination on ingress)', (c) => (isEgress(c) ? c.pkt.srcOffset : c.pkt.dstOffset)));
  r.register(addr('raddr', 'flow', 'remote address (destination on egress, source on ingress)', (c) => (isEgress(c) ? c.pkt.dstOffset : c.pkt.srcOffset)));
  r.register(num('lport', 'flow', null, 'local port (source on egress, destination on ingress)', (c) => (isEgress(c) ? c.pkt.sport : c.pkt.dport)));
  r.register(num('rport', 'flow', null, 'remote port (destination on egress, source on ingress)', (c) => (isEgress(c) ? c.pkt.dport : c.pkt.sport)));

  r.register(num('flow.bytes', 'packet', 'size', 'bytes the flow has carried so far', (c) => c.flowBytes));
  r.register(num('flow.packets', 'packet', null, 'packets the flow has carried so far', (c) => c.flowPackets));
  r.register(num('flow.age', 'packet', 'duration', "time since the flow's first packet, µs", (c) => c.flowAgeUs));
  r.register(num('flow.rate', 'packet', 'rate', "average rate since the flow's first packet, bits/s", (c) => c.flowRateBps));
  return r;
}

/** The registry rules compile against unless the caller passes another: packet, flow counter and flow fact attributes. */
export const defaultAttributes: AttributeRegistry = registerFlowFacts(registerPacketAttributes(new AttributeRegistry()));
