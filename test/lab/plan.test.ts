/**
 * The lab's plan (pure, no root needed): names, interface names, addresses and default routes worked
 * out from a description, every mistake in the description rejected before anything is created, and
 * the namespace names that carry the owner pid Lab.cleanupStale relies on.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LINE, PAIR, planLab } from '../../src/lab/plan.js';
import { makeLabId, ownerPid } from '../../src/lab/names.js';

describe('planLab', () => {
  it('a pair: two namespaces, eth0 on each side, 10.200.1.1-2/24 and fd00:200:1::1-2/64, no routes', () => {
    const p = planLab(PAIR, 'sl-abc-wxyz');
    assert.deepEqual(p.hosts.map((h) => [h.netns, h.forward, h.gateway]), [
      ['sl-abc-wxyz-client', false, null],
      ['sl-abc-wxyz-server', false, null],
    ]);
    assert.deepEqual(p.links, [{
      a: { host: 'client', netns: 'sl-abc-wxyz-client', dev: 'eth0', ipv4: '10.200.1.1', ipv6: 'fd00:200:1::1', ipv4Cidr: '10.200.1.1/24', ipv6Cidr: 'fd00:200:1::1/64' },
      b: { host: 'server', netns: 'sl-abc-wxyz-server', dev: 'eth0', ipv4: '10.200.1.2', ipv6: 'fd00:200:1::2', ipv4Cidr: '10.200.1.2/24', ipv6Cidr: 'fd00:200:1::2/64' },
      mtu: undefined,
    }]);
  });

  it('a line: the router forwards with eth0 and eth1, the ends route through its address on their link', () => {
    const p = planLab(LINE, 'sl-abc-wxyz');
    const [client, router, server] = p.hosts;
    assert.equal(router.forward, true);
    assert.equal(client.forward, false);
    assert.deepEqual(client.gateway, { via4: '10.200.1.2', via6: 'fd00:200:1::2', dev: 'eth0' });
    assert.deepEqual(server.gateway, { via4: '10.200.2.1', via6: 'fd00:200:2::1', dev: 'eth0' });
    assert.deepEqual(p.links.map((l) => [l.a.dev, l.b.dev]), [['eth0', 'eth0'], ['eth1', 'eth0']]);
    assert.equal(p.links[1].a.host, 'router');
  });

  it('IPv6 subnets count in hex', () => {
    const hosts = Array.from({ length: 12 }, (_, i) => ({ name: `h${i}` }));
    const links = hosts.slice(1).map((h) => ({ a: 'h0', b: h.name }));
    const p = planLab({ hosts, links }, 'sl-1-aaaa');
    assert.equal(p.links[9].b.ipv6, 'fd00:200:a::2');
    assert.equal(p.links[9].b.ipv4, '10.200.10.2');
    assert.equal(p.links[10].a.dev, 'eth10');
  });

  it('rejects descriptions that cannot be built, naming the problem', () => {
    const bad: [unknown, RegExp][] = [
      [{ hosts: [], links: [] }, /at least one host/],
      [{ hosts: [{ name: 'Client' }], links: [] }, /host name "Client" is not usable/],
      [{ hosts: [{ name: 'a-b' }], links: [] }, /host name "a-b"/],
      [{ hosts: [{ name: 'a' }, { name: 'a' }], links: [] }, /listed twice/],
      [{ hosts: [{ name: 'a' }], links: [{ a: 'a', b: 'z' }] }, /link 0 names host "z"/],
      [{ hosts: [{ name: 'a' }], links: [{ a: 'a', b: 'a' }] }, /joins host "a" to itself/],
      [{ hosts: [{ name: 'a' }, { name: 'b' }], links: [{ a: 'a', b: 'b', devA: 'sixteen-chars-xx' }] }, /"sixteen-chars-xx" is not usable: 1 to 15/],
      [{ hosts: [{ name: 'a' }, { name: 'b' }], links: [{ a: 'a', b: 'b', devB: 'x y' }] }, /"x y" is not usable/],
      [{ hosts: [{ name: 'a' }, { name: 'b' }], links: [{ a: 'a', b: 'b', mtu: 600 }] }, /MTU 600/],
      [{ hosts: [{ name: 'a' }, { name: 'b' }], links: [{ a: 'a', b: 'b', devA: 'x' }, { a: 'a', b: 'b', devA: 'x' }] }, /two interfaces named x/],
      [{ hosts: [{ name: 'a', gateway: 'b' }, { name: 'b' }], links: [] }, /routes through "b", but no link joins them/],
    ];
    for (const [spec, msg] of bad) assert.throws(() => planLab(spec as never, 'sl-1-aaaa'), msg);
  });

  it('accepts a 15-character interface name', () => {
    const p = planLab({ hosts: [{ name: 'a' }, { name: 'b' }], links: [{ a: 'a', b: 'b', devA: 'fifteen-chars-x' }] }, 'sl-1-aaaa');
    assert.equal(p.links[0].a.dev, 'fifteen-chars-x');
  });
});

describe('lab namespace names', () => {
  it('carry the owner pid, which ownerPid reads back with or without a label', () => {
    const plain = makeLabId('sl-', undefined, 4194304);
    const labelled = makeLabId('sl-', 'demo', 77);
    assert.match(plain, /^sl-2hwcg-[0-9a-z]{4}$/);
    assert.match(labelled, /^sl-demo-25-[0-9a-z]{4}$/);
    assert.equal(ownerPid('sl-', `${plain}-client`), 4194304);
    assert.equal(ownerPid('sl-', `${labelled}-router`), 77);
  });

  it('two labs of one process get different names', () => {
    const ids = new Set(Array.from({ length: 50 }, () => makeLabId('sl-', undefined)));
    assert.ok(ids.size >= 49, `only ${ids.size} distinct ids of 50`);
  });

  it('names not made by the lab have no owner', () => {
    assert.equal(ownerPid('sl-', 'sl-client'), null);
    assert.equal(ownerPid('sl-', 'other-1-aaaa-client'), null);
    assert.equal(ownerPid('sl-', 'sl-a-b-c-d-e'), null);
  });

  it('rejects unusable labels and prefixes', () => {
    assert.throws(() => makeLabId('sl-', 'Demo'), /lab name "Demo"/);
    assert.throws(() => makeLabId('sl', undefined), /prefix "sl"/);
  });
});
