/**
 * Explaining a classification, for `sluice explain`: given a class tree and one packet in a
 * MatchContext, which classes were tried in order, which parts of each rule held, whether each rule
 * is decided once per flow or per packet, and the class chosen. Pure: no I/O, and not for the
 * packet path (it allocates freely).
 *
 * No second implementation of the semantics: every part of a rule is compiled from the rule's own
 * syntax tree with compileExpr (compile.ts), the very code that compiles whole rules, and values
 * are read with the registry's accessors. The walk mirrors Classifier.walkFrom step by step, and
 * the result is checked against Classifier itself (classify, and the flow/packet split through
 * classifyFlow and classifyPacket), so an explanation can never disagree with what the engine does.
 */
import type { Expr, SetItem } from './ast.js';
import type { AttrScope, AttributeRegistry } from './attributes.js';
import { defaultAttributes } from './attributes.js';
import { Classifier, type ClassRule } from './classifier.js';
import { compileExpr, compileRule } from './compile.js';
import type { MatchContext } from './context.js';
import type { RuleOrigin } from './errors.js';
import { parse } from './parser.js';
import { formatAddress } from '../packet/addr.js';

/** One class as the configuration resolves it (control/resolve.ts), in tree order. */
export interface ExplainClass {
  path: string;
  /** Index of the parent, -1 at the top. */
  parent: number;
  isLeaf: boolean;
  /** Rule source, or null for a class every packet reaching it matches. */
  match: string | null;
  matchOrigin?: RuleOrigin | null;
}

/** One part of a rule and whether it held for the packet. */
export type RulePart =
  | { kind: 'and' | 'or'; parts: RulePart[]; held: boolean }
  | { kind: 'not'; part: RulePart; held: boolean }
  /** A comparison, membership, regex, bare condition or constant, as text (`rport in [80, 443]`). */
  | { kind: 'test'; text: string; held: boolean; scope: AttrScope | null };

/** One line of the walk, in the order the classifier went. */
export interface WalkStep {
  cls: number;
  path: string;
  /** 0 at the top; a child is one deeper than its parent. */
  depth: number;
  /**
   * 'held' / 'failed': its rule was evaluated; 'catch-all': it has no rule; 'not-tried': an earlier
   * sibling matched; 'fallback': no sibling matched, so the walk went to this default class.
   */
  outcome: 'held' | 'failed' | 'catch-all' | 'not-tried' | 'fallback';
  /** The rule's parts with their results (null without a rule, or when not tried). */
  rule: RulePart | null;
  /** 'flow' when the rule reads only flow-scope attributes, 'packet' otherwise; null without a rule. */
  decided: 'flow' | 'packet' | null;
  /** The packet-scope attributes the rule reads (why it is per-packet). */
  packetAttributes: string[];
  /** The attributes the rule reads, with this packet's values as text (`rport = 443`). */
  values: Array<[string, string]>;
}

export interface Explanation {
  steps: WalkStep[];
  /** The leaf this packet goes to, its index and path. */
  chosen: number;
  chosenPath: string;
  /** The leaf cached for the flow (every per-packet rule taken as false). */
  flowLeaf: number;
  flowPath: string;
  /** Whether per-packet rules are evaluated for each packet of this flow (else the cached leaf is final). */
  perPacket: boolean;
}

/** Walks the tree for the packet in `ctx` and says why it lands where it does. */
export function explainClassification(
  classes: readonly ExplainClass[],
  defaultLeaf: number,
  ctx: MatchContext,
  registry: AttributeRegistry = defaultAttributes,
): Explanation {
  const rules: ClassRule[] = classes.map((c) => ({
    path: c.path,
    parent: c.parent,
    isLeaf: c.isLeaf,
    rule: c.match === null ? null : compileRule(c.match, c.matchOrigin ?? { label: `classes.${c.path}.match` }, registry),
  }));
  const classifier = new Classifier(rules, defaultLeaf);
  const n = classes.length;
  const kids: number[][] = Array.from({ length: n + 1 }, () => []);
  classes.forEach((c, i) => kids[c.parent < 0 ? n : c.parent].push(i));

  const steps: WalkStep[] = [];
  const step = (cls: number, depth: number, outcome: WalkStep['outcome'], evaluate: boolean): WalkStep => {
    const rule = rules[cls].rule;
    return {
      cls,
      path: classes[cls].path,
      depth,
      outcome,
      rule: evaluate && rule !== null ? explainRule(parse(rule.source), ctx, registry) : null,
      decided: rule === null ? null : rule.perPacket ? 'packet' : 'flow',
      packetAttributes: rule === null ? [] : [...rule.attributes].filter((a) => registry.get(a)?.scope === 'packet'),
      values: evaluate && rule !== null ? [...rule.attributes].map((a): [string, string] => [a, readValue(a, ctx, registry)]) : [],
    };
  };

  // Classifier.walkFrom, recording each step; a level's steps go right after the step entering it.
  let parent = n;
  let depth = 0;
  let insertAt = 0;
  let chosen = -1;
  while (chosen < 0) {
    const level: WalkStep[] = [];
    let next = -1;
    for (const c of kids[parent]) {
      if (next >= 0) {
        level.push(step(c, depth, 'not-tried', false));
        continue;
      }
      const rule = rules[c].rule;
      const held = rule === null || rule.test(ctx);
      level.push(step(c, depth, rule === null ? 'catch-all' : held ? 'held' : 'failed', true));
      if (held) next = c;
    }
    let entered = level.findIndex((s) => s.cls === next);
    if (next < 0) {
      next = parent === n ? defaultLeaf : (kids[parent].find((c) => classes[c].path.split('/').pop() === 'default') ?? defaultLeaf);
      level.push(step(next, parent === n || kids[parent].includes(next) ? depth : 0, 'fallback', false));
      entered = level.length - 1;
    }
    steps.splice(insertAt, 0, ...level);
    insertAt += entered + 1;
    if (classes[next].isLeaf) chosen = next;
    else {
      parent = next;
      depth++;
    }
  }

  const reference = classifier.classify(ctx);
  if (reference !== chosen) throw new Error(`explain: walk chose ${classes[chosen].path}, the classifier ${classes[reference].path}`);
  const outcome = classifier.classifyFlow(ctx);
  const flowLeaf = classifier.leafOf(outcome);
  const perPacket = classifier.needsPerPacket(outcome);
  const packetLeaf = perPacket ? classifier.classifyPacket(ctx, outcome) : flowLeaf;
  if (packetLeaf !== chosen) throw new Error(`explain: flow/packet split chose ${classes[packetLeaf].path}, the walk ${classes[chosen].path}`);
  return { steps, chosen, chosenPath: classes[chosen].path, flowLeaf, flowPath: classes[flowLeaf].path, perPacket };
}

/** Every part of a parsed rule, each compiled by compileExpr and evaluated on ctx. */
export function explainRule(expr: Expr, ctx: MatchContext, registry: AttributeRegistry = defaultAttributes): RulePart {
  const held = compileExpr(expr, registry).test(ctx);
  switch (expr.kind) {
    case 'and':
    case 'or':
      return { kind: expr.kind, parts: chain(expr, expr.kind, []).map((e) => explainRule(e, ctx, registry)), held };
    case 'not':
      return { kind: 'not', part: explainRule(expr.operand, ctx, registry), held };
    case 'const':
      return { kind: 'test', text: String(expr.value), held, scope: null };
    default:
      return { kind: 'test', text: testText(expr), held, scope: registry.get(expr.attr.name)?.scope ?? null };
  }
}

/** The rule with a ✓ or ✗ after each part (and after each parenthesised group). */
export function formatRulePart(part: RulePart): string {
  return render(part, null);
}

const HELD = '✓';
const FAILED = '✗';

function mark(held: boolean): string {
  return held ? HELD : FAILED;
}

function render(part: RulePart, outer: RulePart['kind'] | null): string {
  switch (part.kind) {
    case 'test':
      return `${part.text} ${mark(part.held)}`;
    case 'not':
      return `not (${render(part.part, null)}) ${mark(part.held)}`;
    case 'and':
    case 'or': {
      const text = part.parts.map((p) => render(p, part.kind)).join(` ${part.kind} `);
      return outer === null ? text : `(${text}) ${mark(part.held)}`;
    }
  }
}

/** `a or b or c` → [a, b, c] (as compile.ts flattens chains). */
function chain(e: Expr, kind: 'and' | 'or', out: Expr[]): Expr[] {
  if (e.kind === kind) {
    chain(e.left, kind, out);
    chain(e.right, kind, out);
  } else out.push(e);
  return out;
}

function testText(e: Expr): string {
  switch (e.kind) {
    case 'compare':
      return `${e.attr.name} ${e.op} ${e.value.text}`;
    case 'in': {
      const single = e.items.length === 1 && (e.items[0].hi !== null || e.items[0].lo.kind === 'addr');
      const set = single ? itemText(e.items[0]) : `[${e.items.map(itemText).join(', ')}]`;
      return `${e.attr.name}${e.negated ? ' not' : ''} in ${set}`;
    }
    case 'match':
      return `${e.attr.name} ~ ${e.pattern.text}`;
    case 'attr':
      return e.attr.name;
    default:
      return e.kind;
  }
}

function itemText(item: SetItem): string {
  return item.hi === null ? item.lo.text : `${item.lo.text}..${item.hi.text}`;
}

/** An attribute's value for this packet, as text, read with the registry's own accessor. */
export function readValue(name: string, ctx: MatchContext, registry: AttributeRegistry = defaultAttributes): string {
  const attr = registry.get(name);
  if (attr === undefined) return '?';
  if (attr.present !== undefined && !attr.present(ctx)) return attr.absentName ?? '(none)';
  switch (attr.type) {
    case 'addr':
      return formatAddress(attr.buf(ctx), attr.offset(ctx), attr.ipVersion(ctx) === 4 ? 4 : 16);
    case 'enum': {
      const value = attr.read(ctx);
      for (const [label, v] of attr.values) if (v === value) return label;
      return String(value);
    }
    case 'string':
      return JSON.stringify(attr.read(ctx));
    default:
      return String(attr.read(ctx));
  }
}
