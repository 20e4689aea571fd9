/**
 * Process rules in the simulator: a scenario source may say which program owns its flows, and the
 * engine's owner lookup (answered from the scenario) classifies them by it — the same rules as on a
 * real host, tried before any packet is touched. A flow the scenario gives no owner matches no
 * process rule, as forwarded traffic.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/control/load.js';
import { resolveLinks } from '../../src/control/resolve.js';
import { runScenario } from '../../src/sim/run.js';
import { scenario } from './helpers.js';

const CONFIG = `
links:
  - interface: eth0
    egress: 10mbit
classes:
  fred_p2p:
    rate: 1mbit
    ceil: 2mbit
    match: user == "fred" and cmd == "amule"
  default:
    rate: 9mbit
    ceil: 100%
`;

test('a scenario owner puts its flows in the process class from the first packet; flows without one stay out of it', () => {
  const r = parseConfigText(CONFIG, 'test.yaml');
  assert.ok(r.ok);
  const report = runScenario(resolveLinks(r.config), scenario(`
duration: 10s
warmup: 2s
rtt: 20ms
sources:
  - {name: amule, kind: tcp, src: 192.168.1.10, sport: 40000, dst: 203.0.113.5, dport: 4662, count: 2, owner: {user: fred, cmd: amule}}
  - {name: other, kind: tcp, src: 192.168.1.10, sport: 41000, dst: 203.0.113.6, dport: 4662, count: 2, owner: {user: fred, cmd: firefox}}
  - {name: lan, kind: tcp, src: 192.168.1.20, sport: 42000, dst: 203.0.113.7, dport: 4662}
`));
  const byName = new Map(report.flows.map((f) => [f.name, f]));
  assert.equal(byName.get('amule#1')?.class, 'fred_p2p');
  assert.equal(byName.get('other#1')?.class, 'default');
  assert.equal(byName.get('lan')?.class, 'default');
  const p2p = report.links[0].directions[0].classes.find((c) => c.path === 'fred_p2p');
  assert.ok(p2p !== undefined);
  assert.equal(p2p.flows, 2, 'both amule flows, and only they, were queued in the class');
  assert.ok(p2p.throughputBps > 0.93e6 && p2p.throughputBps <= 1.02e6, `fred_p2p holds its 1 mbit/s rate beside a busy default: ${p2p.throughputBps}`);
});

test('an owner in a scenario is checked like the rest of the file', async () => {
  const { parseScenario } = await import('../../src/sim/scenario.js');
  const r = parseScenario(`
duration: 1s
sources:
  - {name: a, kind: tcp, src: 192.168.1.10, dst: 203.0.113.5, owner: {usr: fred}}
`);
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.problems.map((p) => p.message).join(';'), /usr/);
});
