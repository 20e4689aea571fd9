import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTree } from '../../src/control/describe.js';
import { formatProblem } from '../../src/control/errors.js';
import { parseConfigText } from '../../src/control/load.js';
import { resolveLinks } from '../../src/control/resolve.js';

test('describeTree prints the class tree per direction with effective figures', () => {
  const result = parseConfigText([
    'links: [{interface: eth0, name: wan, egress: 20mbit, overhead: 38, mpu: 84}]',
    'classes:',
    '  interactive: {rate: 2mbit, prio: 0, set_dscp: EF, match: proto == "icmp" or dport == 53}',
    '  torrents:',
    '    rate: 512kbit',
    '    ceil: 2.4mbit',
    '    flow_ceil: 400kbit',
    '    prio: 6',
    '    match: lport in 61000..63000',
    '    classes:',
    '      fred: {rate: 16kbit, ceil: 32kbit, aqm: none, limit: 100, match: raddr in 192.0.2.0/24}',
  ].join('\n'), 'sluice.yaml');
  if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
  assert.equal(describeTree(resolveLinks(result.config)[0]), [
    'wan (eth0) egress 20mbit, overhead 38, mpu 84',
    '  interactive  rate 2mbit       ceil 20mbit   prio 0  burst 2500B    cburst 25KB   quantum 2500B    flow   dscp EF  match: proto == "icmp" or dport == 53',
    '  torrents     rate 512kbit     ceil 2.4mbit  prio 6  burst 1538B    cburst 3KB    quantum 1538B    inner  match: lport in 61000..63000',
    '    fred       rate 16kbit      ceil 32kbit   prio 4  burst 1538B    cburst 1538B  quantum 1538B    flow   limit 100p/4MB  aqm none  match: raddr in 192.0.2.0/24',
    '    default    rate 496kbit     ceil 2.4mbit  prio 6  burst 1538B    cburst 3KB    quantum 1538B    flow   flow_ceil 400kbit  (the rest of torrents, implicit)',
    '  default      rate 17.488mbit  ceil 20mbit   prio 7  burst 21.86KB  cburst 25KB   quantum 21.86KB  flow   (default, implicit)',
    '',
    'wan (eth0) ingress not shaped',
  ].join('\n'));
});

test('given the configuration, describeTree lists each schedule entry under its class with the figures in force then', () => {
  const result = parseConfigText([
    'links: [{interface: eth0, name: wan, egress: 20mbit, ingress: 100mbit}]',
    'classes:',
    '  torrents:',
    '    rate: 512kbit',
    '    ceil: 2.4mbit',
    '    match: lport in 61000..63000',
    '    schedule:',
    '      - {days: mon-fri, hours: "01:00-07:00", ceil: 100%}',
    '      - {days: [sat, sun], ceil: {egress: 4mbit}, rate: 2%}',
    '      - {days: sun, ceil: 1mbit}',
    '    classes:',
    '      fred:',
    '        rate: 16kbit',
    '        ceil: 50%',
    '        match: raddr in 192.0.2.0/24',
    '        schedule: [{hours: "22:00-06:00", rate: 32kbit}]',
  ].join('\n'), 'sluice.yaml');
  if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
  const text = describeTree(resolveLinks(result.config)[0], result.config);
  const lines = text.split('\n').map((line) => line.replace(/\s+prio .*$/, '').replace(/\s+/g, ' ').trimEnd());
  assert.deepEqual(lines, [
    'wan (eth0) egress 20mbit, overhead 0, mpu 0',
    ' torrents rate 512kbit ceil 2.4mbit',
    // 100% of the link; 2% of the link's rate and the egress ceil only; the last entry is under sat,sun.
    ' at mon-fri 01:00-07:00 rate 512kbit ceil 20mbit',
    ' at sat,sun rate 400kbit ceil 4mbit',
    ' at sun never in force: earlier entries cover its window',
    ' fred rate 16kbit ceil 1.2mbit',
    // Its first night is mon 00:00-06:00, when torrents' own night window (from 01:00) has not begun.
    ' at 22:00-06:00 rate 32kbit ceil 1.2mbit',
    ' default rate 496kbit ceil 2.4mbit',
    ' default rate 19.488mbit ceil 20mbit',
    '',
    'wan (eth0) ingress 100mbit, overhead 0, mpu 0',
    ' torrents rate 512kbit ceil 2.4mbit',
    ' at mon-fri 01:00-07:00 rate 512kbit ceil 100mbit',
    ' at sat,sun rate 2mbit ceil 2.4mbit',
    ' at sun never in force: earlier entries cover its window',
    ' fred rate 16kbit ceil 1.2mbit',
    ' at 22:00-06:00 rate 32kbit ceil 1.2mbit',
    ' default rate 496kbit ceil 2.4mbit',
    ' default rate 99.488mbit ceil 100mbit',
  ]);
  // Indented one level below the class, in the class table's rate and ceil columns.
  const egress = text.split('\n');
  assert.equal(egress[2].indexOf('rate'), egress[1].indexOf('rate'));
  assert.match(egress[2], /^ {4}at mon-fri/);
  assert.match(egress[6], /^ {6}at 22:00-06:00/);
  // Without the configuration, no schedule lines (as before).
  assert.ok(!describeTree(resolveLinks(result.config)[0]).includes(' at '));
});
