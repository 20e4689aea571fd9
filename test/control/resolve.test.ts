import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { formatProblem } from '../../src/control/errors.js';
import { loadConfig, parseConfigText } from '../../src/control/load.js';
import { resolveLinks, type ResolvedDirection, type ResolvedLink } from '../../src/control/resolve.js';
import type { SluiceConfig } from '../../src/control/schema.js';

function config(lines: string[]): SluiceConfig {
  const result = parseConfigText(lines.join('\n'), 'sluice.yaml');
  if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
  return result.config;
}

function link(lines: string[]): ResolvedLink {
  return resolveLinks(config(lines))[0];
}

/** path → selected figures, for compact comparisons. */
function figures(dir: ResolvedDirection | null, keys: string[]): Record<string, Record<string, unknown>> {
  assert.ok(dir !== null);
  const out: Record<string, Record<string, unknown>> = {};
  for (const cls of dir.sched.classes) {
    out[cls.path] = Object.fromEntries(keys.map((k) => [k, (cls as unknown as Record<string, unknown>)[k]]));
  }
  return out;
}

test('the sketch resolves to the expected scheduler figures', () => {
  const result = loadConfig(fileURLToPath(new URL('./fixtures/sketch.yaml', import.meta.url)));
  if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
  const [wan] = resolveLinks(result.config);
  assert.equal(wan.name, 'eth0');
  assert.equal(wan.interface, 'eth0');
  assert.equal(wan.overheadBytes, 38);
  assert.equal(wan.mpuBytes, 84);
  assert.equal(wan.mtuBytes, 1500);
  const egress = wan.egress;
  assert.ok(egress !== null);
  assert.equal(egress.sched.rateBps, 20_000_000);
  assert.equal(egress.sched.mtuBytes, 1538);
  assert.equal(egress.sched.globalLimitPackets, 10_000);
  assert.equal(egress.sched.globalLimitBytes, 16_000_000);
  assert.equal(egress.sched.maxSubqueues, 65_536);
  const C = (parent: number, rateBps: number, ceilBps: number, burstBytes: number, cburstBytes: number, prio: number,
    quantumBytes: number, fairness: string, flowCeilBps: number) =>
    ({ parent, rateBps, ceilBps, burstBytes, cburstBytes, prio, quantumBytes, fairness, flowCeilBps });
  assert.deepEqual(figures(egress, Object.keys(C(0, 0, 0, 0, 0, 0, 0, '', 0))), {
    interactive: C(-1, 2_000_000, 20_000_000, 2500, 25_000, 0, 2500, 'flow', 0),
    web: C(-1, 8_000_000, 20_000_000, 10_000, 25_000, 2, 10_000, 'hosts', 0),
    torrents: C(-1, 512_000, 2_400_000, 1538, 3000, 6, 1538, 'none', 0),
    'torrents/fred': C(2, 16_000, 32_000, 1538, 1538, 4, 1538, 'flow', 0),
    // The rest of the torrents: what fred leaves of torrents' rate, torrents' prio and leaf settings.
    'torrents/default': C(2, 496_000, 2_400_000, 1538, 3000, 6, 1538, 'flow', 400_000),
    slovakia: C(-1, 64_000, 256_000, 1538, 1538, 4, 1538, 'flow', 0),
    default: C(-1, 1_000_000, 20_000_000, 1538, 25_000, 4, 1538, 'flow', 0),
  });
  assert.equal(egress.sched.defaultClass, 6);
  for (const cls of egress.sched.classes) {
    assert.deepEqual(cls.codel, { targetUs: 5000, intervalUs: 100_000, ecn: true });
    assert.equal(cls.limitPackets, 1000);
    assert.equal(cls.limitBytes, 4_000_000);
    assert.equal(cls.flowLimitPackets, 0);
  }
  assert.deepEqual(egress.classes.map((c) => [c.path, c.setDscp, c.implicit]), [
    ['interactive', 46, false], ['web', -1, false], ['torrents', -1, false], ['torrents/fred', -1, false],
    ['torrents/default', -1, true], ['slovakia', -1, false], ['default', -1, false],
  ]);
  assert.equal(egress.classes[1].match, 'rport in [80, 443]');
  assert.deepEqual(egress.classes[1].matchOrigin, { label: 'classes.web.match', file: result.config.file, line: 31, column: 12 });
  assert.equal(egress.classes[4].match, null);
  // 100% ceilings follow the link's rate in each direction.
  assert.deepEqual(figures(wan.ingress, ['ceilBps']).interactive, { ceilBps: 95_000_000 });
  assert.deepEqual(figures(wan.ingress, ['ceilBps']).torrents, { ceilBps: 2_400_000 });
});

test('percentages: rate of the parent\'s rate, ceil of the parent\'s ceil, flow_ceil of the class\'s ceil', () => {
  const wan = link([
    'links: [{interface: eth0, egress: 10mbit}]',
    'classes:',
    '  bulk:',
    '    rate: 40%',
    '    ceil: 50%',
    '    match: dport == 80',
    '    classes:',
    '      a: {rate: 25%, ceil: 50%, flow_ceil: 10%, match: sport == 1}',
    '      b: {rate: 100kbit}',
  ]);
  assert.deepEqual(figures(wan.egress, ['rateBps', 'ceilBps', 'flowCeilBps']), {
    bulk: { rateBps: 4_000_000, ceilBps: 5_000_000, flowCeilBps: 0 },
    'bulk/a': { rateBps: 1_000_000, ceilBps: 2_500_000, flowCeilBps: 250_000 },
    'bulk/b': { rateBps: 100_000, ceilBps: 5_000_000, flowCeilBps: 0 },
    'bulk/default': { rateBps: 2_900_000, ceilBps: 5_000_000, flowCeilBps: 0 },
    default: { rateBps: 6_000_000, ceilBps: 10_000_000, flowCeilBps: 0 },
  });
  assert.equal(wan.ingress, null);
});

test('per-direction figures pick each direction\'s own value', () => {
  const wan = link([
    'links: [{interface: eth0, name: wan, egress: 20mbit, ingress: 100mbit}]',
    'classes:',
    '  web:',
    '    rate: {egress: 2mbit, ingress: 10%}',
    '    ceil: {egress: 50%}',
    '    burst: {egress: 20ms, ingress: 64KB}',
    '    match: rport == 443',
  ]);
  assert.equal(wan.name, 'wan');
  assert.deepEqual(figures(wan.egress, ['rateBps', 'ceilBps', 'burstBytes']).web, { rateBps: 2_000_000, ceilBps: 10_000_000, burstBytes: 5000 });
  assert.deepEqual(figures(wan.ingress, ['rateBps', 'ceilBps', 'burstBytes']).web, { rateBps: 10_000_000, ceilBps: 100_000_000, burstBytes: 64_000 });
});

test('implicit default: what the top-level rates leave, at least 1% of the link, ceil 100%, prio 7', () => {
  const leftover = link(['links: [{interface: eth0, egress: 10mbit}]', 'classes:', '  a: {rate: 3mbit, match: dport == 1}']);
  assert.deepEqual(figures(leftover.egress, ['rateBps', 'ceilBps', 'prio', 'fairness']).default, { rateBps: 7_000_000, ceilBps: 10_000_000, prio: 7, fairness: 'flow' });
  assert.equal(leftover.egress?.sched.defaultClass, 1);
  assert.deepEqual(leftover.egress?.classes[1], { path: 'default', match: null, matchOrigin: null, setDscp: -1, setMark: null, drop: false, implicit: true });

  const full = link(['links: [{interface: eth0, egress: 10mbit}]', 'classes:', '  a: {rate: 100%, match: dport == 1}']);
  assert.deepEqual(figures(full.egress, ['rateBps']).default, { rateBps: 100_000 });

  const none = link(['links: [{interface: eth0, egress: 10mbit}]']);
  assert.deepEqual(none.egress?.sched.classes.map((c) => [c.path, c.rateBps, c.parent]), [['default', 10_000_000, -1]]);
  assert.equal(none.egress?.sched.defaultClass, 0);
});

test('an explicit default class anywhere at the top level is the default', () => {
  const wan = link([
    'links: [{interface: eth0, egress: 10mbit}]',
    'classes:',
    '  a: {rate: 1mbit, match: dport == 1}',
    '  default: {rate: 2mbit, prio: 5}',
  ]);
  assert.deepEqual(wan.egress?.sched.classes.map((c) => c.path), ['a', 'default']);
  assert.equal(wan.egress?.sched.defaultClass, 1);
  assert.equal(wan.egress?.sched.classes[1].prio, 5);
  assert.equal(wan.egress?.classes[1].implicit, false);
});

test('one-direction classes are skipped with their subtree; leaf-ness is per direction', () => {
  const wan = link([
    'links: [{interface: eth0, egress: 10mbit, ingress: 50mbit}]',
    'classes:',
    '  up:',
    '    rate: 1mbit',
    '    direction: egress',
    '    match: dport == 1',
    '    classes:',
    '      x: {rate: 100kbit, match: sport == 2}',
    '  mixed:',
    '    rate: 1mbit',
    '    fairness: src-host',
    '    match: dport == 2',
    '    classes:',
    '      onlyup: {rate: 100kbit, direction: egress, match: sport == 3}',
  ]);
  assert.deepEqual(wan.egress?.sched.classes.map((c) => [c.path, c.parent, c.fairness]), [
    ['up', -1, 'none'], ['up/x', 0, 'flow'], ['up/default', 0, 'flow'],
    ['mixed', -1, 'none'], ['mixed/onlyup', 3, 'flow'], ['mixed/default', 3, 'src-host'], ['default', -1, 'flow'],
  ]);
  assert.deepEqual(wan.ingress?.sched.classes.map((c) => [c.path, c.parent, c.fairness]), [
    ['mixed', -1, 'src-host'], ['default', -1, 'flow'],
  ]);
  assert.equal(wan.ingress?.sched.defaultClass, 1);
  assert.equal(wan.ingress?.classes[0].path, 'mixed');
});

test('defaults and formulas: bursts, quantum, CoDel, limits, DSCP inheritance, wire MTU', () => {
  const wan = link([
    'links: [{interface: eth0, egress: 100mbit, mtu: 1500, overhead: -14, buffer: {packets: 500, bytes: 1MiB}}]',
    'classes:',
    '  a:',
    '    rate: 10mbit',
    '    burst: 100',
    '    cburst: 1ms',
    '    weight: 2',
    '    aqm: none',
    '    limit: {packets: 50, bytes: 64KB}',
    '    flow_limit: 10',
    '    set_dscp: CS1',
    '    match: dport == 1',
    '  b:',
    '    rate: 40mbit',
    '    aqm: {codel: {target: 10ms}, ecn: false}',
    '    set_dscp: AF21',
    '    match: dport == 2',
    '    classes:',
    '      c: {rate: 30mbit, limit: 7, match: sport == 1}',
    '      d: {rate: 1mbit, set_dscp: 0, match: sport == 2}',
  ]);
  const egress = wan.egress;
  assert.ok(egress !== null);
  assert.equal(egress.sched.mtuBytes, 1500, 'negative overhead does not shrink the largest packet');
  assert.equal(egress.sched.globalLimitPackets, 500);
  assert.equal(egress.sched.globalLimitBytes, 1_048_576);
  const [a, b, c, d] = egress.sched.classes;
  assert.equal(a.burstBytes, 1500, 'an explicit burst is raised to one wire MTU');
  assert.equal(a.cburstBytes, 12_500, '1 ms of the 100mbit ceil');
  assert.equal(a.quantumBytes, 3000, 'weight 2 x wire MTU');
  assert.deepEqual(a.codel, { targetUs: Infinity, intervalUs: 100_000, ecn: false });
  assert.deepEqual([a.limitPackets, a.limitBytes, a.flowLimitPackets], [50, 64_000, 10]);
  assert.equal(b.quantumBytes, 50_000, 'rate-proportional: 10 ms of 40mbit');
  assert.deepEqual(b.codel, { targetUs: 10_000, intervalUs: 100_000, ecn: false });
  assert.equal(b.burstBytes, 50_000, '10 ms of 40mbit');
  assert.equal(c.ceilBps, 100_000_000, 'ceil defaults to the parent\'s');
  assert.equal(c.quantumBytes, 37_500, 'rate-proportional: 10 ms of 30mbit');
  assert.deepEqual([c.limitPackets, c.limitBytes], [7, 4_000_000], 'a bare limit is packets');
  assert.equal(d.quantumBytes, 1500, 'rate-proportional quantum is at least one wire MTU');
  assert.deepEqual(egress.classes.map((r) => [r.path, r.setDscp]), [
    ['a', 8], ['b', 18], ['b/c', 18], ['b/d', 0], ['b/default', 18], ['default', -1],
  ]);
});

test('the rate-proportional quantum is capped at 200000 bytes', () => {
  const wan = link(['links: [{interface: eth0, egress: 10gbit}]', 'classes:', '  a: {rate: 1gbit, match: dport == 1}']);
  assert.equal(wan.egress?.sched.classes[0].quantumBytes, 200_000);
  assert.equal(wan.egress?.sched.classes[0].burstBytes, 1_250_000, '10 ms of 1gbit');
});

test('a ceil above the parent\'s is clamped to it', () => {
  const wan = link([
    'links: [{interface: eth0, egress: 10mbit}]',
    'classes:',
    '  a: {rate: 1mbit, ceil: 2mbit, match: dport == 1, classes: {b: {rate: 500kbit, ceil: 5mbit, match: sport == 1}}}',
    '  c: {rate: 1mbit, ceil: 50mbit, match: dport == 2}',
  ]);
  assert.deepEqual(figures(wan.egress, ['ceilBps']), {
    a: { ceilBps: 2_000_000 }, 'a/b': { ceilBps: 2_000_000 }, 'a/default': { ceilBps: 2_000_000 },
    c: { ceilBps: 10_000_000 }, default: { ceilBps: 10_000_000 },
  });
});
