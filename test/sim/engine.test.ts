/**
 * End to end: scenarios through the real engine and scheduler on virtual time, checking the
 * fairness, latency and rate properties the shaper promises.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../src/control/load.js';
import { resolveLinks, type ResolvedLink } from '../../src/control/resolve.js';
import { runScenario } from '../../src/sim/run.js';
import type { ClassReport, SimReport } from '../../src/sim/report.js';
import { scenario } from './helpers.js';

function links(yaml: string): ResolvedLink[] {
  const r = parseConfigText(yaml, 'test.yaml');
  if (!r.ok) assert.fail(r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  return resolveLinks(r.config);
}

function leaf(report: SimReport, path: string, direction = 'egress'): ClassReport {
  const d = report.links[0].directions.find((x) => x.direction === direction);
  const c = d?.classes.find((x) => x.path === path);
  assert.ok(c, `class ${path} in ${direction}`);
  return c;
}

const ONE_CLASS = (fairness: string) => `
links:
  - interface: eth0
    egress: 10mbit
classes:
  default:
    rate: 10mbit
    fairness: ${fairness}
`;

const BULK_AND_PING = `
duration: 12s
warmup: 2s
rtt: 20ms
sources:
  - {name: bulk, kind: tcp, src: 192.168.1.10, sport: 40000, dst: 203.0.113.5, dport: 8443, count: 4}
  - {name: ping, kind: interactive, src: 192.168.1.20, sport: 5353, dst: 198.51.100.1, dport: 7, interval: 50ms, size: 100}
`;

describe('simulator end to end (real engine)', () => {
  it('8 equal bulk flows in one 10 mbit/s class share it fairly and fill it', () => {
    const report = runScenario(links(ONE_CLASS('flow')), scenario(`
duration: 12s
warmup: 2s
rtt: 20ms
sources:
  - {name: bulk, kind: tcp, src: 192.168.1.10, dst: 203.0.113.5, dport: 8443, count: 8}
`));
    const c = leaf(report, 'default');
    assert.equal(c.flows, 8);
    assert.ok(c.jain !== null && c.jain >= 0.99, `jain ${c.jain}`);
    const total = report.flows.reduce((n, f) => n + f.throughputBps, 0);
    // Goodput counts payload only (1460 of 1500 bytes), so the class's wire figure is the one to hold to the rate.
    assert.ok(c.throughputBps >= 0.95e7 && c.throughputBps <= 1.01e7, `class ${c.throughputBps}`);
    assert.ok(total >= 0.95e7 * (1460 / 1500) && total <= 1.01e7, `flows ${total}`);
  });

  it('per-flow fairness keeps an interactive flow\'s queueing short next to bulk flows; a single FIFO does not', () => {
    const fair = runScenario(links(ONE_CLASS('flow')), scenario(BULK_AND_PING));
    const fifo = runScenario(links(ONE_CLASS('none')), scenario(BULK_AND_PING));
    const pingFair = fair.flows.find((f) => f.name === 'ping');
    const pingFifo = fifo.flows.find((f) => f.name === 'ping');
    assert.ok(pingFair?.delayP99Us !== null && pingFair?.delayP99Us !== undefined && pingFifo?.delayP99Us != null);
    assert.ok(pingFair.delayP99Us < 2_000, `fair p99 ${pingFair.delayP99Us}`);
    assert.ok(pingFifo.delayP99Us > 10_000, `fifo p99 ${pingFifo.delayP99Us}`);
    assert.ok(pingFair.rttP99Us !== null && pingFair.rttP99Us < 20_000 + 2_000 + 1_000, `fair rtt ${pingFair.rttP99Us}`);
    assert.ok(leaf(fair, 'default').throughputBps > 0.95e7, 'the bulk flows still fill the class');
  });

  it('a torrent class holds its ceil and flow_ceil next to a web class at higher prio', () => {
    const config = links(`
links:
  - interface: eth0
    egress: 20mbit
classes:
  web:
    rate: 8mbit
    ceil: 100%
    prio: 2
    match: rport in [80, 443]
  torrents:
    rate: 512kbit
    ceil: 2.4mbit
    flow_ceil: 400kbit
    prio: 6
    fairness: flow
    match: lport in 61000..63000
  default:
    rate: 1mbit
    ceil: 100%
`);
    const run = (torrents: number) => runScenario(config, scenario(`
duration: 15s
warmup: 3s
rtt: 40ms
sources:
  - {name: torrent, kind: tcp, src: 192.168.1.5, sport: 61000, dst: 203.0.113.10, dport: 51413, count: ${torrents}}
  - {name: web, kind: constant, rate: 12mbit, size: 1500, src: 192.168.1.5, sport: 45000, dst: 198.51.100.80, dport: 443}
`));
    const many = run(10);
    const t = leaf(many, 'torrents');
    assert.equal(t.flows, 10);
    assert.ok(Math.abs(t.throughputBps - 2.4e6) <= 0.02 * 2.4e6, `torrents ${t.throughputBps}`);
    for (const f of many.flows.filter((x) => x.class === 'torrents')) assert.ok(f.throughputBps <= 400e3 * 1.02, `${f.name} ${f.throughputBps}`);
    const web = leaf(many, 'web');
    assert.ok(Math.abs(web.throughputBps - 12e6) <= 0.01 * 12e6, `web keeps all it sends: ${web.throughputBps}`);
    assert.ok(web.delayP99Us !== null && web.delayP99Us < 5_000, `web p99 ${web.delayP99Us}`);

    const few = run(3);
    for (const f of few.flows.filter((x) => x.class === 'torrents')) {
      // flow_ceil counts IP bytes; goodput is payload (1460 of 1500).
      const wireBps = (f.throughputBps * 1500) / 1460;
      assert.ok(Math.abs(wireBps - 400e3) <= 0.02 * 400e3, `${f.name} ${wireBps}`);
    }
  });

  it('simulates a minute of a 100 mbit/s link with bulk flows', () => {
    const report = runScenario(links(`
links:
  - interface: eth0
    egress: 100mbit
    ingress: 100mbit
classes:
  default:
    rate: 100mbit
`), scenario(`
duration: 60s
rtt: 20ms
sources:
  - {name: bulk, kind: tcp, src: 192.168.1.10, dst: 203.0.113.5, dport: 8443, count: 4}
`));
    assert.equal(report.durationUs, 60_000_000);
    const c = leaf(report, 'default');
    assert.ok(c.throughputBps > 0.9e8 && c.throughputBps <= 1.01e8, `${c.throughputBps}`);
    assert.equal(report.datapath.unknownVerdicts, 0);
  });

  it('fairness: hosts gives a host with eight downloads the same share as hosts with one (ingress, local = receiver)', () => {
    const report = runScenario(links(`
links:
  - interface: eth0
    ingress: 20mbit
classes:
  default:
    rate: 20mbit
    fairness: hosts
`), scenario(`
duration: 12s
warmup: 3s
rtt: 20ms
sources:
  - {name: one, kind: tcp, direction: ingress, src: 203.0.113.80, sport: 443, dst: 192.168.1.100, dport: 50000, hosts: 3}
  - {name: greedy, kind: tcp, direction: ingress, src: 203.0.113.81, sport: 443, dst: 192.168.1.200, dport: 51000, count: 8}
`));
    const perFlow = (name: string) => report.flows.filter((f) => f.name.startsWith(name)).map((f) => f.throughputBps);
    const single = perFlow('one');
    const greedyHost = perFlow('greedy').reduce((a, b) => a + b, 0);
    assert.equal(single.length, 3);
    for (const bps of single) {
      const ratio = greedyHost / bps;
      assert.ok(ratio > 0.9 && ratio < 1.1, `host with 8 flows ${greedyHost} vs host with 1 flow ${bps}`);
    }
  });
});
