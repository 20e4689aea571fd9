/** planFirewall: the exact rules for iptables and ip6tables, for several descriptions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planFirewall, ruleLine } from '../../../src/datapath/firewall/plan.js';
import { FirewallError } from '../../../src/datapath/firewall/errors.js';
import type { FamilyPlan, FirewallDescription } from '../../../src/datapath/firewall/types.js';

const C = '-m comment --comment sluice';

function base(over: Partial<FirewallDescription> = {}): FirewallDescription {
  return {
    queues: { first: 0, last: 0 },
    failOpen: true,
    bypassMark: 0x58,
    links: [{ interface: 'eth0', egress: true, ingress: false }],
    exempt: [],
    ...over,
  };
}

const lines = (p: FamilyPlan): string[] => [...p.chains.map((c) => `-N ${c}`), ...p.rules.map((r) => ruleLine(r)), ...p.jumps.map((r) => ruleLine(r))];

test('one link, egress only: one chain, one POSTROUTING jump, loopback and mark bypass, NFQUEUE with --queue-bypass', () => {
  const plan = planFirewall(base());
  const expected = [
    '-N SLUICE-EGRESS',
    `-A SLUICE-EGRESS -o lo ${C} -j RETURN`,
    `-A SLUICE-EGRESS -m mark --mark 0x58 ${C} -j RETURN`,
    `-A SLUICE-EGRESS ${C} -j NFQUEUE --queue-num 0 --queue-bypass`,
    `-A POSTROUTING -o eth0 ${C} -j SLUICE-EGRESS`,
  ];
  assert.equal(plan.table, 'mangle');
  assert.deepEqual(lines(plan.ipv4), expected);
  assert.deepEqual(lines(plan.ipv6), expected);
  assert.equal(plan.ipv4.family, 'ipv4');
  assert.equal(plan.ipv6.family, 'ipv6');
});

test('egress and ingress on two links: ingress jumps from INPUT and FORWARD with -i, never from PREROUTING or OUTPUT', () => {
  const plan = planFirewall(
    base({
      queues: { first: 3, last: 3 },
      links: [
        { interface: 'eth0', egress: true, ingress: true },
        { interface: 'wg0', egress: false, ingress: true },
      ],
    }),
  );
  assert.deepEqual(lines(plan.ipv4), [
    '-N SLUICE-EGRESS',
    '-N SLUICE-INGRESS',
    `-A SLUICE-EGRESS -o lo ${C} -j RETURN`,
    `-A SLUICE-EGRESS -m mark --mark 0x58 ${C} -j RETURN`,
    `-A SLUICE-EGRESS ${C} -j NFQUEUE --queue-num 3 --queue-bypass`,
    `-A SLUICE-INGRESS -i lo ${C} -j RETURN`,
    `-A SLUICE-INGRESS -m mark --mark 0x58 ${C} -j RETURN`,
    `-A SLUICE-INGRESS ${C} -j NFQUEUE --queue-num 3 --queue-bypass`,
    `-A POSTROUTING -o eth0 ${C} -j SLUICE-EGRESS`,
    `-A INPUT -i eth0 ${C} -j SLUICE-INGRESS`,
    `-A INPUT -i wg0 ${C} -j SLUICE-INGRESS`,
    `-A FORWARD -i eth0 ${C} -j SLUICE-INGRESS`,
    `-A FORWARD -i wg0 ${C} -j SLUICE-INGRESS`,
  ]);
});

test('a queue range becomes --queue-balance A:B', () => {
  const plan = planFirewall(base({ queues: { first: 2, last: 5 } }));
  assert.equal(ruleLine(plan.ipv4.rules.at(-1)!), `-A SLUICE-EGRESS ${C} -j NFQUEUE --queue-balance 2:5 --queue-bypass`);
  assert.equal(ruleLine(plan.ipv6.rules.at(-1)!), `-A SLUICE-EGRESS ${C} -j NFQUEUE --queue-balance 2:5 --queue-bypass`);
});

test('fail closed: no --queue-bypass; no bypass mark: no mark rule', () => {
  const plan = planFirewall(base({ failOpen: false, bypassMark: null, queues: { first: 7, last: 8 } }));
  assert.deepEqual(lines(plan.ipv4), [
    '-N SLUICE-EGRESS',
    `-A SLUICE-EGRESS -o lo ${C} -j RETURN`,
    `-A SLUICE-EGRESS ${C} -j NFQUEUE --queue-balance 7:8`,
    `-A POSTROUTING -o eth0 ${C} -j SLUICE-EGRESS`,
  ]);
});

test('exemptions are side-aware: lport is --sport on egress and --dport on ingress, laddr is -s on egress and -d on ingress', () => {
  const plan = planFirewall(
    base({
      links: [{ interface: 'eth0', egress: true, ingress: true }],
      exempt: [
        { proto: 'tcp', lport: 22 },
        { proto: 'udp', rport: [5000, 5010], laddr: '192.168.1.7', raddr: '10.1.2.3/8' },
      ],
    }),
  );
  const exemptLines = (p: FamilyPlan, chain: string): string[] =>
    p.rules.filter((r) => r.chain === chain).slice(2, -1).map((r) => ruleLine(r));
  assert.deepEqual(exemptLines(plan.ipv4, 'SLUICE-EGRESS'), [
    `-A SLUICE-EGRESS -p tcp -m tcp --sport 22 ${C} -j RETURN`,
    `-A SLUICE-EGRESS -s 192.168.1.7/32 -d 10.0.0.0/8 -p udp -m udp --dport 5000:5010 ${C} -j RETURN`,
  ]);
  assert.deepEqual(exemptLines(plan.ipv4, 'SLUICE-INGRESS'), [
    `-A SLUICE-INGRESS -p tcp -m tcp --dport 22 ${C} -j RETURN`,
    `-A SLUICE-INGRESS -s 10.0.0.0/8 -d 192.168.1.7/32 -p udp -m udp --sport 5000:5010 ${C} -j RETURN`,
  ]);
  assert.deepEqual(exemptLines(plan.ipv6, 'SLUICE-EGRESS'), [`-A SLUICE-EGRESS -p tcp -m tcp --sport 22 ${C} -j RETURN`], 'the IPv4 address rule is absent from ip6tables');
  assert.deepEqual(exemptLines(plan.ipv6, 'SLUICE-INGRESS'), [`-A SLUICE-INGRESS -p tcp -m tcp --dport 22 ${C} -j RETURN`]);
});

test('an IPv4 CIDR exemption is absent from the ip6tables plan, an IPv6 one from the iptables plan', () => {
  const plan = planFirewall(base({ exempt: [{ raddr: '203.0.113.0/24' }, { raddr: '2001:DB8:0:0::1/64' }] }));
  const mid = (p: FamilyPlan): string[] => p.rules.slice(2, -1).map((r) => ruleLine(r));
  assert.deepEqual(mid(plan.ipv4), [`-A SLUICE-EGRESS -d 203.0.113.0/24 ${C} -j RETURN`]);
  assert.deepEqual(mid(plan.ipv6), [`-A SLUICE-EGRESS -d 2001:db8::/64 ${C} -j RETURN`]);
});

test('the exemption comes after loopback and mark and before NFQUEUE, in both chains', () => {
  const plan = planFirewall(base({ links: [{ interface: 'eth0', egress: true, ingress: true }], exempt: [{ proto: 47 }] }));
  for (const chain of ['SLUICE-EGRESS', 'SLUICE-INGRESS']) {
    const rules = plan.ipv4.rules.filter((r) => r.chain === chain).map((r) => r.args.join(' '));
    assert.equal(rules.length, 4);
    assert.match(rules[0], /^-[io] lo /);
    assert.match(rules[1], /^-m mark /);
    assert.equal(rules[2], `-p 47 ${C} -j RETURN`);
    assert.match(rules[3], /-j NFQUEUE/);
  }
});

test('every planned rule and jump carries the sluice comment', () => {
  const plan = planFirewall(base({ links: [{ interface: 'eth0', egress: true, ingress: true }], exempt: [{ lport: 53 }] }));
  for (const p of [plan.ipv4, plan.ipv6]) {
    for (const r of [...p.rules, ...p.jumps]) assert.ok(r.args.join(' ').includes(C), ruleLine(r));
  }
});

test('a link with neither direction gets no chain and no jump', () => {
  const plan = planFirewall(base({ links: [{ interface: 'eth1', egress: false, ingress: false }] }));
  assert.deepEqual(lines(plan.ipv4), []);
});

test('invalid descriptions are refused with a FirewallError naming the problem', () => {
  const bad: Array<[Partial<FirewallDescription>, RegExp]> = [
    [{ queues: { first: 4, last: 2 } }, /first <= last/],
    [{ queues: { first: 0, last: 65536 } }, /0-65535/],
    [{ bypassMark: 0 }, /every unmarked packet/],
    [{ links: [{ interface: 'eth0; rm -rf /', egress: true, ingress: false }] }, /not an interface name/],
    [{ links: [{ interface: 'averyveryverylongname', egress: true, ingress: false }] }, /not an interface name/],
    [{ links: [{ interface: 'lo', egress: true, ingress: false }] }, /loopback/],
    [{ links: [{ interface: 'eth0', egress: true, ingress: false }, { interface: 'eth0', egress: false, ingress: true }] }, /listed twice/],
    [{ exempt: [{ proto: 'tcp' }, { lport: 70000 }] }, /^exempt rule 2: lport/],
  ];
  for (const [over, message] of bad) {
    assert.throws(
      () => planFirewall(base(over)),
      (e: unknown) => e instanceof FirewallError && e.code === 'invalid' && message.test(e.message),
      JSON.stringify(over),
    );
  }
});
