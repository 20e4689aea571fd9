import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { formatProblem } from '../../src/control/errors.js';
import { loadConfig, parseConfigText, type ConfigResult } from '../../src/control/load.js';

const SKETCH = fileURLToPath(new URL('./fixtures/sketch.yaml', import.meta.url));

function problems(text: string): string[] {
  const result = parseConfigText(text, 'sluice.yaml');
  assert.equal(result.ok, false, 'expected the configuration to be refused');
  return (result as Extract<ConfigResult, { ok: false }>).problems.map(formatProblem);
}

function loaded(text: string): Extract<ConfigResult, { ok: true }> {
  const result = parseConfigText(text, 'sluice.yaml');
  if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
  return result;
}

const LINK = ['links:', '  - interface: eth0', '    egress: 20mbit', '    ingress: 95mbit'];

test('the sketch configuration loads with its values in base units', () => {
  const result = loadConfig(SKETCH);
  if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
  assert.deepEqual(result.warnings, []);
  const { config } = result;
  assert.deepEqual(config.datapath, {
    kind: 'nfqueue', queues: { first: 3, last: 3 }, fail: 'open', firewall: 'iptables', bypass_mark: 0x58,
    exempt: ['proto == "tcp" and lport == 22'],
  });
  assert.equal(config.links[0].egress, 20_000_000);
  assert.equal(config.links[0].ingress, 95_000_000);
  assert.equal(config.links[0].overhead, 38);
  assert.deepEqual(Object.keys(config.classes ?? {}), ['interactive', 'web', 'torrents', 'slovakia', 'default']);
  const torrents = config.classes?.torrents;
  assert.deepEqual(torrents?.rate, { egress: { bps: 512_000 }, ingress: { bps: 512_000 } });
  assert.deepEqual(torrents?.ceil, { egress: { bps: 2_400_000 }, ingress: { bps: 2_400_000 } });
  assert.deepEqual(config.classes?.interactive.ceil, { egress: { percent: 100 }, ingress: { percent: 100 } });
  assert.equal(config.classes?.interactive.set_dscp, 46);
  assert.deepEqual(config.classes?.default.aqm, { codel: { target: 5000, interval: 100_000 }, ecn: true });
  // Where each rule starts, for compileRule's messages at run time.
  assert.deepEqual(config.ruleOrigins['classes.interactive.match'], { label: 'classes.interactive.match', file: SKETCH, line: 24, column: 12 });
  assert.deepEqual(config.ruleOrigins['classes.torrents.classes.fred.match'], { label: 'classes.torrents.classes.fred.match', file: SKETCH, line: 43, column: 16 });
  assert.deepEqual(config.ruleOrigins['datapath.exempt[0]'], { label: 'datapath.exempt[0]', file: SKETCH, line: 10, column: 7 });
});

test('a bad rate deep in the tree names file, line, column, path and what to write', () => {
  const text = [
    ...LINK,
    'classes:',
    '  torrents:',
    '    rate: 512kbit',
    '    classes:',
    '      fred:',
    '        rate: 16kbit',
    '        ceil: 2.4mbits',
  ].join('\n');
  assert.deepEqual(problems(text), [
    "sluice.yaml:11:15: classes.torrents.classes.fred.ceil: '2.4mbits' is not a rate — write e.g. 2.4mbit",
  ]);
});

test('a per-direction figure is reported at the direction that is wrong', () => {
  const text = [...LINK, 'classes:', '  web:', '    rate: {egress: 2mbit, ingress: 10mbits}'].join('\n');
  assert.deepEqual(problems(text), [
    "sluice.yaml:7:36: classes.web.rate.ingress: '10mbits' is not a rate — write e.g. 10mbit",
  ]);
});

test('YAML syntax errors point where the parser found them, and nothing else is reported', () => {
  assert.deepEqual(problems(['links:', '  - interface: eth0', '    egress: 20mbit', 'classes:', '  web: rate: 2mbit', '\tbad: 1'].join('\n')), [
    'sluice.yaml:5:8: YAML: Nested mappings are not allowed in compact mappings',
    'sluice.yaml:6:1: YAML: Tabs are not allowed as indentation',
  ]);
  const unclosed = problems(['links:', '  - interface: eth0', '    egress: "20mbit'].join('\n'));
  assert.equal(unclosed.length, 1);
  assert.match(unclosed[0], /^sluice\.yaml:3:\d+: YAML: Missing closing "quote$/);
});

test('duplicate keys are YAML errors', () => {
  const result = problems([...LINK, 'classes:', '  web:', '    rate: 1mbit', '    rate: 2mbit'].join('\n'));
  assert.equal(result.length, 1);
  assert.match(result[0], /^sluice\.yaml:8:5: YAML: Map keys must be unique/);
});

test('an unknown key is reported at the key, with the closest known key', () => {
  assert.deepEqual(problems([...LINK, '    overhed: 38', 'classes:', '  web:', '    rate: 1mbit', '    fairnes: hosts', '    colour: blue'].join('\n')), [
    "sluice.yaml:5:5: links[0].overhed: unknown key 'overhed' — did you mean 'overhead'?",
    "sluice.yaml:9:5: classes.web.fairnes: unknown key 'fairnes' — did you mean 'fairness'?",
    "sluice.yaml:10:5: classes.web.colour: unknown key 'colour'",
  ]);
});

test('a bad percentage', () => {
  assert.deepEqual(problems([...LINK, 'classes:', '  web:', '    rate: 10%', '    ceil: 150%'].join('\n')), [
    "sluice.yaml:8:11: classes.web.ceil: '150%' is not a percentage above 0% and at most 100%",
  ]);
  assert.deepEqual(problems(['links:', '  - interface: eth0', '    egress: 50%'].join('\n')), [
    "sluice.yaml:3:13: links[0].egress: '50%' is a percentage; a rate is needed here — write e.g. 2mbit",
  ]);
});

test('every problem is reported at once, in file order', () => {
  const text = [
    'datapath:',
    '  kind: nfq',
    '  queues: 4-3',
    'links:',
    '  - interface: eth0',
    '    egress: 20mbit',
    '    mtu: 20',
    'classes:',
    '  web:',
    '    ceil: 2mbit',
    '    prio: 9',
    '    set_dscp: EX',
    '    limit: {packetz: 5}',
    '    match: dport == ',
    '  bulk:',
    '    rate: 1mbit',
    '    fairness: host',
    '    burst: 10 ms',
    'quotas: []',
    'stats: {listen: "127.0.0.1:8750"}',
  ].join('\n');
  assert.deepEqual(problems(text), [
    "sluice.yaml:2:9: datapath.kind: 'nfq' is not one of nfqueue, bridge, tun, sim",
    "sluice.yaml:3:11: datapath.queues: '4-3' is not a queue range: first <= last <= 65535",
    'sluice.yaml:7:10: links[0].mtu: 20 is too small: at least 68',
    'sluice.yaml:9:3: classes.web.rate: required — expected a rate such as 2mbit or a percentage such as 50%, or one per direction: {egress: ..., ingress: ...}',
    'sluice.yaml:11:11: classes.web.prio: 9 is too big: at most 7',
    "sluice.yaml:12:15: classes.web.set_dscp: 'EX' is not a DSCP name — did you mean 'EF'? (EF, AF11..AF43, CS0..CS7, LE, or a number 0..63)",
    "sluice.yaml:13:13: classes.web.limit.packetz: unknown key 'packetz' — did you mean 'packets'?",
    'sluice.yaml:14:20: classes.web.match: expected a value to compare with, found the end of the rule',
    "sluice.yaml:17:15: classes.bulk.fairness: 'host' is not one of flow, src-host, dst-host, hosts, none — did you mean 'hosts'?",
    'sluice.yaml:19:1: quotas: quotas are not supported yet by this version of sluice — remove the section (it would not be enforced)',
    'sluice.yaml:20:1: stats: the stats section is not supported yet by this version of sluice — remove it',
  ]);
});

test('rule errors point inside the rule, also when it is quoted', () => {
  const text = [
    'datapath:',
    '  exempt:',
    '    - proto == "tcp" and lprot == 22',
    ...LINK,
    'classes:',
    '  web:',
    '    rate: 1mbit',
    "    match: 'rport in [80, 443'",
  ].join('\n');
  const result = problems(text);
  assert.equal(result.length, 2);
  assert.match(result[0], /^sluice\.yaml:3:26: datapath\.exempt\[0\]: unknown attribute 'lprot' — did you mean 'lport'\?/);
  assert.match(result[1], /^sluice\.yaml:11:30: classes\.web\.match: expected ',' or '\]' in the list/);
});

test('exempt rules may use only protocol, address and port attributes', () => {
  assert.deepEqual(problems(['datapath:', '  exempt: ["proto == \\"tcp\\" and tcp.syn", "rport == 22"]', ...LINK].join('\n')), [
    "sluice.yaml:2:32: datapath.exempt[0]: an exempt rule may use only proto, ipv, laddr, raddr, lport, rport; not 'tcp.syn'",
  ]);
});

test('exempt rules iptables cannot express are refused at the offending part, each rule on its own', () => {
  const text = ['datapath:', '  exempt:', '    - sport == 22', '    - lport == 22', '    - "lport == 1 and lport == 2"', ...LINK].join('\n');
  assert.deepEqual(problems(text), [
    'sluice.yaml:3:7: datapath.exempt[0]: \'sport\' holds in one direction only; exemptions are written with laddr/raddr/lport/rport, which hold in both directions — write lport instead of sport',
    "sluice.yaml:5:32: datapath.exempt[2]: lport cannot be both 1 and 2, so this exemption never matches — did you mean 'or'?",
  ]);
});

test('class names must be usable in paths', () => {
  const result = problems([...LINK, 'classes:', '  web.slow:', '    rate: 1mbit'].join('\n'));
  assert.equal(result.length, 1);
  assert.match(result[0], /^sluice\.yaml:6:3: classes\.web\.slow: 'web\.slow': a class name starts with a letter/);
});

test('rates in bytes per second are accepted, as in tc, with a warning', () => {
  const result = loaded(['links:', '  - interface: eth0', '    egress: 2mbps'].join('\n'));
  assert.equal(result.config.links[0].egress, 16_000_000);
  assert.deepEqual(result.warnings.map(formatProblem), [
    "sluice.yaml:3:13: links[0].egress: '2mbps' means 16mbit (bytes per second, as in tc); for bits per second write 2mbit",
  ]);
});

test('datapath: queue ranges, DSCP numbers and names, defaults left to resolve', () => {
  const result = loaded([
    'datapath: {queues: 3-4, bypass_mark: 0x58, fail: closed, firewall: none}',
    ...LINK,
    'classes:',
    '  a: {rate: 1mbit, set_dscp: af41, match: dport == 1}',
    '  b: {rate: 1mbit, set_dscp: 8, limit: 50}',
  ].join('\n'));
  assert.deepEqual(result.config.datapath, { queues: { first: 3, last: 4 }, bypass_mark: 88, fail: 'closed', firewall: 'none' });
  assert.equal(result.config.classes?.a.set_dscp, 34);
  assert.equal(result.config.classes?.b.set_dscp, 8);
  assert.deepEqual(result.config.classes?.b.limit, { packets: 50 });
});

test('an empty file, a file that is not a mapping, a missing file', () => {
  assert.deepEqual(problems(''), ['sluice.yaml:1:1: the file is empty: it needs at least `links:`']);
  assert.deepEqual(problems('- eth0'), ['sluice.yaml:1:1: expected a mapping with links:, classes: and datapath:']);
  assert.deepEqual(problems('classes: {}'), ['sluice.yaml:1:1: links: required — expected array']);
  const missing = loadConfig('/nonexistent/sluice.yaml');
  assert.equal(missing.ok, false);
  assert.deepEqual(!missing.ok && missing.problems.map(formatProblem), ['/nonexistent/sluice.yaml: cannot read the configuration: no such file']);
});

test('schedule and timezone mistakes are each reported at the value, with what to write', () => {
  const file = fileURLToPath(new URL('./fixtures/schedule-bad.yaml', import.meta.url));
  const result = loadConfig(file);
  assert.equal(result.ok, false);
  assert.deepEqual(!result.ok && result.problems.map((p) => formatProblem({ ...p, file: 'schedule-bad.yaml' })), [
    "schedule-bad.yaml:2:11: timezone: 'Europe/Pariss' is not a time zone — did you mean 'Europe/Paris'?",
    "schedule-bad.yaml:11:15: classes.torrents.schedule[0].days: 'monday-fri' is not a day — write mon..sun",
    "schedule-bad.yaml:12:16: classes.torrents.schedule[0].hours: '25:00-07:00' is not a time range — write e.g. 22:00-06:00",
    "schedule-bad.yaml:14:21: classes.torrents.schedule[1].days[1]: 'sunday' is not a day — write mon..sun",
    "schedule-bad.yaml:15:15: classes.torrents.schedule[1].ceil: '8mbits' is not a rate — write e.g. 8mbit",
    'schedule-bad.yaml:16:9: classes.torrents.schedule[2]: a schedule entry changes rate and/or ceil: give one',
    "schedule-bad.yaml:18:16: classes.torrents.schedule[3].hours: '07:00-07:00' starts and ends at the same time — for the whole day leave hours out",
    "schedule-bad.yaml:20:9: classes.torrents.schedule[3].at: unknown key 'at'",
    'schedule-bad.yaml:21:10: classes.torrents.schedule[4].days: give at least one day, or leave days out for every day',
    'schedule-bad.yaml:24:5: classes.web.schedule: expected a list of entries such as - {hours: 01:00-07:00, ceil: 100%}',
  ]);
});

test('a schedule loads with days as a mask (bit 0 = Monday), hours in minutes of the day, figures per direction', () => {
  const { config } = loaded([
    'timezone: UTC',
    ...LINK,
    'classes:',
    '  torrents:',
    '    rate: 1mbit',
    '    schedule:',
    '      - {days: fri-mon, hours: 22:00-06:00, ceil: 100%}',
    '      - {days: [sat, sun], rate: {egress: 2mbit}}',
    '      - {days: "tue, thu", ceil: 3mbit}',
  ].join('\n'));
  assert.equal(config.timezone, 'UTC');
  assert.deepEqual(config.classes?.torrents.schedule, [
    { days: 0b1110001, hours: { startMinute: 1320, endMinute: 360 }, ceil: { egress: { percent: 100 }, ingress: { percent: 100 } } },
    { days: 0b1100000, rate: { egress: { bps: 2_000_000 } } },
    { days: 0b0001010, ceil: { egress: { bps: 3_000_000 }, ingress: { bps: 3_000_000 } } },
  ]);
});
