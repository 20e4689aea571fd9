/**
 * `sluice top` against a control socket served by the real ControlServer with the daemon played by
 * a plain object: plain frames when stdout is not a terminal, and in a pseudo-terminal (tmux) a view
 * redrawn in place that quits on q.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NO_OWNER } from '../../src/classify/context.js';
import type { StatusReply } from '../../src/control/api/protocol.js';
import { ControlServer, type DaemonControl } from '../../src/control/api/server.js';
import type { FlowRow } from '../../src/engine/snapshot.js';
import { runCli } from '../../src/cli/main.js';
import { sluiceArgv } from '../../src/lab/sluice.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-top-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FLOW: FlowRow = {
  key: '', id: 1, proto: 6, ipVersion: 4, initiator: '192.168.1.10', initiatorPort: 51000, responder: '203.0.113.5', responderPort: 443,
  tcpState: 'established', firstSeenUs: 0, lastSeenUs: 0, origBytes: 1000, origPackets: 1, replyBytes: 0, replyPackets: 0,
  link: 'wan', egressClass: 'web', ingressClass: null, intervalBytes: 0, rateBps: 0, owner: NO_OWNER, cc: '', country: '', l7: '', host: '',
  origRateBps: 1_000_000, replyRateBps: 0, ageUs: 1_000_000,
};

const daemon: DaemonControl = {
  status: (): StatusReply => ({ version: '9.9.9', pid: 42, configFile: '/etc/sluice/sluice.yaml', startedAtMs: Date.now(), shaping: true, snapshot: null, schedule: [] }),
  flows: async () => ({ flows: [FLOW] }),
  reload: async () => ({ reloaded: true }),
  setLink: async () => ({ reloaded: true }),
  explainFlow: async () => null,
  stop: () => undefined,
};

test('not a terminal: --count plain frames of the status and the heaviest flows', async () => {
  const socket = join(dir, 'plain.sock');
  const server = await ControlServer.listen(socket, daemon);
  try {
    let out = '';
    const code = await runCli(['top', '--count', '2', '--interval', '0.05', '--socket', socket], { out: (t) => (out += t), err: () => undefined });
    assert.equal(code, 0);
    const frames = out.split(/^sluice 9\.9\.9, pid 42/m).slice(1);
    assert.equal(frames.length, 2, out);
    assert.match(frames[0], /flows \(1, heaviest 1\):\n/);
    assert.match(frames[0], /tcp 192\.168\.1\.10:51000 > 203\.0\.113\.5:443 +web /);
    assert.doesNotMatch(out, /\x1b\[/, 'no terminal control codes in a pipe');
  } finally {
    await server.close();
  }
});

test('in a pseudo-terminal it redraws in place and quits on q', { timeout: 60_000 }, async () => {
  const socket = join(dir, 'tty.sock');
  const server = await ControlServer.listen(socket, daemon);
  const session = `sluice-top-${process.pid}`;
  const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
  const script = join(dir, 'top.sh');
  writeFileSync(script, `exec ${sluiceArgv(['top', '--interval', '0.2', '--socket', socket]).map(quote).join(' ')}\n`);
  const tmux = (...args: string[]) => spawnSync('tmux', args, { encoding: 'utf8' });
  try {
    assert.equal(tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', `sh ${script}`).status, 0, 'tmux starts');
    let screen = '';
    for (const deadline = Date.now() + 30_000; !/\(q quits\)/.test(screen) && Date.now() < deadline;) {
      await sleep(200);
      screen = tmux('capture-pane', '-p', '-t', session).stdout;
    }
    assert.match(screen, /^sluice 9\.9\.9, pid 42, \/etc\/sluice\/sluice\.yaml, shaping for \d+s$/m);
    assert.match(screen, /tcp 192\.168\.1\.10:51000 > 203\.0\.113\.5:443/);
    assert.equal(screen.split('\n').filter((l) => l.startsWith('sluice 9.9.9')).length, 1, 'redrawn in place, not scrolled');
    tmux('send-keys', '-t', session, 'q');
    let alive = true;
    for (const deadline = Date.now() + 5000; alive && Date.now() < deadline;) {
      await sleep(100);
      alive = tmux('has-session', '-t', session).status === 0;
    }
    assert.equal(alive, false, 'q ends it');
  } finally {
    tmux('kill-session', '-t', session);
    await server.close();
  }
});
