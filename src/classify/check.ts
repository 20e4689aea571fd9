/**
 * Type checking: resolves every attribute name in a syntax tree against the registry and turns the
 * tree into a typed condition tree (Cond) that compile.ts folds and turns into closures. Everything
 * a person can get wrong is caught here, at load time, with the position of the mistake:
 * unknown attributes (with a "did you mean"), values of the wrong type (`rport == "http"`), enum
 * names that do not exist (`proto == "tpc"`), units measuring the wrong thing (`flow.age > 10MB`),
 * operators that do not apply (`raddr < 10.0.0.1`, `rport ~ "8.*"`), empty ranges and bad regexes.
 * Regular expressions are JavaScript's, compiled here once; `(?i)` at the start means ignore case.
 */
import type { CompareOp, Expr, Literal, SetItem } from './ast.js';
import { editDistance } from './attributes.js';
import type {
  AddrAttribute,
  Attribute,
  AttributeRegistry,
  BoolAttribute,
  EnumAttribute,
  NumberAttribute,
  StringAttribute,
} from './attributes.js';
import { RuleFault } from './errors.js';
import type { Prefix } from './prefix.js';

/** A typed condition. `not in`, and `!=` on anything but numbers, become `not` around `in` / `==`. */
export type Cond =
  | { k: 'const'; value: boolean }
  | { k: 'and'; a: Cond; b: Cond }
  | { k: 'or'; a: Cond; b: Cond }
  | { k: 'not'; a: Cond }
  | { k: 'bool'; attr: BoolAttribute }
  /** `attr op value` over a number or an enum's number. */
  | { k: 'num'; attr: NumberAttribute | EnumAttribute; op: CompareOp; value: number }
  /** Membership in singles and inclusive ranges. */
  | { k: 'numSet'; attr: NumberAttribute | EnumAttribute; singles: number[]; ranges: Array<[number, number]> }
  | { k: 'strSet'; attr: StringAttribute; values: string[] }
  | { k: 'regex'; attr: StringAttribute; re: RegExp }
  | { k: 'addr'; attr: AddrAttribute; prefixes: Prefix[] }
  /** A comparison on an attribute that may be absent: false when it is, else the comparison. */
  | { k: 'guard'; attr: Attribute; a: Cond };

const TYPE_NAMES: Readonly<Record<Attribute['type'], string>> = {
  number: 'a number',
  string: 'a string',
  bool: 'a condition (true or false)',
  addr: 'an address',
  enum: 'one of a set of names',
};

/** Resolves and type-checks a syntax tree; throws RuleFault at the first mistake. */
export function check(expr: Expr, registry: AttributeRegistry): Cond {
  return new Checker(registry).expr(expr);
}

class Checker {
  constructor(private readonly registry: AttributeRegistry) {}

  expr(e: Expr): Cond {
    switch (e.kind) {
      case 'or':
      case 'and':
        return { k: e.kind, a: this.expr(e.left), b: this.expr(e.right) };
      case 'not':
        return { k: 'not', a: this.expr(e.operand) };
      case 'const':
        return { k: 'const', value: e.value };
      case 'attr': {
        const attr = this.resolve(e.attr.name, e.attr.offset);
        if (attr.type !== 'bool') {
          const example = attr.type === 'addr' ? `${attr.name} in 10.0.0.0/8` : `${attr.name} == …`;
          throw this.typeFault(`'${attr.name}' is ${describeType(attr)}, not a condition; compare it, as in ${example}`, 'a comparison', e.offset);
        }
        return guard(attr, { k: 'bool', attr }, []);
      }
      case 'compare': {
        const attr = this.resolve(e.attr.name, e.attr.offset);
        return guard(attr, this.compare(attr, e.op, e.value), [e.value]);
      }
      case 'in': {
        const attr = this.resolve(e.attr.name, e.attr.offset);
        const cond = this.member(attr, e.items);
        return guard(attr, e.negated ? { k: 'not', a: cond } : cond, e.items.map((item) => item.lo));
      }
      case 'match': {
        const attr = this.resolve(e.attr.name, e.attr.offset);
        if (attr.type !== 'string') {
          throw this.typeFault(`'~' matches strings against a regular expression, but '${attr.name}' is ${describeType(attr)}`, 'a string attribute', e.offset);
        }
        // JavaScript has no inline flags; a leading (?i) is taken as the case-insensitive flag.
        const insensitive = e.pattern.value.startsWith('(?i)');
        let re: RegExp;
        try {
          re = new RegExp(insensitive ? e.pattern.value.slice(4) : e.pattern.value, insensitive ? 'i' : '');
        } catch (err) {
          throw new RuleFault('literal', `bad regular expression: ${(err as Error).message}`, 'a valid regular expression', e.pattern.offset);
        }
        return guard(attr, { k: 'regex', attr, re }, []);
      }
    }
  }

  private resolve(name: string, offset: number): Attribute {
    const attr = this.registry.get(name);
    if (attr) return attr;
    const suggestion = this.registry.suggest(name);
    const hint = suggestion ? ` — did you mean '${suggestion}'?` : '';
    throw new RuleFault('unknown-attribute', `unknown attribute '${name}'${hint}`, 'an attribute name', offset);
  }

  private compare(attr: Attribute, op: CompareOp, lit: Literal): Cond {
    const ordering = op !== '==' && op !== '!=';
    const negate = (c: Cond): Cond => (op === '!=' ? { k: 'not', a: c } : c);
    switch (attr.type) {
      case 'bool': {
        if (ordering) throw this.opFault(attr, op, lit);
        if (lit.kind !== 'bool') throw this.valueFault(attr, lit);
        const c: Cond = { k: 'bool', attr };
        return negate(lit.value ? c : { k: 'not', a: c });
      }
      case 'number':
      case 'enum': {
        if (ordering && attr.type === 'enum') {
          if (!attr.numeric) throw this.opFault(attr, op, lit);
          if (lit.kind !== 'number') throw this.typeFault(`'${op}' compares numbers, and ${lit.text} is a name`, 'a number', lit.offset);
        }
        const value = this.number(attr, lit);
        return { k: 'num', attr, op, value };
      }
      case 'string':
        if (ordering) throw this.opFault(attr, op, lit);
        return negate({ k: 'strSet', attr, values: [this.string(attr, lit)] });
      case 'addr':
        if (ordering) throw this.opFault(attr, op, lit);
        if (lit.kind !== 'addr') throw this.valueFault(attr, lit);
        if (lit.prefixLen !== null) {
          throw this.typeFault(`${lit.text} is a prefix; write '${attr.name} in ${lit.text}' to test membership`, 'a single address', lit.offset);
        }
        return negate({ k: 'addr', attr, prefixes: [{ bytes: lit.bytes, prefixLen: lit.bytes.length * 8 }] });
    }
  }

  private member(attr: Attribute, items: SetItem[]): Cond {
    switch (attr.type) {
      case 'number':
      case 'enum': {
        const singles: number[] = [];
        const ranges: Array<[number, number]> = [];
        for (const item of items) {
          const lo = this.number(attr, item.lo);
          if (item.hi === null) {
            singles.push(lo);
            continue;
          }
          const hi = this.number(attr, item.hi);
          if (hi < lo) throw new RuleFault('literal', `the range ${item.lo.text}..${item.hi.text} is empty`, 'a range low..high', item.lo.offset);
          ranges.push([lo, hi]);
        }
        return { k: 'numSet', attr, singles, ranges };
      }
      case 'string': {
        const values: string[] = [];
        for (const item of items) {
          if (item.hi !== null) throw this.typeFault(`'${attr.name}' is a string; ranges need numbers`, 'a string', item.lo.offset);
          values.push(this.string(attr, item.lo));
        }
        return { k: 'strSet', attr, values };
      }
      case 'addr': {
        const prefixes: Prefix[] = [];
        for (const item of items) {
          if (item.hi !== null) throw this.typeFault('address ranges are written as prefixes, e.g. 10.0.0.0/8', 'an address or prefix', item.lo.offset);
          if (item.lo.kind !== 'addr') throw this.valueFault(attr, item.lo);
          prefixes.push({ bytes: item.lo.bytes, prefixLen: item.lo.prefixLen ?? item.lo.bytes.length * 8 });
        }
        return { k: 'addr', attr, prefixes };
      }
      case 'bool':
        throw this.typeFault(`'${attr.name}' is a condition; use it alone or with == true/false, not with 'in'`, 'a condition', items[0]?.lo.offset ?? 0);
    }
  }

  /** The string a literal stands for when compared with a string attribute (its canonical form). */
  private string(attr: StringAttribute, lit: Literal): string {
    if (lit.kind !== 'string') throw this.valueFault(attr, lit);
    if (attr.canonical === undefined) return lit.value;
    const value = attr.canonical(lit.value);
    if (value === null) throw this.typeFault(`'${attr.name}' is ${attr.expects ?? 'a string of another form'}; found ${lit.text}`, attr.expects ?? 'a string', lit.offset);
    return value;
  }

  /** The number a literal stands for when compared with a number or enum attribute. */
  private number(attr: NumberAttribute | EnumAttribute, lit: Literal): number {
    if (attr.type === 'enum' && lit.kind === 'string') {
      const value = attr.values.get(lit.value.toLowerCase());
      if (value !== undefined) return value;
      const names = [...attr.values.keys()];
      const close = names.find((n) => editDistance(n, lit.value.toLowerCase()) <= 1);
      const hint = close ? ` — did you mean "${close}"?` : '';
      throw this.typeFault(`'${attr.name}' has no value "${lit.value}"${hint} (accepted: ${names.join(', ')}${attr.numeric ? ' or a number' : ''})`, `one of ${names.join(', ')}`, lit.offset);
    }
    if (lit.kind !== 'number' || (attr.type === 'enum' && !attr.numeric)) throw this.valueFault(attr, lit);
    if (attr.type === 'number' && lit.unit !== null && attr.unit !== lit.unit) {
      const wanted = attr.unit === null ? 'a plain number' : `a ${attr.unit} such as ${UNIT_EXAMPLES[attr.unit]}`;
      throw this.typeFault(`'${attr.name}' is ${describeType(attr)}; expected ${wanted}, found ${lit.text} (a ${lit.unit})`, wanted, lit.offset);
    }
    return lit.value;
  }

  private valueFault(attr: Attribute, lit: Literal): RuleFault {
    const wanted = expectedValue(attr);
    return this.typeFault(`'${attr.name}' is ${describeType(attr)}; expected ${wanted}, found ${lit.text}`, wanted, lit.offset);
  }

  private opFault(attr: Attribute, op: CompareOp, lit: Literal): RuleFault {
    return this.typeFault(`'${op}' does not apply to '${attr.name}', which is ${describeType(attr)}`, "'==', '!=' or 'in'", lit.offset);
  }

  private typeFault(reason: string, expected: string, offset: number): RuleFault {
    return new RuleFault('type', reason, expected, offset);
  }
}

/**
 * Wraps a comparison on an attribute that may be absent so that it is false when it is, unless a
 * literal names the absent state itself (`l7 == "pending"`, `l7 in ["pending", "unknown"]`).
 */
function guard(attr: Attribute, cond: Cond, literals: Literal[]): Cond {
  if (attr.present === undefined) return cond;
  const absent = attr.absentName;
  if (absent !== undefined && literals.some((l) => l.kind === 'string' && l.value.toLowerCase() === absent)) return cond;
  return { k: 'guard', attr, a: cond };
}

function describeType(attr: Attribute): string {
  if (attr.type === 'number' && attr.unit !== null) return `a number (${attr.unit})`;
  return TYPE_NAMES[attr.type];
}

function expectedValue(attr: Attribute): string {
  switch (attr.type) {
    case 'number':
      return attr.unit === null ? 'a number' : `a number or a ${attr.unit} such as ${UNIT_EXAMPLES[attr.unit]}`;
    case 'enum': {
      const names = [...attr.values.keys()].map((n) => `"${n}"`).join(', ');
      return attr.numeric ? `a number or one of ${names}` : `one of ${names}`;
    }
    case 'string':
      return attr.expects ?? 'a "string"';
    case 'bool':
      return 'true or false';
    case 'addr':
      return 'an address such as 192.0.2.1 or 2001:db8::1';
  }
}

const UNIT_EXAMPLES = { size: '10MB', rate: '400kbit', duration: '5s' } as const;
