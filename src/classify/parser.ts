/**
 * Hand-written recursive-descent parser for the rule language. Grammar (lowest precedence first):
 *
 *   rule       := or EOF
 *   or         := and ('or' and)*
 *   and        := unary ('and' unary)*
 *   unary      := 'not' unary | primary
 *   primary    := '(' or ')' | 'true' | 'false' | NAME [condition]
 *   condition  := CMP literal                        CMP is == != < <= > >=
 *               | ['not'] 'in' set
 *               | '~' STRING
 *   set        := '[' [item (',' item)* [',']] ']'  |  literal '..' literal  |  ADDRESS['/'n]
 *   item       := literal ['..' literal]
 *
 * So `not` binds tightest, then comparisons, then `and`, then `or`. A comparison is always
 * "attribute operator value", so `not` applies to the whole comparison or group after it:
 * `not sport == 22` reads `not (sport == 22)`. A bare NAME is a boolean condition (`tcp.syn`).
 * Names are not resolved here; check.ts does that against the attribute registry.
 */
import type { AttrRef, CompareOp, Expr, Literal, SetItem } from './ast.js';
import { RuleFault } from './errors.js';
import { tokenize, type Token, type TokenKind } from './lexer.js';

const COMPARE_OPS: ReadonlySet<TokenKind> = new Set<TokenKind>(['==', '!=', '<', '<=', '>', '>=']);

/** Parses a rule's text into a syntax tree; throws RuleFault (errors.ts) on malformed input. */
export function parse(src: string): Expr {
  return new Parser(tokenize(src)).rule();
}

class Parser {
  private pos = 0;

  constructor(private readonly tokens: Token[]) {}

  rule(): Expr {
    if (this.peek().kind === 'eof') this.fail('the rule is empty; expected a condition (write `true` to match everything)', 'a condition');
    const expr = this.or();
    const t = this.peek();
    if (t.kind !== 'eof') {
      const expected = t.kind === ')' ? "'and', 'or' or the end of the rule (this ')' has no '(')" : "'and', 'or' or the end of the rule";
      this.fail(`expected ${expected}, found ${describe(t)}`, expected);
    }
    return expr;
  }

  private or(): Expr {
    let left = this.and();
    while (this.peek().kind === 'or') {
      this.pos++;
      left = { kind: 'or', left, right: this.and(), offset: left.offset };
    }
    return left;
  }

  private and(): Expr {
    let left = this.unary();
    while (this.peek().kind === 'and') {
      this.pos++;
      left = { kind: 'and', left, right: this.unary(), offset: left.offset };
    }
    return left;
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === 'not') {
      this.pos++;
      return { kind: 'not', operand: this.unary(), offset: t.offset };
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.take();
    if (t.kind === '(') {
      const inner = this.or();
      this.expect(')', "')'");
      return inner;
    }
    if (t.kind === 'literal' && t.literal?.kind === 'bool') {
      return { kind: 'const', value: t.literal.value, offset: t.offset };
    }
    if (t.kind !== 'name') {
      const expected = "an attribute name, 'not' or '('";
      this.failAt(t, `expected ${expected}, found ${describe(t)}`, expected);
    }
    const attr: AttrRef = { name: t.text, offset: t.offset };
    const op = this.peek();
    if (COMPARE_OPS.has(op.kind)) {
      this.pos++;
      const value = this.literal('a value to compare with');
      return { kind: 'compare', attr, op: op.kind as CompareOp, value, offset: t.offset };
    }
    if (op.kind === 'in' || (op.kind === 'not' && this.peek(1).kind === 'in')) {
      const negated = op.kind === 'not';
      this.pos += negated ? 2 : 1;
      return { kind: 'in', attr, negated, items: this.set(), offset: t.offset };
    }
    if (op.kind === '~') {
      this.pos++;
      const pattern = this.literal('a string holding a regular expression');
      if (pattern.kind !== 'string') {
        this.failAt(this.tokens[this.pos - 1], `expected a string holding a regular expression, found ${pattern.text}`, 'a string');
      }
      return { kind: 'match', attr, pattern, offset: t.offset };
    }
    return { kind: 'attr', attr, offset: t.offset };
  }

  private set(): SetItem[] {
    if (this.peek().kind === '[') {
      this.pos++;
      const items: SetItem[] = [];
      while (this.peek().kind !== ']') {
        items.push(this.item('a list item'));
        if (this.peek().kind === ',') this.pos++;
        else if (this.peek().kind !== ']') {
          const t = this.peek();
          this.fail(`expected ',' or ']' in the list, found ${describe(t)}`, "',' or ']'");
        }
      }
      this.pos++;
      return items;
    }
    const expected = "a list '[…]', a range 'a..b' or an address prefix";
    if (this.peek().kind !== 'literal') this.fail(`expected ${expected} after 'in', found ${describe(this.peek())}`, expected);
    const start = this.peek();
    const item = this.item(expected);
    if (item.hi === null && item.lo.kind !== 'addr') {
      this.failAt(start, `expected ${expected} after 'in', found ${item.lo.text}`, expected);
    }
    return [item];
  }

  private item(what: string): SetItem {
    const lo = this.literal(what);
    if (this.peek().kind !== '..') return { lo, hi: null };
    this.pos++;
    return { lo, hi: this.literal('the end of the range') };
  }

  private literal(what: string): Literal {
    const t = this.take();
    if (t.kind === 'literal' && t.literal) return t.literal;
    const hint = t.kind === 'name' ? ` (a value is a number, "string", address or true/false; names cannot be compared with names)` : '';
    this.failAt(t, `expected ${what}, found ${describe(t)}${hint}`, what);
  }

  private expect(kind: TokenKind, what: string): void {
    const t = this.take();
    if (t.kind !== kind) this.failAt(t, `expected ${what}, found ${describe(t)}`, what);
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)];
  }

  private take(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private fail(reason: string, expected: string): never {
    this.failAt(this.peek(), reason, expected);
  }

  private failAt(t: Token, reason: string, expected: string): never {
    throw new RuleFault('syntax', reason, expected, t.offset);
  }
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'the end of the rule';
  if (t.kind === 'name') return `'${t.text}'`;
  if (t.kind === 'literal') return t.text;
  return `'${t.text}'`;
}
