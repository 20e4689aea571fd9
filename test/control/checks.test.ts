import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem } from '../../src/control/errors.js';
import { parseConfigText } from '../../src/control/load.js';

function check(lines: string[]): { errors: string[]; warnings: string[] } {
  const result = parseConfigText(lines.join('\n'), 'sluice.yaml');
  return result.ok
    ? { errors: [], warnings: result.warnings.map(formatProblem) }
    : { errors: result.problems.map(formatProblem), warnings: [] };
}

const LINK = 'links: [{interface: eth0, name: wan, egress: 10mbit, ingress: 50mbit}]';

test('top-level rates above the link\'s rate in a direction are an error at that rate', () => {
  assert.deepEqual(check([LINK, 'classes:', '  a: {rate: {egress: 6mbit, ingress: 1mbit}, match: dport == 1}', '  b: {rate: 5mbit, match: dport == 2}']).errors, [
    "sluice.yaml:1:46: links[0].egress: the top-level classes' egress rates add up to 11mbit, above link wan's 10mbit",
  ]);
  assert.deepEqual(check([LINK, 'classes:', '  a: {rate: 60%, match: dport == 1}', '  b: {rate: 50%, match: dport == 2}']).errors, [
    "sluice.yaml:1:46: links[0].egress: the top-level classes' egress rates add up to 11mbit, above link wan's 10mbit",
    "sluice.yaml:1:63: links[0].ingress: the top-level classes' ingress rates add up to 55mbit, above link wan's 50mbit",
  ]);
});

test('the implicit default does not count toward the sums; 100% of the link is allowed', () => {
  const result = check([LINK, 'classes:', '  a: {rate: 60%, match: dport == 1}', '  b: {rate: 40%, match: dport == 2}']);
  assert.deepEqual(result, { errors: [], warnings: [] });
});

test('children\'s rates above their parent\'s rate are an error at the parent\'s classes', () => {
  assert.deepEqual(check([
    LINK,
    'classes:',
    '  bulk:',
    '    rate: 2mbit',
    '    match: dport == 1',
    '    classes:',
    '      a: {rate: {egress: 1500kbit, ingress: 1mbit}, match: sport == 1}',
    '      b: {rate: 1mbit, match: sport == 2}',
  ]).errors, [
    "sluice.yaml:6:5: classes.bulk.classes: on link wan egress, the children's rates add up to 2.5mbit, above this class's rate 2mbit",
  ]);
});

test('a ceil below the rate is an error: at the ceil when written, at the rate when inherited', () => {
  assert.deepEqual(check([
    LINK,
    'classes:',
    '  a:',
    '    rate: 2mbit',
    '    ceil: {egress: 1mbit, ingress: 5mbit}',
    '    match: dport == 1',
    '  b:',
    '    rate: 1mbit',
    '    ceil: 1mbit',
    '    match: dport == 2',
    '    classes:',
    '      c: {rate: 800kbit, match: sport == 1}',
    '      d: {rate: 1mbit, ceil: 500kbit, match: sport == 2}',
  ]).errors, [
    'sluice.yaml:5:20: classes.a.ceil.egress: on link wan egress, ceil 1mbit is below rate 2mbit',
    "sluice.yaml:11:5: classes.b.classes: on link wan egress, the children's rates add up to 1.8mbit, above this class's rate 1mbit",
    "sluice.yaml:11:5: classes.b.classes: on link wan ingress, the children's rates add up to 1.8mbit, above this class's rate 1mbit",
    "sluice.yaml:13:30: classes.b.classes.d.ceil: on link wan egress, ceil 500kbit is below rate 1mbit",
    "sluice.yaml:13:30: classes.b.classes.d.ceil: on link wan ingress, ceil 500kbit is below rate 1mbit",
  ]);
  assert.deepEqual(check([LINK, 'classes:', '  a: {rate: 2mbit, ceil: 1mbit, match: dport == 1, classes: {x: {rate: 1500kbit, match: sport == 1}}}']).errors.filter((e) => e.includes('x.rate')), [
    "sluice.yaml:3:72: classes.a.classes.x.rate: on link wan egress, ceil 1mbit (the parent's ceil, which a class cannot exceed) is below rate 1.5mbit",
    "sluice.yaml:3:72: classes.a.classes.x.rate: on link wan ingress, ceil 1mbit (the parent's ceil, which a class cannot exceed) is below rate 1.5mbit",
  ]);
});

test('a default class must be a leaf and exist in both directions', () => {
  assert.deepEqual(check([
    LINK,
    'classes:',
    '  default:',
    '    rate: 1mbit',
    '    direction: egress',
    '    classes:',
    '      x: {rate: 100kbit}',
  ]).errors, [
    'sluice.yaml:5:16: classes.default.direction: a default class exists wherever its parent does: remove `direction`',
    'sluice.yaml:6:5: classes.default.classes: a default class must be a leaf: move its children to another class',
  ]);
});

test('links: duplicate names and interfaces, and links that shape nothing', () => {
  assert.deepEqual(check([
    'links:',
    '  - {interface: eth0, egress: 10mbit}',
    '  - {interface: eth1, name: eth0, egress: 10mbit}',
    '  - {interface: eth0, name: other, ingress: 10mbit}',
    '  - interface: eth2',
  ]).errors, [
    "sluice.yaml:3:29: links[1].name: link name 'eth0' is already used by links[0]",
    "sluice.yaml:4:17: links[2].interface: interface 'eth0' is already shaped by links[0]",
    'sluice.yaml:5:5: links[3]: this link shapes nothing — give egress and/or ingress rates',
  ]);
});

test('a class must have a rate for each shaped direction it exists in, and exist in some direction', () => {
  assert.deepEqual(check([
    LINK,
    'classes:',
    '  half: {rate: {egress: 1mbit}, match: dport == 1}',
    '  up: {rate: {egress: 1mbit}, direction: egress, match: dport == 2, classes: {down: {rate: 1kbit, direction: ingress}}}',
  ]).errors, [
    'sluice.yaml:3:10: classes.half.rate: no ingress rate: give one, or say `direction: egress`',
    "sluice.yaml:4:110: classes.up.classes.down.direction: 'up/down' would exist in no direction: its parent exists only in egress",
  ]);
  // Only shaped directions need a rate.
  assert.deepEqual(check(['links: [{interface: eth0, egress: 10mbit}]', 'classes:', '  half: {rate: {egress: 1mbit}}']).errors, []);
});

test('warnings: a class without match before its siblings, leaf settings on a class with its own default child', () => {
  assert.deepEqual(check([
    LINK,
    'classes:',
    '  all:',
    '    rate: 1mbit',
    '    fairness: hosts',
    '    classes:',
    '      x: {rate: 100kbit, match: dport == 1}',
    '      default: {rate: 100kbit}',
    '  later: {rate: 1mbit, match: dport == 2}',
  ]).warnings, [
    "sluice.yaml:3:3: classes.all: 'all' has no match, so it takes every packet that reaches it: later after it will get none — move it last or give it a match",
    "sluice.yaml:5:15: classes.all.fairness: 'fairness' is ignored here: it applies to this class's own traffic, which goes to its child 'default'",
  ]);
});

test('classes nested deeper than the scheduler allows are an error at the class that may not have children', () => {
  const lines = [LINK, 'classes:'];
  let indent = '  ';
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) {
    lines.push(`${indent}${name}:`, `${indent}  rate: 10kbit`, `${indent}  match: dport > 0`, `${indent}  classes:`);
    indent += '    ';
  }
  lines.push(`${indent}leaf: {rate: 1kbit}`);
  const { errors } = check(lines);
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0], /classes\.g\.classes: classes nest at most 7 deep: 'a\/b\/c\/d\/e\/f\/g' cannot have children/);
});

test('a rate that comes to less than one bit per second is an error, not a crash later', () => {
  const { errors } = check([LINK, 'classes:', '  tiny: {rate: 0.000001%, match: dport == 1}']);
  // 1e-8 of 10 mbit/s rounds to 0 bit/s; of 50 mbit/s to 1 bit/s, which is allowed.
  assert.deepEqual(errors, ['sluice.yaml:3:16: classes.tiny.rate: on link wan egress, the rate comes to 0 bit/s: give at least 1bit']);
});

test('figures must hold in every window: a problem only a window has is reported once, at the entry, naming the window', () => {
  assert.deepEqual(check([
    LINK,
    'classes:',
    '  t:',
    '    rate: 1mbit',
    '    ceil: 4mbit',
    '    match: dport == 1',
    '    schedule:',
    '      - days: mon-fri',
    '        hours: "01:00-07:00"',
    '        ceil: 500kbit',
    '      - days: [sat, sun]',
    '        rate: {egress: 20mbit}',
    '  p:',
    '    rate: 2mbit',
    '    match: dport == 2',
    '    schedule: [{hours: "12:00-13:00", rate: 500kbit}]',
    '    classes:',
    '      a: {rate: 1mbit, match: sport == 1}',
    '      b:',
    '        rate: 500kbit',
    '        match: sport == 2',
    // Splits the weekday nights into windows where b's entry does and does not hold: still one report.
    '        schedule: [{days: fri, hours: "00:00-03:00", rate: 1500kbit}]',
  ]).errors, [
    'sluice.yaml:10:15: classes.t.schedule[0].ceil: on link wan egress, ceil 500kbit is below rate 1mbit in the window mon-fri 01:00-07:00',
    'sluice.yaml:10:15: classes.t.schedule[0].ceil: on link wan ingress, ceil 500kbit is below rate 1mbit in the window mon-fri 01:00-07:00',
    'sluice.yaml:12:24: classes.t.schedule[1].rate.egress: on link wan egress, ceil 4mbit is below rate 20mbit in the window sat,sun',
    "sluice.yaml:12:24: classes.t.schedule[1].rate.egress: the top-level classes' egress rates add up to 22mbit, above link wan's 10mbit in the window sat,sun",
    "sluice.yaml:16:45: classes.p.schedule[0].rate: on link wan egress, the children's rates add up to 1.5mbit, above this class's rate 500kbit in the window 12:00-13:00",
    "sluice.yaml:16:45: classes.p.schedule[0].rate: on link wan ingress, the children's rates add up to 1.5mbit, above this class's rate 500kbit in the window 12:00-13:00",
    "sluice.yaml:22:60: classes.p.classes.b.schedule[0].rate: on link wan egress, the children's rates add up to 2.5mbit, above this class's rate 2mbit in the window fri 00:00-03:00",
    "sluice.yaml:22:60: classes.p.classes.b.schedule[0].rate: on link wan ingress, the children's rates add up to 2.5mbit, above this class's rate 2mbit in the window fri 00:00-03:00",
  ]);
});

test('a parent\'s window that lowers its ceil is blamed for a child\'s ceil below rate; base problems are not repeated per window', () => {
  assert.deepEqual(check([
    LINK,
    'classes:',
    '  p:',
    '    rate: 2mbit',
    '    match: dport == 1',
    '    schedule: [{days: sun, ceil: 1mbit}]',
    '    classes:',
    '      c: {rate: 1500kbit, match: sport == 1}',
    '  q:',
    '    rate: 1mbit',
    '    ceil: 500kbit',
    '    match: dport == 2',
    '    schedule: [{hours: "01:00-02:00", rate: 100kbit}, {hours: "03:00-04:00", ceil: 400kbit}]',
  ]).errors, [
    'sluice.yaml:6:34: classes.p.schedule[0].ceil: on link wan egress, ceil 1mbit is below rate 2mbit in the window sun',
    // The child's ceil is inherited: the parent's entry is what lowers it.
    "sluice.yaml:6:34: classes.p.schedule[0].ceil: on link wan egress, ceil 1mbit (the parent's ceil, which a class cannot exceed) is below rate 1.5mbit in the window sun",
    'sluice.yaml:6:34: classes.p.schedule[0].ceil: on link wan ingress, ceil 1mbit is below rate 2mbit in the window sun',
    "sluice.yaml:6:34: classes.p.schedule[0].ceil: on link wan ingress, ceil 1mbit (the parent's ceil, which a class cannot exceed) is below rate 1.5mbit in the window sun",
    'sluice.yaml:11:11: classes.q.ceil: on link wan egress, ceil 500kbit is below rate 1mbit',
    'sluice.yaml:11:11: classes.q.ceil: on link wan ingress, ceil 500kbit is below rate 1mbit',
  ]);
});

test('windows that keep the figures sound pass, also when the base figures would not be reached', () => {
  assert.deepEqual(check([
    LINK,
    'classes:',
    '  t:',
    '    rate: 1mbit',
    '    ceil: 2mbit',
    '    match: dport == 1',
    '    schedule: [{hours: "22:00-06:00", rate: 4mbit, ceil: 100%}, {days: [sat, sun], ceil: 50%}]',
    '  u: {rate: 5mbit, match: dport == 2}',
  ]), { errors: [], warnings: [] });
});

test('a schedule entry that earlier entries cover entirely is a warning: it is never in force', () => {
  assert.deepEqual(check([
    LINK,
    'classes:',
    '  t:',
    '    rate: 1mbit',
    '    match: dport == 1',
    '    schedule:',
    '      - {days: fri-sun, ceil: 8mbit}',
    '      - {hours: "20:00-08:00", ceil: 100%}',
    '      - {days: sat, hours: "22:00-02:00", ceil: 4mbit}',
    '      - {days: mon, hours: "07:00-09:00", ceil: 4mbit}',
  ]).warnings, [
    'sluice.yaml:9:9: classes.t.schedule[2]: this entry is never in force: earlier entries cover its whole window (sat 22:00-02:00) — move it up or remove it',
  ]);
});
