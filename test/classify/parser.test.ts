import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/classify/parser.js';
import type { Expr, Literal, SetItem } from '../../src/classify/ast.js';
import { RuleFault } from '../../src/classify/errors.js';

/** The tree as a compact S-expression, so tests can state shapes exactly. */
function show(e: Expr): string {
  switch (e.kind) {
    case 'or':
    case 'and':
      return `(${e.kind} ${show(e.left)} ${show(e.right)})`;
    case 'not':
      return `(not ${show(e.operand)})`;
    case 'const':
      return String(e.value);
    case 'attr':
      return e.attr.name;
    case 'compare':
      return `(${e.op} ${e.attr.name} ${lit(e.value)})`;
    case 'in':
      return `(${e.negated ? 'notin' : 'in'} ${e.attr.name} [${e.items.map(item).join(' ')}])`;
    case 'match':
      return `(~ ${e.attr.name} ${lit(e.pattern)})`;
  }
}
function lit(l: Literal): string {
  return l.kind === 'string' ? JSON.stringify(l.value) : l.kind === 'number' ? String(l.value) : l.text;
}
function item(i: SetItem): string {
  return i.hi ? `${lit(i.lo)}..${lit(i.hi)}` : lit(i.lo);
}
const p = (src: string) => show(parse(src));

function faultOf(src: string): RuleFault {
  try {
    parse(src);
  } catch (err) {
    assert.ok(err instanceof RuleFault);
    return err;
  }
  assert.fail(`expected ${src} to be rejected`);
}

test('precedence: not > comparison > and > or', () => {
  assert.equal(p('a or b and c'), '(or a (and b c))');
  assert.equal(p('a and b or c'), '(or (and a b) c)');
  assert.equal(p('not a and b'), '(and (not a) b)');
  assert.equal(p('not x == 1 or y < 2 and z'), '(or (not (== x 1)) (and (< y 2) z))');
  assert.equal(p('not not a'), '(not (not a))');
});

test('and/or associate to the left; parentheses override', () => {
  assert.equal(p('a or b or c'), '(or (or a b) c)');
  assert.equal(p('a and b and c'), '(and (and a b) c)');
  assert.equal(p('(a or b) and c'), '(and (or a b) c)');
  assert.equal(p('not (a or b)'), '(not (or a b))');
  assert.equal(p('((a))'), 'a');
});

test('every comparison operator', () => {
  for (const op of ['==', '!=', '<', '<=', '>', '>=']) assert.equal(p(`x ${op} 5`), `(${op} x 5)`);
  assert.equal(p('tcp.syn == true'), '(== tcp.syn true)');
  assert.equal(p('proto == "tcp"'), '(== proto "tcp")');
  assert.equal(p('raddr == 10.0.0.1'), '(== raddr 10.0.0.1)');
});

test('in: lists with ranges, a bare range, a prefix, not in, trailing comma, empty list', () => {
  assert.equal(p('rport in [80, 443, 8000..8999]'), '(in rport [80 443 8000..8999])');
  assert.equal(p('lport in 61000..63000'), '(in lport [61000..63000])');
  assert.equal(p('raddr in 10.0.0.0/8'), '(in raddr [10.0.0.0/8])');
  assert.equal(p('raddr in 2001:db8::/32'), '(in raddr [2001:db8::/32])');
  assert.equal(p('raddr in [10.0.0.0/8, 2001:db8::/32, 192.0.2.1]'), '(in raddr [10.0.0.0/8 2001:db8::/32 192.0.2.1])');
  assert.equal(p('rport not in [22, 53,]'), '(notin rport [22 53])');
  assert.equal(p('rport in []'), '(in rport [])');
  assert.equal(p('l7 in ["http", "tls"]'), '(in l7 ["http" "tls"])');
  assert.equal(p('flow.bytes in 1MB..10MB'), '(in flow.bytes [1000000..10000000])');
});

test('regex match and boolean constants', () => {
  assert.equal(p('cmd ~ "^transmission"'), '(~ cmd "^transmission")');
  assert.equal(p('true'), 'true');
  assert.equal(p('false or a'), '(or false a)');
});

test('the sketch configuration rules parse', () => {
  assert.equal(
    p('proto == "icmp" or dport == 53 or tcp.syn or l7 == "ssh" or tcp.pure_ack'),
    '(or (or (or (or (== proto "icmp") (== dport 53)) tcp.syn) (== l7 "ssh")) tcp.pure_ack)',
  );
  assert.equal(p('raddr in 10.0.0.0/8 and not (sport == 22)'), '(and (in raddr [10.0.0.0/8]) (not (== sport 22)))');
  assert.equal(p('ipv == 6 and dscp != 0'), '(and (== ipv 6) (!= dscp 0))');
});

test('multi-line rules with comments', () => {
  assert.equal(p('rport == 80   # web\n  or rport == 443 # tls\n'), '(or (== rport 80) (== rport 443))');
});

test('syntax errors name what was expected, at the right offset', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['', 0, /the rule is empty/],
    ['rport ==', 8, /expected a value to compare with, found the end of the rule/],
    ['rport == 80 443', 12, /expected 'and', 'or' or the end of the rule, found 443/],
    ['(rport == 80', 12, /expected '\)', found the end of the rule/],
    ['rport == 80)', 11, /this '\)' has no '\('/],
    ['rport in [80 443]', 13, /expected ',' or '\]' in the list, found 443/],
    ['rport in [80,', 13, /expected a list item, found the end of the rule/],
    ['rport in 80', 9, /expected a list '\[…\]', a range 'a\.\.b' or an address prefix after 'in', found 80/],
    ['rport in 80..', 13, /expected the end of the range/],
    ['and x', 0, /expected an attribute name, 'not' or '\(', found 'and'/],
    ['80 == rport', 0, /expected an attribute name/],
    ['sport == dport', 9, /names cannot be compared with names/],
    ['cmd ~ 5', 6, /expected a string holding a regular expression, found 5/],
    ['a or', 4, /expected an attribute name/],
    ['not', 3, /expected an attribute name/],
  ];
  for (const [src, offset, reason] of cases) {
    const f = faultOf(src);
    assert.equal(f.code, 'syntax', src);
    assert.match(f.reason, reason, src);
    assert.equal(f.offset, offset, src);
    assert.ok(f.expected.length > 0, src);
  }
});
