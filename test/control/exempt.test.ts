/**
 * exemptRulesFrom: `datapath.exempt` rule strings → the firewall planner's ExemptRules, in
 * disjunctive normal form; and every refusal, with its message and position.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuleError } from '../../src/classify/errors.js';
import { exemptRulesFrom, MAX_EXEMPT_RULES } from '../../src/control/exempt.js';
import { planFirewall, ruleLine } from '../../src/datapath/firewall/plan.js';
import type { ExemptRule } from '../../src/datapath/firewall/types.js';

const ORIGIN = { label: 'datapath.exempt[0]', file: 'sluice.yaml', line: 4, column: 7 };

const convert = (source: string): ExemptRule[] => exemptRulesFrom([{ source, origin: ORIGIN }]);

/** The RuleError a rule is refused with. */
function refusal(source: string): RuleError {
  try {
    convert(source);
  } catch (err) {
    if (err instanceof RuleError) return err;
    throw err;
  }
  assert.fail(`expected ${source} to be refused`);
}

test('and gives the fields of one rule; proto names and numbers both become the planner\'s names', () => {
  assert.deepEqual(convert('proto == "tcp" and lport == 22'), [{ proto: 'tcp', lport: 22 }]);
  assert.deepEqual(convert('proto == 17 and rport == 53'), [{ proto: 'udp', rport: 53 }]);
  assert.deepEqual(convert('proto == 47'), [{ proto: 47 }]);
});

test('or gives one rule per side, and sources are concatenated in order', () => {
  assert.deepEqual(
    exemptRulesFrom([
      { source: 'lport == 22 or raddr == 192.0.2.1', origin: ORIGIN },
      { source: 'proto == "icmp"', origin: { ...ORIGIN, label: 'datapath.exempt[1]' } },
    ]),
    [{ lport: 22 }, { raddr: '192.0.2.1/32' }, { proto: 'icmp' }],
  );
});

test('in [list] gives one rule per item, ranges as [lo, hi]', () => {
  assert.deepEqual(convert('lport in [22, 6881..6999]'), [{ lport: 22 }, { lport: [6881, 6999] }]);
  assert.deepEqual(convert('rport in 1024..65535'), [{ rport: [1024, 65535] }]);
});

test('and over or multiplies out: every combination, and duplicates are dropped', () => {
  assert.deepEqual(convert('proto in ["tcp", "udp"] and (lport == 53 or rport == 53)'), [
    { proto: 'tcp', lport: 53 },
    { proto: 'tcp', rport: 53 },
    { proto: 'udp', lport: 53 },
    { proto: 'udp', rport: 53 },
  ]);
  assert.deepEqual(convert('lport in [22, 22] or lport == 22'), [{ lport: 22 }]);
});

test('CIDR prefixes, IPv4 and IPv6, become laddr/raddr', () => {
  assert.deepEqual(convert('laddr in 10.0.0.0/8'), [{ laddr: '10.0.0.0/8' }]);
  assert.deepEqual(convert('raddr in [2001:db8::/32, 192.168.0.0/16]'), [{ raddr: '2001:db8::/32' }, { raddr: '192.168.0.0/16' }]);
  assert.deepEqual(convert('laddr == fe80::1 and proto == "icmpv6"'), [{ proto: 'icmpv6', laddr: 'fe80::1/128' }]);
});

test('two conditions on one field are intersected: overlapping ranges, nested prefixes', () => {
  assert.deepEqual(convert('lport in 1000..2000 and lport in 1500..3000'), [{ lport: [1500, 2000] }]);
  assert.deepEqual(convert('lport in 1000..2000 and lport == 1500'), [{ lport: 1500 }]);
  assert.deepEqual(convert('raddr in 10.0.0.0/8 and raddr in 10.1.0.0/16'), [{ raddr: '10.1.0.0/16' }]);
  assert.deepEqual(convert('proto == "tcp" and proto == 6 and lport == 22'), [{ proto: 'tcp', lport: 22 }]);
});

test('ipv is accepted where an address or icmp already pins the family, and dropped', () => {
  assert.deepEqual(convert('ipv == 6 and raddr in 2001:db8::/32'), [{ raddr: '2001:db8::/32' }]);
  assert.deepEqual(convert('ipv == 4 and proto == "icmp"'), [{ proto: 'icmp' }]);
});

test('refusals name the rule, point at the offending part and say what an exemption can express', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['not lport == 22', 1, /^'not' cannot be an exemption: iptables RETURN rules list what to skip.*\(an exemption is ==, in \[list\] or a\.\.b conditions joined by and\/or\)$/],
    ['lport not in [22, 80]', 1, /^'not in' cannot be an exemption/],
    ['proto == "tcp" and lport != 22', 20, /^'!=' cannot be an exemption/],
    ['lport < 1024', 1, /^'<' cannot be an exemption: write a range, e\.g\. lport in 1024\.\.65535/],
    ['sport == 22', 1, /^'sport' holds in one direction only; exemptions are written with laddr\/raddr\/lport\/rport, which hold in both directions — write lport instead of sport$/],
    ['proto == "tcp" and dst in 10.0.0.0/8', 20, /write raddr instead of dst$/],
    ['proto == "tcp" and tcp.syn', 20, /^an exempt rule may use only proto, ipv, laddr, raddr, lport, rport; not 'tcp\.syn'$/],
    ['lport == 1 and lport == 2', 25, /^lport cannot be both 1 and 2, so this exemption never matches — did you mean 'or'\?$/],
    ['raddr in 10.0.0.0/8 and raddr in 192.168.0.0/16', 34, /^raddr cannot be both 10\.0\.0\.0\/8 and 192\.168\.0\.0\/16/],
    ['proto == "tcp" and proto == "udp"', 29, /^proto cannot be both "tcp" and "udp"/],
    ['ipv == 6 and laddr in 10.0.0.0/8', 8, /^laddr 10\.0\.0\.0\/8 and ipv 6 cannot hold together/],
    ['ipv == 4', 8, /^'ipv == 4' alone cannot be an exemption: iptables and ip6tables get the same exemptions — add laddr or raddr of that family/],
    ['proto in 6..17', 10, /^a range of protocols cannot be an exemption: list them/],
    ['proto == "icmp" and lport == 22', 10, /^port conditions need proto tcp or udp, not icmp$/],
    ['laddr in 10.0.0.0/8 and raddr in 2001:db8::/32', 10, /are of different families: the exemption could never match$/],
    ['true', 1, /^an exemption with no condition would exempt all traffic$/],
    ['false', 1, /^this exemption can never match anything — remove it$/],
    ['lport == 70000', 10, /^70000 is not a port 0-65535$/],
    ['proto == 0', 10, /^protocol 0 is not tcp, udp, icmp, icmpv6 or a number 1-255$/],
  ];
  for (const [source, ruleColumn, reason] of cases) {
    const err = refusal(source);
    assert.match(err.reason, reason, source);
    assert.equal(err.ruleColumn, ruleColumn, `${source}: column of ${err.reason}`);
    assert.equal(err.label, 'datapath.exempt[0]');
    assert.equal(err.line, 4);
    assert.equal(err.column, 7 + ruleColumn - 1, source);
    assert.ok(err.message.startsWith(`sluice.yaml:4:${7 + ruleColumn - 1}: datapath.exempt[0]: `), err.message);
  }
});

test('type errors of the rule language are reported too, as for a class match', () => {
  const err = refusal('lport == "ssh"');
  assert.equal(err.code, 'type');
  assert.match(err.reason, /^'lport' is a number; expected a number, found "ssh"$/);
});

test(`a rule expanding to more than ${MAX_EXEMPT_RULES} rules is refused; exactly ${MAX_EXEMPT_RULES} is fine`, () => {
  const list = (n: number): string => `[${Array.from({ length: n }, (_, i) => i + 1).join(', ')}]`;
  assert.equal(convert(`lport in ${list(16)} and rport in ${list(16)}`).length, 256);
  const product = refusal(`lport in ${list(16)} and rport in ${list(17)}`);
  assert.match(product.reason, /^this exemption expands to 272 iptables exemptions, more than 256 — use ranges a\.\.b or prefixes instead of long lists$/);
  assert.match(refusal(`lport in ${list(257)}`).reason, /expands to 257 iptables exemptions/);
  assert.match(refusal(Array.from({ length: 257 }, (_, i) => `lport == ${i}`).join(' or ')).reason, /expands to 257 iptables exemptions/);
});

test('planFirewall on the converted `proto == "tcp" and lport == 22`: RETURN on --sport 22 egress, --dport 22 ingress, both families', () => {
  const plan = planFirewall({
    queues: { first: 0, last: 0 },
    failOpen: true,
    bypassMark: null,
    links: [{ interface: 'eth0', egress: true, ingress: true }],
    exempt: convert('proto == "tcp" and lport == 22'),
  });
  const C = '-m comment --comment sluice';
  for (const family of [plan.ipv4, plan.ipv6]) {
    const returns = family.rules.map((r) => ruleLine(r)).filter((l) => l.includes('-p tcp'));
    assert.deepEqual(returns, [
      `-A SLUICE-EGRESS -p tcp -m tcp --sport 22 ${C} -j RETURN`,
      `-A SLUICE-INGRESS -p tcp -m tcp --dport 22 ${C} -j RETURN`,
    ]);
  }
});
