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
