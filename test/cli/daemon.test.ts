/**
 * `sluice status`, `reload` and `stop` on the CLI side: the status view from a daemon's reply (the
 * class tree indented, what each class sends now against its ceiling, backlog, drops by reason,
 * delay, and the queue's health), and one line with exit 2 when no daemon runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusReply } from '../../src/control/api/protocol.js';
import type { ClassCounters } from '../../src/engine/snapshot.js';
import { formatStatus } from '../../src/cli/daemon.js';
import { runCli } from '../../src/cli/main.js';

function klass(path: string, over: Partial<ClassCounters>): ClassCounters {
  return {
    link: 'wan', direction: 'egress', path, isLeaf: true, rateBps: 2e6, ceilBps: 10e6, prio: 0,
    sentBytes: 0, sentPackets: 0, drops: { codel: 0, class_limit: 0, global_limit: 0, flow_limit: 0, action: 0 }, ecnMarked: 0,
    backlogPackets: 0, backlogBytes: 0, currentBps: 0, activeSubqueues: 0, ownBytes: 0, borrowedBytes: 0, lentBytes: 0, sojournP50Us: 0, sojournP99Us: 0,
    ...over,
  };
}

const REPLY: StatusReply = {
  version: '0.1.0', pid: 4242, configFile: '/etc/sluice/sluice.yaml', startedAtMs: 1_000_000, shaping: true, schedule: [],
  snapshot: {
    version: 1, atUs: 5e6, intervalUs: 1e6, topFlows: [],
    classes: [
      klass('web', { isLeaf: false, rateBps: 8e6, currentBps: 6e6 }),
      klass('web/tls', { currentBps: 5e6, backlogPackets: 12, activeSubqueues: 3, borrowedBytes: 2_500_000, sojournP50Us: 1500, sojournP99Us: 12000, drops: { codel: 4, class_limit: 1, global_limit: 0, flow_limit: 0, action: 0 } }),
      klass('default', { direction: 'ingress', rateBps: 50e6, ceilBps: 95e6 }),
    ],
    engine: { unparsable: 0, unparsableByReason: {}, unshaped: 0, flows: 7, flowsCreated: 9, flowsEvicted: 0, flowsExpired: 2, owners: { requested: 0, answered: 0, timedOut: 0, waitedPackets: 0, roomFull: 0 }, l7Decided: 0 },
    datapath: { received: 1000, held: 12, failOpen: 1, kernel: { queueTotal: 14, queueDropped: 0, userDropped: 0, idSequence: 1000 - 12 + 14 + 5 } },
  },
};

test('status: who runs, the queue\'s health, and per link direction the class tree with what each class does now', () => {
  const lines = formatStatus(REPLY, 1_000_000 + 3_723_000);
  assert.equal(lines[0], 'sluice 0.1.0, pid 4242, /etc/sluice/sluice.yaml, shaping for 1h2m3s');
  assert.equal(lines[1], 'queue: 1000 packets received, 12 held, 7 flows; kernel: 0 queue drops, 0 user drops, 5 passed unshaped (queue or socket full) since start');
  assert.equal(lines[3], 'wan egress');
  assert.match(lines[4], /^ {2}class +rate +ceil +now +of ceil +backlog +drops +borrowed +delay p50 +p99 +flows$/);
  assert.match(lines[5], /^ {2}web +8mbit +10mbit +6mbit +60\.0% +0 pkt +0 /);
  assert.match(lines[6], /^ {4}tls +2mbit +10mbit +5mbit +50\.0% +12 pkt +4 codel, 1 class_limit +2\.5MB +1\.5ms +12ms +3$/);
  assert.equal(lines[8], 'wan ingress');
});

test('status names the schedule windows in force, below the first line', () => {
  const lines = formatStatus({ ...REPLY, schedule: [{ classPath: 'web/tls', index: 1, label: 'mon-fri 01:00-07:00' }, { classPath: 'default', index: 0, label: 'sat,sun' }] }, 1_000_000);
  assert.equal(lines[1], 'schedule windows in force: web/tls mon-fri 01:00-07:00, default sat,sun');
  assert.match(lines[2], /^queue: /);
});

test('status before the first counters says so', () => {
  assert.deepEqual(formatStatus({ ...REPLY, snapshot: null }, 1_000_000).slice(1), ['no counters yet (the first come a second after start)']);
});

test('status, reload and stop without a running daemon: one line each, exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-nodaemon-'));
  try {
    for (const cmd of ['status', 'reload', 'stop']) {
      let out = '';
      let err = '';
      const code = await runCli([cmd, '--socket', join(dir, 'none.sock')], { out: (t) => (out += t), err: (t) => (err += t) });
      assert.equal(code, 2, cmd);
      assert.equal(out, '');
      assert.match(err, /^sluice is not running: no control socket at \S+none\.sock \(start it with `sluice run`, or pass --socket\)\n$/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
