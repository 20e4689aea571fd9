import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenize } from '../../src/classify/lexer.js';
import { RuleFault } from '../../src/classify/errors.js';

function literal(src: string) {
  const tokens = tokenize(src);
  assert.equal(tokens.length, 2, `one token then eof for ${src}`);
  assert.equal(tokens[0].kind, 'literal');
  return tokens[0].literal!;
}

function faultOf(src: string): RuleFault {
  try {
    tokenize(src);
  } catch (err) {
    assert.ok(err instanceof RuleFault);
    return err;
  }
  assert.fail(`expected ${src} to be rejected`);
}

test('numbers: decimal, hex, and unit suffixes in base units', () => {
  const cases: Array<[string, number, string | null]> = [
    ['80', 80, null],
    ['0x58', 0x58, null],
    ['0XfF', 255, null],
    ['1.5', 1.5, null],
    ['10MB', 10_000_000, 'size'],
    ['64KB', 64_000, 'size'],
    ['2GiB', 2 * 1024 ** 3, 'size'],
    ['1500B', 1500, 'size'],
    ['400kbit', 400_000, 'rate'],
    ['1.5mbit', 1_500_000, 'rate'],
    ['1gbit', 1e9, 'rate'],
    ['500us', 500, 'duration'],
    ['5ms', 5000, 'duration'],
    ['5s', 5_000_000, 'duration'],
    ['5m', 300_000_000, 'duration'],
    ['1h', 3_600_000_000, 'duration'],
    ['1d', 86_400_000_000, 'duration'],
  ];
  for (const [src, value, unit] of cases) {
    const lit = literal(src);
    assert.equal(lit.kind, 'number', src);
    if (lit.kind !== 'number') continue;
    assert.equal(lit.value, value, src);
    assert.equal(lit.unit, unit, src);
  }
});

test('a range is two numbers around "..", not a decimal', () => {
  const kinds = tokenize('6881..6999').map((t) => t.kind);
  assert.deepEqual(kinds, ['literal', '..', 'literal', 'eof']);
  const lo = tokenize('6881..6999')[0].literal!;
  assert.equal(lo.kind === 'number' && lo.value, 6881);
});

test('strings with both quotes and every escape', () => {
  const lit = literal(String.raw`"a\"b\\c\n\t\r\0\x41\u00e9"`);
  assert.equal(lit.kind, 'string');
  assert.equal(lit.kind === 'string' && lit.value, 'a"b\\c\n\t\r\0Aé');
  const single = literal(`'it\\'s'`);
  assert.equal(single.kind === 'string' && single.value, "it's");
});

test('IPv4 and IPv6 addresses and prefixes, including ones that start like names', () => {
  const cases: Array<[string, number, number | null]> = [
    ['10.0.0.1', 4, null],
    ['10.0.0.0/8', 4, 8],
    ['0.0.0.0/0', 4, 0],
    ['2001:db8::/32', 16, 32],
    ['fe80::1', 16, null],
    ['::1', 16, null],
    ['::', 16, null],
    ['::ffff:192.0.2.1', 16, null],
    ['dead:beef::/128', 16, 128],
  ];
  for (const [src, len, prefixLen] of cases) {
    const lit = literal(src);
    assert.equal(lit.kind, 'addr', src);
    if (lit.kind !== 'addr') continue;
    assert.equal(lit.bytes.length, len, src);
    assert.equal(lit.prefixLen, prefixLen, src);
  }
  const mapped = literal('::ffff:192.0.2.1');
  assert.equal(mapped.kind === 'addr' && mapped.bytes.toString('hex'), '00000000000000000000ffffc0000201');
});

test('names are dotted, keywords and booleans are recognised', () => {
  const tokens = tokenize('tcp.syn and not flow.bytes or x in true false');
  assert.deepEqual(
    tokens.map((t) => [t.kind, t.text]),
    [
      ['name', 'tcp.syn'],
      ['and', 'and'],
      ['not', 'not'],
      ['name', 'flow.bytes'],
      ['or', 'or'],
      ['name', 'x'],
      ['in', 'in'],
      ['literal', 'true'],
      ['literal', 'false'],
      ['eof', ''],
    ],
  );
});

test('every operator, offsets, and comments', () => {
  const src = '== != < <= > >= ~ ( ) [ ] , .. # a comment\n x';
  const tokens = tokenize(src);
  assert.deepEqual(
    tokens.map((t) => t.kind),
    ['==', '!=', '<', '<=', '>', '>=', '~', '(', ')', '[', ']', ',', '..', 'name', 'eof'],
  );
  assert.equal(tokens[1].offset, 3);
  assert.equal(tokens[13].offset, src.lastIndexOf('x'));
});

test('lexical errors say where and what', () => {
  assert.match(faultOf('x = 1').reason, /'=' is not an operator here; write '=='/);
  assert.equal(faultOf('x = 1').offset, 2);
  assert.match(faultOf('a && b').reason, /write 'and'/);
  assert.match(faultOf('a || b').reason, /write 'or'/);
  assert.match(faultOf('x == 10parsecs').reason, /unknown unit 'parsecs'/);
  assert.equal(faultOf('x == 10parsecs').offset, 7);
  assert.match(faultOf('x == "abc').reason, /unterminated string/);
  assert.match(faultOf(String.raw`x == "\q"`).reason, /unknown escape/);
  assert.match(faultOf('x == 300.1.1.1').reason, /malformed IPv4 address/);
  assert.match(faultOf('x in 10.0.0.0/33').reason, /prefix length \/33 is longer than 32/);
  assert.match(faultOf('x in ::/129').reason, /longer than 128/);
  assert.match(faultOf('x in 1:2:3:4:5:6:7:8:9').reason, /malformed IPv6 address/);
  assert.match(faultOf('x == 80x').reason, /unknown unit 'x'/);
  assert.match(faultOf('x == 0x1g').reason, /malformed hex number/);
  assert.equal(faultOf('x $ 1').code, 'syntax');
  assert.match(faultOf('rport: 80').reason, /unexpected ':' \(compare with '=='/);
  assert.equal(faultOf('rport: 80').offset, 5);
});

test('a prefix with host bits set is rejected with the network it probably meant', () => {
  const f = faultOf('raddr in 10.1.2.3/8');
  assert.equal(f.code, 'literal');
  assert.match(f.reason, /did you mean 10\.0\.0\.0\/8\?/);
  assert.match(faultOf('raddr in 2001:db8::1/32').reason, /did you mean 2001:db8::\/32\?/);
});
