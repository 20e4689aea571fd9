/** exemptMatches and parseCidr: the restricted rule subset as iptables matches, side- and family-aware. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exemptMatches } from '../../../src/datapath/firewall/exempt.js';
import { parseCidr } from '../../../src/datapath/firewall/address.js';
import { FirewallError } from '../../../src/datapath/firewall/errors.js';
import type { ExemptRule } from '../../../src/datapath/firewall/types.js';

const j = (lists: string[][]): string[] => lists.map((l) => l.join(' '));

test('local and remote ports and addresses swap sides between egress and ingress', () => {
  const rule = { proto: 'tcp' as const, lport: 22, rport: [1024, 65535] as const, laddr: '10.0.0.1', raddr: '198.51.100.0/24' };
  assert.deepEqual(j(exemptMatches(rule, 'egress', 'ipv4')), ['-s 10.0.0.1/32 -d 198.51.100.0/24 -p tcp -m tcp --sport 22 --dport 1024:65535']);
  assert.deepEqual(j(exemptMatches(rule, 'ingress', 'ipv4')), ['-s 198.51.100.0/24 -d 10.0.0.1/32 -p tcp -m tcp --sport 1024:65535 --dport 22']);
  assert.deepEqual(exemptMatches(rule, 'egress', 'ipv6'), []);
});

test('a port without a protocol becomes a tcp rule and a udp rule', () => {
  assert.deepEqual(j(exemptMatches({ rport: 53 }, 'egress', 'ipv6')), ['-p tcp -m tcp --dport 53', '-p udp -m udp --dport 53']);
  assert.deepEqual(j(exemptMatches({ lport: [1, 1] }, 'ingress', 'ipv4')), ['-p tcp -m tcp --dport 1', '-p udp -m udp --dport 1']);
});

test('icmp is IPv4 only and icmpv6 IPv6 only, as in the classifier; other numbers go to both families', () => {
  assert.deepEqual(j(exemptMatches({ proto: 'icmp' }, 'egress', 'ipv4')), ['-p icmp']);
  assert.deepEqual(exemptMatches({ proto: 'icmp' }, 'egress', 'ipv6'), []);
  assert.deepEqual(j(exemptMatches({ proto: 'icmpv6' }, 'ingress', 'ipv6')), ['-p ipv6-icmp']);
  assert.deepEqual(exemptMatches({ proto: 58 }, 'ingress', 'ipv4'), []);
  assert.deepEqual(j(exemptMatches({ proto: 6, lport: 80 }, 'egress', 'ipv6')), ['-p tcp -m tcp --sport 80']);
  assert.deepEqual(j(exemptMatches({ proto: 132 }, 'egress', 'ipv6')), ['-p 132']);
  assert.deepEqual(j(exemptMatches({ proto: 132 }, 'egress', 'ipv4')), ['-p 132']);
});

test('an IPv6 address rule is kept only in the IPv6 plan', () => {
  assert.deepEqual(j(exemptMatches({ laddr: 'fd00::5' }, 'egress', 'ipv6')), ['-s fd00::5/128']);
  assert.deepEqual(exemptMatches({ laddr: 'fd00::5' }, 'egress', 'ipv4'), []);
});

test('rules that could never match, or would match everything, are refused', () => {
  const bad: Array<[object, RegExp]> = [
    [{}, /exempt all traffic/],
    [{ laddr: '10.0.0.1', raddr: '::1' }, /different families/],
    [{ proto: 'icmp', lport: 1 }, /need proto tcp or udp/],
    [{ proto: 'icmp', raddr: '2001:db8::/32' }, /does not exist in ipv6/],
    [{ proto: 0 }, /not tcp, udp/],
    [{ proto: 'sctp' }, /not tcp, udp/],
    [{ lport: [10, 5] }, /lo <= hi/],
    [{ rport: 1.5 }, /rport/],
    [{ raddr: '10.0.0.256' }, /not an IPv4 or IPv6/],
    [{ raddr: '10.0.0.0/33' }, /prefix length must be 0 to 32/],
    [{ raddr: '1:2:3:4:5:6:7:8:9' }, /not an IPv4 or IPv6/],
  ];
  for (const [rule, message] of bad) {
    assert.throws(
      () => exemptMatches(rule as ExemptRule, 'egress', 'ipv4'),
      (e: unknown) => e instanceof FirewallError && e.code === 'invalid' && message.test(e.message),
      JSON.stringify(rule),
    );
  }
});

test('parseCidr prints addresses the way iptables -S does: host bits cleared, /prefix always, inet_ntop compression', () => {
  const cases: Array<[string, string]> = [
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['192.168.1.7', '192.168.1.7/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['172.16.255.255/12', '172.16.0.0/12'],
    ['2001:DB8:0:0::1/64', '2001:db8::/64'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1/128'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1/128'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7/128'],
    ['::', '::/128'],
    ['::1', '::1/128'],
    ['fe80::/10', 'fe80::/10'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4/128'],
    ['::ffff:0102:0304', '::ffff:1.2.3.4/128'],
    ['1::', '1::/128'],
  ];
  for (const [input, text] of cases) assert.equal(parseCidr(input).text, text, input);
  assert.equal(parseCidr('::ffff:1.2.3.4').family, 'ipv6');
  assert.equal(parseCidr('1.2.3.4').family, 'ipv4');
});
