/**
 * Schedules in the simulator: a scenario's `at:` picks the moment of the week virtual time starts
 * at; the windows in force then run from the start, and a window that begins during the run is
 * swapped in at its virtual moment (the class's rate follows from there on).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/control/load.js';
import type { SluiceConfig } from '../../src/control/schema.js';
import { runConfigScenario } from '../../src/sim/run.js';
import { scheduledRun } from '../../src/sim/schedule.js';
import { scenario } from './helpers.js';

const CONFIG = `
links:
  - interface: eth0
    egress: 20mbit
classes:
  bulk:
    rate: 1mbit
    ceil: 2mbit
    match: proto == "udp"
    schedule:
      - days: mon
        hours: "01:00-07:00"
        ceil: 6mbit
  default:
    rate: 10mbit
    ceil: 100%
`;

function config(): SluiceConfig {
  const r = parseConfigText(CONFIG, 'schedule.yaml');
  assert.ok(r.ok, JSON.stringify(r));
  return r.config;
}

/** The bulk class's throughput over the scenario's measured window (after the warm-up), starting `at`. */
function bulkBps(at: string, durationS: number, warmupS: number): number {
  const s = scenario(`
duration: ${durationS}s
warmup: ${warmupS}s
at: ${at}
sources:
  - {name: udp, kind: constant, proto: udp, rate: 10mbit, size: 1000, src: 192.168.1.10, sport: 5000, dst: 203.0.113.5, dport: 5000}
`);
  const { report } = runConfigScenario(config(), s);
  const bulk = report.links[0].directions[0].classes.find((c) => c.path === 'bulk');
  assert.ok(bulk !== undefined);
  return bulk.throughputBps;
}

test('the windows in force at `at` run from the start: inside the window the scheduled ceil, outside it the base', () => {
  const inside = bulkBps('mon 02:00', 3, 1);
  const outside = bulkBps('mon 08:00', 3, 1);
  assert.ok(inside > 5.8e6 && inside <= 6.1e6, `mon 02:00: ${inside} bit/s, the window's ceil 6mbit`);
  assert.ok(outside > 1.9e6 && outside <= 2.05e6, `mon 08:00: ${outside} bit/s, the base ceil 2mbit`);
});

test('a window that begins during the run is swapped in at its virtual moment', () => {
  const run = scheduledRun(config(), 60 - 1, 90e6); // mon 00:59, 90 s
  assert.deepEqual(run.changes.map((c) => c.atUs), [60e6]);
  assert.deepEqual(run.windows.map((w) => [w.atUs, w.weekTime, w.active.map((a) => a.label)]), [[0, 'mon 00:59', []], [60e6, 'mon 01:00', ['mon 01:00-07:00']]]);
  const before = bulkBps('mon 00:59', 59, 30);
  const after = bulkBps('mon 00:59', 90, 61);
  assert.ok(before > 1.9e6 && before <= 2.05e6, `00:59:30-00:59:59: ${before} bit/s, ceil 2mbit`);
  assert.ok(after > 5.8e6 && after <= 6.1e6, `01:00:01-01:00:30: ${after} bit/s, the window's 6mbit`);
});

test('`at` is a day and a time; anything else is refused with the reason', async () => {
  const { parseScenario } = await import('../../src/sim/scenario.js');
  const r = parseScenario('duration: 1s\nat: monday 25:00\nsources:\n  - {name: a, kind: tcp, src: 192.168.1.10, dst: 203.0.113.5}\n');
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.problems.map((p) => `${p.line}:${p.path}: ${p.message}`).join(';'), /^2:at: 'monday 25:00' is not a moment of the week — write a day and a time, e.g\. tue 02:00/);
});
