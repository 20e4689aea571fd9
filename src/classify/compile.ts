/**
 * Compiles a rule into a tree of closures, once per configuration: parse (parser.ts), resolve and
 * type-check (check.ts), fold constants, then build one small closure per node. Evaluating the
 * result per packet calls those closures and allocates nothing; no code is generated from text
 * (no eval, no Function).
 *
 * What folding does: `not not x` → x; `not (a < k)` → `a >= k`; `x and true` → x; `x and false` →
 * false; `x or true` → true; `in []` → false. Sets become the cheapest test for their shape: one
 * value → `===`; up to four → `===` in turn; more → a Set; values and ranges → sorted, merged ranges searched
 * linearly (≤ 4) or by bisection. A chain `a or b or c` becomes one closure calling three, not
 * nested pairs: closures made from one function literal share V8's call-site feedback, so nesting
 * them makes those sites polymorphic and uninlinable (measured 3-4x slower in bench/classify).
 */
import type { AttributeRegistry, AttrScope, AttrType } from './attributes.js';
import { defaultAttributes } from './attributes.js';
import type { CompareOp, Expr } from './ast.js';
import { check, type Cond } from './check.js';
import type { MatchContext } from './context.js';
import { RuleError, RuleFault, type RuleOrigin } from './errors.js';
import { parse } from './parser.js';
import { AddrSet } from './prefix.js';
import type { UnitKind } from './units.js';

export type RuleTest = (ctx: MatchContext) => boolean;

export interface CompiledRule {
  /** The rule as written. */
  readonly source: string;
  /** Whether the rule holds for the packet (and flow) in ctx. Allocates nothing. */
  readonly test: RuleTest;
  /** True when the rule reads any packet-scope attribute, so it must be evaluated per packet. */
  readonly perPacket: boolean;
  /** The attributes the rule reads (after folding: `x or true` reads none). */
  readonly attributes: ReadonlySet<string>;
}

/**
 * Compiles `source`; throws RuleError (naming `origin`) on any syntax or type error. `registry` is
 * the set of attributes the rule may use (the built-in ones unless the caller adds more).
 */
export function compileRule(source: string, origin: RuleOrigin, registry: AttributeRegistry = defaultAttributes): CompiledRule {
  try {
    return { source, ...compileExpr(parse(source), registry) };
  } catch (err) {
    if (err instanceof RuleFault) throw new RuleError(err.code, err.reason, err.expected, source, err.offset, origin);
    throw err;
  }
}

/**
 * Compiles one node of a parsed rule (a whole rule or any sub-expression of it) exactly as
 * compileRule does; `sluice explain` evaluates each part of a rule with it. Throws RuleFault.
 */
export function compileExpr(expr: Expr, registry: AttributeRegistry = defaultAttributes): Omit<CompiledRule, 'source'> {
  const cond = fold(check(expr, registry));
  const attributes = new Set<string>();
  collect(cond, attributes);
  const perPacket = [...attributes].some((name) => registry.get(name)?.scope === 'packet');
  return { test: emit(cond), perPacket, attributes };
}

export interface AttributeInfo {
  name: string;
  type: AttrType;
  scope: AttrScope;
  description: string;
  /** For numbers measured in a unit: what a literal with a unit must measure. */
  unit: UnitKind | null;
  /** For enums: the accepted names. */
  values: readonly string[];
}

/** Every attribute a rule may use, for docs and `sluice explain`. */
export function listAttributes(registry: AttributeRegistry = defaultAttributes): AttributeInfo[] {
  return registry.list().map((a) => ({
    name: a.name,
    type: a.type,
    scope: a.scope,
    description: a.description,
    unit: a.type === 'number' ? a.unit : null,
    values: a.type === 'enum' ? [...a.values.keys()] : [],
  }));
}

const TRUE: Cond = { k: 'const', value: true };
const FALSE: Cond = { k: 'const', value: false };
const INVERSE: Readonly<Record<CompareOp, CompareOp>> = { '==': '!=', '!=': '==', '<': '>=', '>=': '<', '>': '<=', '<=': '>' };

function fold(c: Cond): Cond {
  switch (c.k) {
    case 'not': {
      const a = fold(c.a);
      if (a.k === 'const') return a.value ? FALSE : TRUE;
      if (a.k === 'not') return a.a;
      if (a.k === 'num') return { ...a, op: INVERSE[a.op] };
      return { k: 'not', a };
    }
    case 'and':
    case 'or': {
      const a = fold(c.a);
      const b = fold(c.b);
      // `and` is decided by a false constant, `or` by a true one; the other constant is neutral.
      const decisive = c.k === 'or';
      if (a.k === 'const') return a.value === decisive ? a : b;
      if (b.k === 'const') return b.value === decisive ? b : a;
      return { k: c.k, a, b };
    }
    case 'numSet':
      return c.singles.length + c.ranges.length === 0 ? FALSE : c;
    case 'strSet':
      return c.values.length === 0 ? FALSE : c;
    case 'addr':
      return c.prefixes.length === 0 ? FALSE : c;
    case 'guard': {
      const a = fold(c.a);
      return a.k === 'const' && !a.value ? FALSE : { k: 'guard', attr: c.attr, a };
    }
    default:
      return c;
  }
}

function collect(c: Cond, out: Set<string>): void {
  if (c.k === 'const') return;
  if (c.k === 'and' || c.k === 'or') {
    collect(c.a, out);
    collect(c.b, out);
  } else if (c.k === 'not') collect(c.a, out);
  else if (c.k === 'guard') {
    out.add(c.attr.name);
    collect(c.a, out);
  } else out.add(c.attr.name);
}

const always: RuleTest = () => true;
const never: RuleTest = () => false;

function emit(c: Cond): RuleTest {
  switch (c.k) {
    case 'const':
      return c.value ? always : never;
    case 'and':
      return emitAnd(flatten(c, 'and', []).map(emit));
    case 'or':
      return emitOr(flatten(c, 'or', []).map(emit));
    case 'not': {
      const a = emit(c.a);
      return (x) => !a(x);
    }
    case 'bool':
      return c.attr.read;
    case 'num':
      return emitCompare(c.attr.read, c.op, c.value);
    case 'numSet':
      return emitNumSet(c.attr.read, c.singles, c.ranges);
    case 'strSet': {
      const read = c.attr.read;
      if (c.values.length === 1) {
        const v = c.values[0];
        return (x) => read(x) === v;
      }
      const set = new Set(c.values);
      return (x) => set.has(read(x));
    }
    case 'regex': {
      const { read } = c.attr;
      const re = c.re; // compiled once, without the g/y flags, so test() keeps no state
      return (x) => re.test(read(x));
    }
    case 'guard': {
      const present = c.attr.present as RuleTest;
      if (c.a.k === 'const') return present;
      const a = emit(c.a);
      return (x) => present(x) && a(x);
    }
    case 'addr': {
      const { buf, offset, ipVersion } = c.attr;
      const set = new AddrSet(c.prefixes);
      return (x) => set.has(buf(x), offset(x), ipVersion(x));
    }
  }
}

/** The operands of a chain of one operator: `a or b or c` → [a, b, c]. */
function flatten(c: Cond, k: 'and' | 'or', out: Cond[]): Cond[] {
  if (c.k === k) {
    flatten(c.a, k, out);
    flatten(c.b, k, out);
  } else out.push(c);
  return out;
}

// One closure per chain, by length (see the header), up to 8 operands; a longer chain is split into
// chains of 8. A loop over an array of tests would make its one call site see every operand (V8 then
// stops inlining), which made a 6-term rule several times slower than a 4-term one.
const CHAIN_MAX = 8;

function chunks(t: RuleTest[], join: (t: RuleTest[]) => RuleTest): RuleTest {
  const parts: RuleTest[] = [];
  for (let i = 0; i < t.length; i += CHAIN_MAX) parts.push(join(t.slice(i, i + CHAIN_MAX)));
  return join(parts);
}

function emitOr(t: RuleTest[]): RuleTest {
  const [a, b, c, d, e, f, g, h] = t;
  switch (t.length) {
    case 1:
      return a;
    case 2:
      return (x) => a(x) || b(x);
    case 3:
      return (x) => a(x) || b(x) || c(x);
    case 4:
      return (x) => a(x) || b(x) || c(x) || d(x);
    case 5:
      return (x) => a(x) || b(x) || c(x) || d(x) || e(x);
    case 6:
      return (x) => a(x) || b(x) || c(x) || d(x) || e(x) || f(x);
    case 7:
      return (x) => a(x) || b(x) || c(x) || d(x) || e(x) || f(x) || g(x);
    case 8:
      return (x) => a(x) || b(x) || c(x) || d(x) || e(x) || f(x) || g(x) || h(x);
    default:
      return chunks(t, emitOr);
  }
}

function emitAnd(t: RuleTest[]): RuleTest {
  const [a, b, c, d, e, f, g, h] = t;
  switch (t.length) {
    case 1:
      return a;
    case 2:
      return (x) => a(x) && b(x);
    case 3:
      return (x) => a(x) && b(x) && c(x);
    case 4:
      return (x) => a(x) && b(x) && c(x) && d(x);
    case 5:
      return (x) => a(x) && b(x) && c(x) && d(x) && e(x);
    case 6:
      return (x) => a(x) && b(x) && c(x) && d(x) && e(x) && f(x);
    case 7:
      return (x) => a(x) && b(x) && c(x) && d(x) && e(x) && f(x) && g(x);
    case 8:
      return (x) => a(x) && b(x) && c(x) && d(x) && e(x) && f(x) && g(x) && h(x);
    default:
      return chunks(t, emitAnd);
  }
}

function emitCompare(read: (x: MatchContext) => number, op: CompareOp, k: number): RuleTest {
  switch (op) {
    case '==':
      return (x) => read(x) === k;
    case '!=':
      return (x) => read(x) !== k;
    case '<':
      return (x) => read(x) < k;
    case '<=':
      return (x) => read(x) <= k;
    case '>':
      return (x) => read(x) > k;
    case '>=':
      return (x) => read(x) >= k;
  }
}

function emitNumSet(read: (x: MatchContext) => number, singles: number[], ranges: Array<[number, number]>): RuleTest {
  if (ranges.length === 0) {
    const [a, b, c, d] = singles;
    // A few values: compared in turn, cheaper than hashing into a Set.
    switch (singles.length) {
      case 1:
        return emitCompare(read, '==', a);
      case 2:
        return (x) => {
          const v = read(x);
          return v === a || v === b;
        };
      case 3:
        return (x) => {
          const v = read(x);
          return v === a || v === b || v === c;
        };
      case 4:
        return (x) => {
          const v = read(x);
          return v === a || v === b || v === c || v === d;
        };
    }
    const set = new Set(singles);
    return (x) => set.has(read(x));
  }
  if (singles.length === 0 && ranges.length === 1) {
    const [lo, hi] = ranges[0];
    return (x) => {
      const v = read(x);
      return v >= lo && v <= hi;
    };
  }
  const bounds = mergeRanges([...singles.map((v): [number, number] => [v, v]), ...ranges]);
  const n = bounds.length >> 1;
  if (n <= 4) {
    return (x) => {
      const v = read(x);
      for (let i = 0; i < bounds.length; i += 2) if (v >= bounds[i] && v <= bounds[i + 1]) return true;
      return false;
    };
  }
  return (x) => {
    const v = read(x);
    // Bisection for the last range whose low bound is <= v; O(log n).
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (bounds[2 * mid] <= v) lo = mid;
      else hi = mid - 1;
    }
    return v >= bounds[2 * lo] && v <= bounds[2 * lo + 1];
  };
}

/** Sorted, disjoint [lo, hi] pairs (overlapping or touching integer ranges joined), flattened. */
function mergeRanges(ranges: Array<[number, number]>): Float64Array {
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [lo, hi] of ranges) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + (Number.isInteger(lo) && Number.isInteger(last[1]) ? 1 : 0)) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return Float64Array.from(merged.flat());
}
