/**
 * The applier against the real iptables and ip6tables, only ever inside a network namespace this
 * test creates (never the machine's own): install, read back, install over a stale install, verify,
 * remove, and the user's own rules in the same table survive all of it. Needs root: without it the
 * tests fail with one message saying so. The namespace is deleted afterwards, also on failure.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IptablesFirewall } from '../../../src/datapath/firewall/iptables.js';
import { planFirewall, ruleLine } from '../../../src/datapath/firewall/plan.js';
import { normalizeLine, parseInstalled } from '../../../src/datapath/firewall/ruleset.js';
import { execRunner } from '../../../src/datapath/firewall/run.js';
import type { FamilyPlan, FirewallDescription, IpFamily } from '../../../src/datapath/firewall/types.js';

const NETNS = `sl-fw-${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
const TOOL: Record<IpFamily, string> = { ipv4: 'iptables', ipv6: 'ip6tables' };

async function inNs(tool: string, ...args: string[]): Promise<string> {
  const r = await execRunner('ip', ['netns', 'exec', NETNS, tool, ...args]);
  if (r.exitCode !== 0) throw new Error(`${tool} ${args.join(' ')} failed in ${NETNS}: ${r.stderr.trim() || r.spawnError}`);
  return r.stdout;
}

const listing = (family: IpFamily): Promise<string> => inNs(TOOL[family], '-t', 'mangle', '-S');

/** The user's own rules, added before sluice and expected to survive it untouched. */
const USER_RULES: Record<IpFamily, string[]> = {
  ipv4: ['-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT', '-A POSTROUTING -o eth0 -j MARK --set-xmark 0x1/0xffffffff'],
  ipv6: ['-A FORWARD -i eth1 -j MARK --set-xmark 0x2/0xffffffff'],
};

const DESC_A: FirewallDescription = {
  queues: { first: 2, last: 3 },
  failOpen: true,
  bypassMark: 0x58,
  links: [
    { interface: 'eth0', egress: true, ingress: true },
    { interface: 'veth-lan', egress: false, ingress: true },
  ],
  exempt: [{ proto: 'tcp', lport: 22 }, { raddr: '203.0.113.0/24', rport: [5000, 5010] }, { laddr: '2001:db8:0:0::1/64' }, { proto: 'icmp' }],
};

const DESC_B: FirewallDescription = {
  queues: { first: 5, last: 5 },
  failOpen: false,
  bypassMark: null,
  links: [{ interface: 'eth0', egress: true, ingress: false }],
  exempt: [{ proto: 47 }],
};

/** Protocol names iptables prints for the numbers the plans use (47 is printed "gre"). */
const PROTOCOLS = new Map([['gre', 47]]);

/** The sluice lines of a family's -S output: chains, then rules in sluice's chains, then jumps. */
async function sluiceLines(family: IpFamily): Promise<string[]> {
  const installed = parseInstalled(family, await listing(family));
  return [...installed.chains.map((c) => `-N ${c}`), ...installed.rules, ...installed.jumps].map((l) => normalizeLine(l, PROTOCOLS));
}

/** What -S must show of a plan (jumps in hook order, as -S lists PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING). */
function expectedLines(plan: FamilyPlan): string[] {
  const hookOrder = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];
  const jumps = [...plan.jumps].sort((a, b) => hookOrder.indexOf(a.chain) - hookOrder.indexOf(b.chain));
  return [...plan.chains.map((c) => `-N ${c}`), ...plan.rules.map((r) => ruleLine(r)), ...jumps.map((r) => ruleLine(r))].map((l) => normalizeLine(l, PROTOCOLS));
}

async function userRulesSurvive(): Promise<void> {
  for (const family of ['ipv4', 'ipv6'] as const) {
    const lines = (await listing(family)).split('\n');
    for (const rule of USER_RULES[family]) assert.ok(lines.includes(rule), `${family}: user rule "${rule}" is gone`);
  }
}

describe('IptablesFirewall in a private network namespace', () => {
  const fw = new IptablesFirewall({ netns: NETNS });

  before(async () => {
    if (process.getuid?.() !== 0) {
      throw new Error('the firewall applier tests need root (they create a network namespace and run iptables in it): run them as root');
    }
    const add = await execRunner('ip', ['netns', 'add', NETNS]);
    if (add.exitCode !== 0) throw new Error(`ip netns add ${NETNS} failed: ${add.stderr.trim() || add.spawnError}`);
    for (const family of ['ipv4', 'ipv6'] as const) {
      for (const rule of USER_RULES[family]) await inNs(TOOL[family], '-t', 'mangle', ...rule.split(' '));
    }
  });

  after(async () => {
    await execRunner('ip', ['netns', 'del', NETNS]);
  });

  test('a fresh namespace holds nothing of sluice', async () => {
    assert.deepEqual(await fw.detect(), {
      ipv4: { family: 'ipv4', chains: [], rules: [], jumps: [] },
      ipv6: { family: 'ipv6', chains: [], rules: [], jumps: [] },
    });
  });

  test('install: iptables -S reads back exactly the plan, in both families', async () => {
    const plan = planFirewall(DESC_A);
    const changes = await fw.install(plan);
    assert.deepEqual(changes, [
      { family: 'ipv4', removedChains: 0, removedJumps: 0 },
      { family: 'ipv6', removedChains: 0, removedJumps: 0 },
    ]);
    assert.deepEqual(await sluiceLines('ipv4'), expectedLines(plan.ipv4));
    assert.deepEqual(await sluiceLines('ipv6'), expectedLines(plan.ipv6));
    assert.ok((await listing('ipv4')).includes('-d 203.0.113.0/24'));
    assert.ok(!(await listing('ipv6')).includes('203.0.113.0'), 'the IPv4 exemption is not in ip6tables');
    assert.deepEqual(await fw.verify(plan), { intact: true, problems: [] });
    await userRulesSurvive();
  });

  test('installing the same plan again replaces it instead of duplicating it', async () => {
    const plan = planFirewall(DESC_A);
    const changes = await fw.install(plan);
    assert.deepEqual(changes.map((c) => c.removedJumps), [plan.ipv4.jumps.length, plan.ipv6.jumps.length]);
    assert.deepEqual(await sluiceLines('ipv4'), expectedLines(plan.ipv4));
    assert.deepEqual(await sluiceLines('ipv6'), expectedLines(plan.ipv6));
    await userRulesSurvive();
  });

  test('a different plan over a stale install (with a chain of an older run) leaves only the new plan', async () => {
    await inNs('iptables', '-t', 'mangle', '-N', 'SLUICE-OLD');
    await inNs('iptables', '-t', 'mangle', '-A', 'SLUICE-OLD', '-j', 'RETURN');
    await inNs('iptables', '-t', 'mangle', '-A', 'FORWARD', '-i', 'eth9', '-j', 'SLUICE-OLD');
    const plan = planFirewall(DESC_B);
    const changes = await fw.install(plan);
    assert.deepEqual(changes[0], { family: 'ipv4', removedChains: 2, removedJumps: 6 });
    assert.deepEqual(await sluiceLines('ipv4'), expectedLines(plan.ipv4));
    assert.deepEqual(await sluiceLines('ipv6'), expectedLines(plan.ipv6));
    assert.ok((await listing('ipv4')).includes('-A SLUICE-EGRESS -p gre -m comment --comment sluice -j RETURN'));
    assert.deepEqual(await fw.verify(plan), { intact: true, problems: [] }, 'gre read back counts as the planned -p 47');
    await userRulesSurvive();
  });

  test('verify notices a jump someone deleted and a chain someone flushed', async () => {
    const plan = planFirewall(DESC_B);
    await inNs('iptables', '-t', 'mangle', '-D', 'POSTROUTING', '-o', 'eth0', '-m', 'comment', '--comment', 'sluice', '-j', 'SLUICE-EGRESS');
    await inNs('ip6tables', '-t', 'mangle', '-F', 'SLUICE-EGRESS');
    const check = await fw.verify(plan);
    assert.equal(check.intact, false);
    assert.deepEqual(check.problems, [
      'ipv4: missing -A POSTROUTING -o eth0 -m comment --comment sluice -j SLUICE-EGRESS',
      'ipv6: missing -A SLUICE-EGRESS -o lo -m comment --comment sluice -j RETURN',
      'ipv6: missing -A SLUICE-EGRESS -p 47 -m comment --comment sluice -j RETURN',
      'ipv6: missing -A SLUICE-EGRESS -m comment --comment sluice -j NFQUEUE --queue-num 5',
    ]);
    await fw.install(plan);
    assert.deepEqual(await fw.verify(plan), { intact: true, problems: [] });
  });

  test('remove leaves nothing of sluice, keeps the user rules, and is a no-op the second time', async () => {
    const removed = await fw.remove();
    assert.deepEqual(removed, [
      { family: 'ipv4', removedChains: 1, removedJumps: 1 },
      { family: 'ipv6', removedChains: 1, removedJumps: 1 },
    ]);
    for (const family of ['ipv4', 'ipv6'] as const) {
      const text = await listing(family);
      assert.equal(/sluice/i.test(text), false, `${family} still mentions sluice:\n${text}`);
    }
    await userRulesSurvive();
    assert.deepEqual(await fw.remove(), [
      { family: 'ipv4', removedChains: 0, removedJumps: 0 },
      { family: 'ipv6', removedChains: 0, removedJumps: 0 },
    ]);
  });

  test('the rules never reached the machine\'s own namespace', async () => {
    const own = await execRunner('iptables', ['-w', '-t', 'mangle', '-S']);
    assert.equal(own.exitCode, 0);
    assert.equal(own.stdout.includes('--queue-num 5'), false);
    assert.equal(own.stdout.includes('veth-lan'), false);
  });
});
