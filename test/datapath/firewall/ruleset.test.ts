/** ruleset: reading `iptables -S`, the restore scripts, and comparing a read-back with a plan. Pure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planFirewall } from '../../../src/datapath/firewall/plan.js';
import {
  compareInstalled,
  installScript,
  normalizeLine,
  parseInstalled,
  parseProtocols,
  removeScript,
  splitRuleLine,
} from '../../../src/datapath/firewall/ruleset.js';

const LISTING = [
  '-P PREROUTING ACCEPT',
  '-P POSTROUTING ACCEPT',
  '-N SLUICE-EGRESS',
  '-N SLUICE-OLD',
  '-N USER-CHAIN',
  '-A POSTROUTING -j MARK --set-xmark 0x1/0xffffffff',
  '-A POSTROUTING -o eth0 -m comment --comment sluice -j SLUICE-EGRESS',
  '-A FORWARD -i eth1 -j SLUICE-OLD',
  '-A INPUT -m comment --comment "not sluice" -j ACCEPT',
  '-A SLUICE-EGRESS -o lo -m comment --comment sluice -j RETURN',
  '-A SLUICE-EGRESS -m comment --comment sluice -j NFQUEUE --queue-num 0 --queue-bypass',
  '-A USER-CHAIN -j RETURN',
].join('\n');

test('splitRuleLine honours quotes and escapes as iptables -S writes them', () => {
  assert.deepEqual(splitRuleLine('-A INPUT -m comment --comment "a \\"b\\" c" -j ACCEPT'), ['-A', 'INPUT', '-m', 'comment', '--comment', 'a "b" c', '-j', 'ACCEPT']);
  assert.deepEqual(splitRuleLine('-A X --comment ""'), ['-A', 'X', '--comment', '']);
});

test('parseInstalled finds sluice chains, their rules in order, and jumps into them; user rules are left out', () => {
  const got = parseInstalled('ipv4', LISTING);
  assert.deepEqual(got, {
    family: 'ipv4',
    chains: ['SLUICE-EGRESS', 'SLUICE-OLD'],
    rules: ['-A SLUICE-EGRESS -o lo -m comment --comment sluice -j RETURN', '-A SLUICE-EGRESS -m comment --comment sluice -j NFQUEUE --queue-num 0 --queue-bypass'],
    jumps: ['-A POSTROUTING -o eth0 -m comment --comment sluice -j SLUICE-EGRESS', '-A FORWARD -i eth1 -j SLUICE-OLD'],
  });
});

test('installScript deletes stale jumps, flushes and deletes stale chains, then installs the plan, in one COMMIT', () => {
  const plan = planFirewall({ queues: { first: 1, last: 1 }, failOpen: false, bypassMark: null, links: [{ interface: 'eth0', egress: true, ingress: false }], exempt: [] });
  assert.equal(
    installScript(plan.ipv4, parseInstalled('ipv4', LISTING)),
    [
      '*mangle',
      '-D POSTROUTING -o eth0 -m comment --comment sluice -j SLUICE-EGRESS',
      '-D FORWARD -i eth1 -j SLUICE-OLD',
      ':SLUICE-EGRESS - [0:0]',
      ':SLUICE-OLD - [0:0]',
      '-X SLUICE-OLD',
      '-A SLUICE-EGRESS -o lo -m comment --comment sluice -j RETURN',
      '-A SLUICE-EGRESS -m comment --comment sluice -j NFQUEUE --queue-num 1',
      '-A POSTROUTING -o eth0 -m comment --comment sluice -j SLUICE-EGRESS',
      'COMMIT',
      '',
    ].join('\n'),
  );
});

test('removeScript deletes the jumps before flushing and deleting the chains', () => {
  assert.equal(
    removeScript(parseInstalled('ipv6', LISTING)),
    [
      '*mangle',
      '-D POSTROUTING -o eth0 -m comment --comment sluice -j SLUICE-EGRESS',
      '-D FORWARD -i eth1 -j SLUICE-OLD',
      ':SLUICE-EGRESS - [0:0]',
      ':SLUICE-OLD - [0:0]',
      '-X SLUICE-EGRESS',
      '-X SLUICE-OLD',
      'COMMIT',
      '',
    ].join('\n'),
  );
});

test('normalizeLine maps protocol names to numbers so "gre" read back equals a planned "-p 47"', () => {
  const protocols = parseProtocols('# comment\ngre\t47\tGRE\t# General Routing\nsctp 132 SCTP\n');
  assert.equal(protocols.get('gre'), 47);
  assert.equal(protocols.get('sctp'), 132);
  assert.equal(normalizeLine('-A X -p gre -j RETURN', protocols), normalizeLine('-A X -p 47 -j RETURN', protocols));
  assert.equal(normalizeLine('-A X -p ipv6-icmp -j RETURN', new Map()), '-A X -p 58 -j RETURN');
  assert.notEqual(normalizeLine('-A X -p tcp -j RETURN', protocols), normalizeLine('-A X -p udp -j RETURN', protocols));
});

test('compareInstalled: intact when equal; names missing, unexpected, duplicated and reordered rules otherwise', () => {
  const plan = planFirewall({ queues: { first: 0, last: 0 }, failOpen: true, bypassMark: 0x58, links: [{ interface: 'eth0', egress: true, ingress: false }], exempt: [{ proto: 47 }] }).ipv4;
  const good = [
    '-N SLUICE-EGRESS',
    '-A POSTROUTING -o eth0 -m comment --comment sluice -j SLUICE-EGRESS',
    '-A SLUICE-EGRESS -o lo -m comment --comment sluice -j RETURN',
    '-A SLUICE-EGRESS -m mark --mark 0x58 -m comment --comment sluice -j RETURN',
    '-A SLUICE-EGRESS -p gre -m comment --comment sluice -j RETURN',
    '-A SLUICE-EGRESS -m comment --comment sluice -j NFQUEUE --queue-num 0 --queue-bypass',
  ];
  const protocols = new Map([['gre', 47]]);
  const check = (lines: string[]) => compareInstalled(plan, parseInstalled('ipv4', lines.join('\n')), protocols);
  assert.deepEqual(check(good), { intact: true, problems: [] });

  const noJump = check(good.filter((l) => !l.startsWith('-A POSTROUTING')));
  assert.deepEqual(noJump.problems, ['ipv4: missing -A POSTROUTING -o eth0 -m comment --comment sluice -j SLUICE-EGRESS']);

  const twice = check([...good, good[1]]);
  assert.deepEqual(twice.problems, ['ipv4: unexpected -A POSTROUTING -o eth0 -m comment --comment sluice -j SLUICE-EGRESS']);

  const swapped = check([good[0], good[1], good[2], good[5], good[4], good[3]]);
  assert.deepEqual(swapped.problems, ["ipv4: sluice's rules are out of order"]);

  const flushed = check([]);
  assert.equal(flushed.intact, false);
  assert.equal(flushed.problems[0], 'ipv4: chain SLUICE-EGRESS is missing');
  assert.equal(flushed.problems.length, 1 + 4 + 1);
});
