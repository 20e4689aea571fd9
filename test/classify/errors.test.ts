import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRule } from '../../src/classify/compile.js';
import { RuleError, type RuleOrigin } from '../../src/classify/errors.js';

function errorOf(source: string, origin: RuleOrigin): RuleError {
  try {
    compileRule(source, origin);
  } catch (err) {
    assert.ok(err instanceof RuleError, `a RuleError, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${source} to be rejected`);
}

test('the message names the rule, the position, shows the line and a caret, and the suggestion', () => {
  const e = errorOf('rpot in [80, 443]', { label: 'classes.web.match', line: 1, column: 10 });
  assert.equal(
    e.message,
    "classes.web.match:1:10: unknown attribute 'rpot' — did you mean 'rport'?\n  rpot in [80, 443]\n  ^",
  );
  assert.equal(e.code, 'unknown-attribute');
  assert.equal(e.line, 1);
  assert.equal(e.column, 10);
  assert.equal(e.expected, 'an attribute name');
  assert.equal(e.label, 'classes.web.match');
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'RuleError');
});

test('positions are in file terms: the origin shifts the first line by line and column', () => {
  const e = errorOf('rport == "http"', { label: 'classes.web.match', file: 'sluice.yaml', line: 31, column: 12 });
  assert.equal(e.line, 31);
  assert.equal(e.column, 12 + 9);
  assert.equal(e.ruleLine, 1);
  assert.equal(e.ruleColumn, 10);
  assert.equal(
    e.message,
    `sluice.yaml:31:21: classes.web.match: 'rport' is a number; expected a number, found "http"\n  rport == "http"\n           ^`,
  );
  assert.equal(e.expected, 'a number');
});

test('without an origin position, positions are the rule\'s own (1-based)', () => {
  const e = errorOf('tcp.syn and rport <', { label: 'r' });
  assert.equal(e.line, 1);
  assert.equal(e.column, 20);
  assert.match(e.message, /^r:1:20: expected a value to compare with, found the end of the rule\n {2}tcp\.syn and rport <\n {21}\^$/);
});

test('an error on a later line of a multi-line rule shows that line; only the line is shifted', () => {
  const source = 'rport == 80\n  or rport == 443\n  or zz == "SK"';
  const e = errorOf(source, { label: 'classes.x.match', file: 'f.yaml', line: 10, column: 12 });
  assert.equal(e.line, 12);
  assert.equal(e.column, 6);
  assert.equal(e.ruleLine, 3);
  assert.equal(e.ruleColumn, 6);
  assert.equal(e.message, `f.yaml:12:6: classes.x.match: unknown attribute 'zz'\n    or zz == "SK"\n       ^`);
});

test('every kind of mistake becomes a RuleError with its code', () => {
  assert.equal(errorOf('rport ==', { label: 'r' }).code, 'syntax');
  assert.equal(errorOf('rport == 1parsec', { label: 'r' }).code, 'literal');
  assert.equal(errorOf('rport == "x"', { label: 'r' }).code, 'type');
  assert.equal(errorOf('nosuch', { label: 'r' }).code, 'unknown-attribute');
});
