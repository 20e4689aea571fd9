/**
 * `datapath.exempt` rule strings → the firewall's ExemptRule objects (datapath/firewall/types.ts).
 * Like resolve.ts for the schedulers, this is the control layer translating what a person wrote into
 * a subsystem's contract; the firewall itself knows nothing of the rule language.
 *
 * An exemption becomes iptables RETURN rules, and a list of RETURN rules can only say "skip packets
 * matching A, or B, or C", each a conjunction of ==-conditions. So a rule is parsed (classify's
 * parser, and type-checked by its checker; nothing is evaluated) and rewritten in disjunctive normal
 * form: `or` gives several ExemptRules, `and` the fields of one, `x in [a, b, lo..hi]` one rule per
 * item (ranges become [lo, hi]), `addr in 10.0.0.0/8` a CIDR. Two conditions on one field in a
 * conjunction are intersected (`lport in 1000..2000 and lport == 1500` is lport 1500); when the
 * intersection is empty the rule is refused as a mistake.
 *
 * Refused, each with a RuleError pointing at the offending part: `not`, `not in`, `!=` and the
 * orderings (RETURN rules cannot say "all but"; ranges are written `a..b`), the direction-bound
 * src/dst/sport/dport (the planner is side-aware: write laddr/raddr/lport/rport), any attribute
 * beyond proto, ipv, laddr, raddr, lport, rport, and `ipv` alone (iptables and ip6tables receive the
 * same exemptions; `ipv` is accepted only beside an address or icmp/icmpv6 that already pins the
 * family). A rule expanding to more than MAX_EXEMPT_RULES rules is refused too. Finally each rule
 * goes through the planner's own translation (exemptMatches) so `sluice check` refuses everything
 * `sluice run` would.
 */
import type { AttrRef, Expr, Literal, SetItem } from '../classify/ast.js';
import { defaultAttributes, type EnumAttribute } from '../classify/attributes.js';
import { check } from '../classify/check.js';
import { RuleError, RuleFault, type RuleOrigin } from '../classify/errors.js';
import { parse } from '../classify/parser.js';
import { exemptMatches } from '../datapath/firewall/exempt.js';
import { FirewallError } from '../datapath/firewall/errors.js';
import type { ExemptRule } from '../datapath/firewall/types.js';
import { formatAddress } from '../packet/addr.js';

/** The most ExemptRules one rule string may expand to (each becomes up to four iptables rules). */
export const MAX_EXEMPT_RULES = 256;

export interface ExemptSource {
  source: string;
  origin: RuleOrigin;
}

const FIELDS = ['proto', 'ipv', 'laddr', 'raddr', 'lport', 'rport'] as const;
type Field = (typeof FIELDS)[number];

/** The side-aware attribute to write instead of each direction-bound one. */
const SIDE_AWARE: Readonly<Record<string, string>> = { src: 'laddr', dst: 'raddr', sport: 'lport', dport: 'rport' };

const CAN_EXPRESS = 'an exemption is ==, in [list] or a..b conditions joined by and/or';

interface Prefix {
  bytes: Buffer;
  prefixLen: number;
}

/** One ==-condition of a conjunction, with the text and offset it was written at. */
interface Atom {
  field: Field;
  /** proto and ipv: [n, n]; ports: [lo, hi]. */
  range: [number, number];
  prefix: Prefix | null;
  text: string;
  offset: number;
}

/** A disjunction of conjunctions. */
type Dnf = Atom[][];

/**
 * The ExemptRules of every source, in order. Throws RuleError (naming the source's origin) at the
 * first rule that an iptables exemption cannot express.
 */
export function exemptRulesFrom(sources: readonly ExemptSource[]): ExemptRule[] {
  const out: ExemptRule[] = [];
  for (const { source, origin } of sources) {
    try {
      out.push(...convert(source));
    } catch (err) {
      if (err instanceof RuleFault) throw new RuleError(err.code, err.reason, err.expected, source, err.offset, origin);
      throw err;
    }
  }
  return out;
}

function convert(source: string): ExemptRule[] {
  const expr = parse(source);
  check(expr, defaultAttributes);
  const dnf = expand(expr);
  if (dnf.length === 0) {
    throw new RuleFault('type', 'this exemption can never match anything — remove it', CAN_EXPRESS, expr.offset);
  }
  const seen = new Set<string>();
  const rules: ExemptRule[] = [];
  for (const conj of dnf) {
    const rule = toRule(conj, expr.offset);
    const key = JSON.stringify(rule);
    if (seen.has(key)) continue;
    seen.add(key);
    rules.push(rule);
  }
  return rules;
}

function unsupported(reason: string, offset: number): RuleFault {
  return new RuleFault('type', `${reason} (${CAN_EXPRESS})`, CAN_EXPRESS, offset);
}

function tooMany(count: number, offset: number): RuleFault {
  return new RuleFault(
    'type',
    `this exemption expands to ${count} iptables exemptions, more than ${MAX_EXEMPT_RULES} — use ranges a..b or prefixes instead of long lists`,
    `at most ${MAX_EXEMPT_RULES} combinations`,
    offset,
  );
}

function expand(e: Expr): Dnf {
  switch (e.kind) {
    case 'const':
      return e.value ? [[]] : [];
    case 'or': {
      const out = [...expand(e.left), ...expand(e.right)];
      if (out.length > MAX_EXEMPT_RULES) throw tooMany(out.length, e.offset);
      return out;
    }
    case 'and': {
      const left = expand(e.left);
      const right = expand(e.right);
      if (left.length * right.length > MAX_EXEMPT_RULES) throw tooMany(left.length * right.length, e.offset);
      return left.flatMap((a) => right.map((b) => [...a, ...b]));
    }
    case 'not':
      throw unsupported("'not' cannot be an exemption: iptables RETURN rules list what to skip, not what to keep", e.offset);
    case 'attr':
    case 'match':
      throw unsupported(`'${field(e.attr)}' cannot be tested this way in an exemption`, e.offset);
    case 'compare': {
      const f = field(e.attr);
      if (e.op !== '==') {
        const hint = e.op === '!=' ? 'iptables RETURN rules list what to skip, not what to keep' : `write a range, e.g. ${f} in 1024..65535`;
        throw unsupported(`'${e.op}' cannot be an exemption: ${hint}`, e.offset);
      }
      return [[atom(f, { lo: e.value, hi: null })]];
    }
    case 'in': {
      const f = field(e.attr);
      if (e.negated) throw unsupported("'not in' cannot be an exemption: iptables RETURN rules list what to skip, not what to keep", e.offset);
      if (e.items.length > MAX_EXEMPT_RULES) throw tooMany(e.items.length, e.offset);
      return e.items.map((item) => [atom(f, item)]);
    }
  }
}

/** The attribute as an exemption field; refuses the direction-bound ones and any other attribute. */
function field(attr: AttrRef): Field {
  const side = SIDE_AWARE[attr.name];
  if (side !== undefined) {
    throw new RuleFault(
      'type',
      `'${attr.name}' holds in one direction only; exemptions are written with laddr/raddr/lport/rport, which hold in both directions — write ${side} instead of ${attr.name}`,
      `'${side}'`,
      attr.offset,
    );
  }
  if (!(FIELDS as readonly string[]).includes(attr.name)) {
    throw new RuleFault('type', `an exempt rule may use only ${FIELDS.join(', ')}; not '${attr.name}'`, FIELDS.join(', '), attr.offset);
  }
  return attr.name as Field;
}

function atom(f: Field, item: SetItem): Atom {
  const text = item.hi === null ? item.lo.text : `${item.lo.text}..${item.hi.text}`;
  const offset = item.lo.offset;
  if (f === 'laddr' || f === 'raddr') {
    // check() has made sure the value is an address or prefix, not a range.
    const lit = item.lo as Literal & { kind: 'addr' };
    return { field: f, range: [0, 0], prefix: { bytes: lit.bytes, prefixLen: lit.prefixLen ?? lit.bytes.length * 8 }, text, offset };
  }
  if (f === 'proto' || f === 'ipv') {
    if (item.hi !== null) throw unsupported(`a range of ${f === 'proto' ? 'protocols' : 'IP versions'} cannot be an exemption: list them, as in [${item.lo.text}, …]`, offset);
    const n = f === 'proto' ? protoNumber(item.lo) : (item.lo as Literal & { kind: 'number' }).value;
    if (f === 'proto' && !(Number.isInteger(n) && n >= 1 && n <= 255)) {
      throw new RuleFault('literal', `protocol ${item.lo.text} is not tcp, udp, icmp, icmpv6 or a number 1-255`, 'a protocol', offset);
    }
    if (f === 'ipv' && n !== 4 && n !== 6) throw new RuleFault('literal', `ipv is 4 or 6, not ${item.lo.text}`, '4 or 6', offset);
    return { field: f, range: [n, n], prefix: null, text, offset };
  }
  const lo = port(item.lo);
  const hi = item.hi === null ? lo : port(item.hi);
  return { field: f, range: [lo, hi], prefix: null, text, offset };
}

function protoNumber(lit: Literal): number {
  if (lit.kind === 'number') return lit.value;
  const attr = defaultAttributes.get('proto') as EnumAttribute;
  // check() has accepted the name.
  return attr.values.get((lit as Literal & { kind: 'string' }).value.toLowerCase()) as number;
}

function port(lit: Literal): number {
  const n = (lit as Literal & { kind: 'number' }).value;
  if (!(Number.isInteger(n) && n >= 0 && n <= 65535)) throw new RuleFault('literal', `${lit.text} is not a port 0-65535`, 'a port 0-65535', lit.offset);
  return n;
}

const PROTO_NAMES: ReadonlyMap<number, 'tcp' | 'udp' | 'icmp' | 'icmpv6'> = new Map([[6, 'tcp'], [17, 'udp'], [1, 'icmp'], [58, 'icmpv6']]);
/** The family each name pins, as ipv. */
const PROTO_FAMILY: ReadonlyMap<number, number> = new Map([[1, 4], [58, 6]]);

/** Merges one conjunction into an ExemptRule; refuses contradictions and what the planner refuses. */
function toRule(conj: readonly Atom[], ruleOffset: number): ExemptRule {
  const merged = new Map<Field, Atom>();
  for (const a of conj) {
    const prev = merged.get(a.field);
    merged.set(a.field, prev === undefined ? a : intersect(prev, a));
  }
  const rule: ExemptRule = {};
  const proto = merged.get('proto');
  if (proto !== undefined) rule.proto = PROTO_NAMES.get(proto.range[0]) ?? proto.range[0];
  for (const f of ['lport', 'rport'] as const) {
    const a = merged.get(f);
    if (a !== undefined) rule[f] = a.range[0] === a.range[1] ? a.range[0] : [a.range[0], a.range[1]];
  }
  for (const f of ['laddr', 'raddr'] as const) {
    const a = merged.get(f);
    if (a?.prefix) rule[f] = cidrText(a.prefix);
  }
  // ipv is kept out of the rule: it must repeat the family an address or icmp/icmpv6 already pins.
  const ipv = merged.get('ipv');
  if (ipv !== undefined) {
    const pinnedBy = merged.get('laddr') ?? merged.get('raddr') ?? (proto && PROTO_FAMILY.has(proto.range[0]) ? proto : undefined);
    if (pinnedBy === undefined) {
      throw unsupported(`'ipv == ${ipv.text}' alone cannot be an exemption: iptables and ip6tables get the same exemptions — add laddr or raddr of that family`, ipv.offset);
    }
    if (familyOf(pinnedBy) !== ipv.range[0]) contradiction(pinnedBy, ipv);
  }
  // The planner's own checks: ports need tcp or udp, families must agree, some condition is needed.
  const offset = conj[0]?.offset ?? ruleOffset;
  try {
    for (const direction of ['egress', 'ingress'] as const) {
      for (const family of ['ipv4', 'ipv6'] as const) exemptMatches(rule, direction, family);
    }
  } catch (err) {
    if (err instanceof FirewallError) throw new RuleFault('type', err.message, CAN_EXPRESS, offset);
    throw err;
  }
  return rule;
}

function familyOf(a: Atom): number {
  if (a.prefix !== null) return a.prefix.bytes.length === 4 ? 4 : 6;
  return a.field === 'ipv' ? a.range[0] : (PROTO_FAMILY.get(a.range[0]) ?? 0);
}

function contradiction(a: Atom, b: Atom): never {
  const what = a.field === b.field ? `${a.field} cannot be both ${a.text} and ${b.text}` : `${a.field} ${a.text} and ${b.field} ${b.text} cannot hold together`;
  throw new RuleFault('type', `${what}, so this exemption never matches — did you mean 'or'?`, "'or'", b.offset);
}

/** Two conditions on one field, as one: the overlap of ranges, the narrower of nested prefixes. */
function intersect(a: Atom, b: Atom): Atom {
  if (a.prefix !== null && b.prefix !== null) {
    if (contains(a.prefix, b.prefix)) return b;
    if (contains(b.prefix, a.prefix)) return a;
    contradiction(a, b);
  }
  const lo = Math.max(a.range[0], b.range[0]);
  const hi = Math.min(a.range[1], b.range[1]);
  if (lo > hi) contradiction(a, b);
  const text = lo === hi ? String(lo) : `${lo}..${hi}`;
  return { ...a, range: [lo, hi], text };
}

function contains(outer: Prefix, inner: Prefix): boolean {
  if (outer.bytes.length !== inner.bytes.length || outer.prefixLen > inner.prefixLen) return false;
  for (let bit = 0; bit < outer.prefixLen; bit++) {
    const mask = 0x80 >> (bit & 7);
    if ((outer.bytes[bit >> 3] & mask) !== (inner.bytes[bit >> 3] & mask)) return false;
  }
  return true;
}

function cidrText(p: Prefix): string {
  return `${formatAddress(p.bytes, 0, p.bytes.length === 4 ? 4 : 16)}/${p.prefixLen}`;
}
