import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRule, listAttributes } from '../../src/classify/compile.js';
import { RuleError } from '../../src/classify/errors.js';
import { AttributeRegistry, defaultAttributes, editDistance } from '../../src/classify/attributes.js';

function errorOf(source: string): RuleError {
  try {
    compileRule(source, { label: 'r' });
  } catch (err) {
    assert.ok(err instanceof RuleError);
    return err;
  }
  assert.fail(`expected ${source} to be rejected`);
}

test('type errors are caught at load time, at the offending value', () => {
  const cases: Array<[string, RegExp, number]> = [
    ['rport == "http"', /'rport' is a number; expected a number, found "http"/, 10],
    ['tcp.syn == 1', /expected true or false, found 1/, 12],
    ['tcp.syn < true', /'<' does not apply to 'tcp\.syn'/, 11],
    ['proto == true', /expected a number or one of "icmp", "tcp", "udp", "icmpv6", found true/, 10],
    ['direction == 0', /'direction' is one of a set of names; expected one of "egress", "ingress", found 0/, 14],
    ['direction < "egress"', /'<' does not apply to 'direction'/, 13],
    ['proto < "tcp"', /'<' compares numbers, and "tcp" is a name/, 9],
    ['raddr == 10.0.0.0/8', /10\.0\.0\.0\/8 is a prefix; write 'raddr in 10\.0\.0\.0\/8'/, 10],
    ['raddr < 10.0.0.1', /'<' does not apply to 'raddr'/, 9],
    ['raddr == 80', /expected an address such as 192\.0\.2\.1/, 10],
    ['raddr in [10.0.0.1..10.0.0.9]', /address ranges are written as prefixes/, 11],
    ['rport in [80, "http"]', /expected a number, found "http"/, 15],
    ['rport ~ "^8"', /'~' matches strings .* but 'rport' is a number/, 1],
    ['tcp.syn in [true]', /'tcp\.syn' is a condition; use it alone/, 13],
    ['rport', /'rport' is a number, not a condition; compare it, as in rport == …/, 1],
    ['raddr', /compare it, as in raddr in 10\.0\.0\.0\/8/, 1],
    ['flow.age > 10MB', /'flow\.age' is a number \(duration\); expected a duration such as 5s, found 10MB \(a size\)/, 12],
    ['flow.rate > 5s', /expected a rate such as 400kbit, found 5s/, 13],
    ['rport == 5s', /expected a plain number, found 5s/, 10],
    ['proto == "tpc"', /'proto' has no value "tpc" — did you mean "tcp"\?/, 10],
  ];
  for (const [src, reason, column] of cases) {
    const e = errorOf(src);
    assert.equal(e.code, 'type', src);
    assert.match(e.reason, reason, src);
    assert.equal(e.column, column, src);
  }
});

test('an empty range is a literal error', () => {
  const e = errorOf('rport in 100..10');
  assert.equal(e.code, 'literal');
  assert.match(e.reason, /the range 100\.\.10 is empty/);
  assert.equal(e.column, 10);
});

test('a bad regular expression is a literal error at the pattern', () => {
  assert.throws(
    () => compileRule('cmd ~ "(unclosed"', { label: 'r' }),
    (e: unknown) => e instanceof RuleError && e.code === 'literal' && e.column === 7 && /bad regular expression/.test(e.reason),
  );
});

test('unknown attributes suggest the closest name when it is a likely typo', () => {
  const cases: Array<[string, string | null]> = [
    ['rpot', 'rport'],
    ['rprot', 'rport'],
    ['lprt', 'lport'],
    ['tcp.sny', 'tcp.syn'],
    ['protocol', null],
    ['flow.byte', 'flow.bytes'],
    ['dsp', 'dscp'],
    ['zzzzzz', null],
  ];
  for (const [name, suggestion] of cases) {
    const e = errorOf(`${name} == 1`);
    assert.equal(e.code, 'unknown-attribute', name);
    assert.equal(e.reason, `unknown attribute '${name}'${suggestion ? ` — did you mean '${suggestion}'?` : ''}`);
  }
});

test('edit distance counts insertions, deletions, substitutions and swaps', () => {
  assert.equal(editDistance('rpot', 'rport'), 1);
  assert.equal(editDistance('rport', 'rpotr'), 1);
  assert.equal(editDistance('abc', 'ca'), 3);
  assert.equal(editDistance('tcp.sny', 'tcp.syn'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('enum names are accepted case-insensitively and compile to numbers', () => {
  assert.deepEqual([...compileRule('proto == "TCP"', { label: 'r' }).attributes], ['proto']);
  assert.doesNotThrow(() => compileRule('dscp == "EF" or dscp in ["af41", 10] or ecn == "ce"', { label: 'r' }));
  assert.doesNotThrow(() => compileRule('proto in [6, "udp"] and proto < 100', { label: 'r' }));
});

test('the registry: new attributes are usable without touching the parser', () => {
  const registry = new AttributeRegistry();
  registry.register({ name: 'owner.name', type: 'string', scope: 'flow', description: 'owner', read: () => 'fred' });
  registry.register({ name: 'geo.cc', type: 'enum', scope: 'flow', description: 'country', values: new Map([['sk', 1]]), numeric: false, read: () => 1 });
  const r = compileRule('owner.name == "fred" and geo.cc == "SK"', { label: 'r' }, registry);
  assert.equal(r.perPacket, false);
  assert.equal(r.test(null as never), true);
  assert.throws(() => registry.register({ name: 'owner.name', type: 'bool', scope: 'flow', description: '', read: () => true }), /already registered/);
  assert.throws(() => registry.register({ name: 'Bad-Name', type: 'bool', scope: 'flow', description: '', read: () => true }), /bad attribute name/);
  assert.throws(() => registry.register({ name: 'and', type: 'bool', scope: 'flow', description: '', read: () => true }), /bad attribute name/);
  assert.throws(() => compileRule('rport == 80', { label: 'r' }, registry), /unknown attribute 'rport'/);
  assert.equal(defaultAttributes.get('owner.name'), undefined, 'the default registry is untouched');
});

test('listAttributes describes every built-in attribute with type and scope', () => {
  const list = listAttributes();
  const byName = new Map(list.map((a) => [a.name, a]));
  const expected: Array<[string, string, string]> = [
    ['tcp.syn', 'bool', 'packet'],
    ['tcp.ack', 'bool', 'packet'],
    ['tcp.fin', 'bool', 'packet'],
    ['tcp.rst', 'bool', 'packet'],
    ['tcp.pure_ack', 'bool', 'packet'],
    ['icmp.type', 'number', 'packet'],
    ['icmp.code', 'number', 'packet'],
    ['dscp', 'enum', 'packet'],
    ['ecn', 'enum', 'packet'],
    ['length', 'number', 'packet'],
    ['ttl', 'number', 'packet'],
    ['direction', 'enum', 'packet'],
    ['src', 'addr', 'packet'],
    ['dst', 'addr', 'packet'],
    ['sport', 'number', 'packet'],
    ['dport', 'number', 'packet'],
    ['proto', 'enum', 'flow'],
    ['ipv', 'number', 'flow'],
    ['laddr', 'addr', 'flow'],
    ['raddr', 'addr', 'flow'],
    ['lport', 'number', 'flow'],
    ['rport', 'number', 'flow'],
    ['flow.bytes', 'number', 'packet'],
    ['flow.packets', 'number', 'packet'],
    ['flow.age', 'number', 'packet'],
    ['flow.rate', 'number', 'packet'],
  ];
  for (const [name, type, scope] of expected) {
    const a = byName.get(name);
    assert.ok(a, name);
    assert.equal(a.type, type, name);
    assert.equal(a.scope, scope, name);
    assert.ok(a.description.length > 5, name);
  }
  assert.deepEqual(byName.get('proto')?.values, ['icmp', 'tcp', 'udp', 'icmpv6']);
  assert.equal(byName.get('flow.age')?.unit, 'duration');
});

test('the flow-counter attributes the engine fills on demand are exactly the registered flow.* ones', async () => {
  const { FLOW_COUNTER_ATTRIBUTES } = await import('../../src/classify/attributes.js');
  const { L7_ATTRIBUTES } = await import('../../src/classify/flow-facts.js');
  const registered = listAttributes().map((a) => a.name).filter((n) => n.startsWith('flow.') && !L7_ATTRIBUTES.has(n)).sort();
  assert.deepEqual(registered, [...FLOW_COUNTER_ATTRIBUTES].sort());
});
