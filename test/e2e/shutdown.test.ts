/**
 * Shutdown under load, in the lab (root): client — router — server, sluice on the router with a
 * TCP class capped at 2 Mbit/s under a 50 Mbit/s link while 8 TCP streams push into it, so the class
 * is backlogged (checked in its status) when the signal comes.
 *
 *   SIGTERM: sluice exits 0 within 2 s, no SLUICE rule is left, and the streams live on (the
 *   generator closes them gracefully at the end: nothing reset, everything it sent arrived). Before
 *   it, a reload switches the log to json at debug level, so its last lines are json events.
 *
 *   A second signal: SIGTERM and SIGINT back to back (two different signals, so the kernel cannot
 *   merge them into one) force the exit at once: non-zero, with the line saying what it costs.
 *   Rules it left carry --queue-bypass, so traffic flows; `sluice cleanup` removes them.
 *
 * Traffic stays inside the lab; sluice, the agents and the lab are removed by withLab.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from '../../src/cli/main.js';
import type { StatusReply } from '../../src/control/api/protocol.js';
import { sluiceArgv, tcpBulk, type Lab, type TcpBulkResult } from '../../src/lab/index.js';
import { configYaml, mangleRules, queueNumber, withLab } from './support.js';

const LINK_BPS = 50_000_000;
const STREAMS = 8;
const BULK_MS = 4000;
const STOP_WITHIN_MS = 2000;
/** A forced stop does no work: it exits as soon as the second signal is seen. */
const FORCED_WITHIN_MS = 500;
const CLASSES = `  tcp:
    rate: 1mbit
    ceil: 2mbit
    match: proto == "tcp"
  default:
    rate: 10mbit
    ceil: 100%
`;

/** The tcp class's backlog in the daemon's status (0 before its first counters). */
async function tcpBacklog(socket: string): Promise<number> {
  let out = '';
  const code = await runCli(['status', '--json', '--socket', socket], { out: (t) => (out += t), err: () => undefined });
  if (code !== 0) return 0;
  const reply = JSON.parse(out) as StatusReply;
  return reply.snapshot?.classes.find((c) => c.path === 'tcp' && c.direction === 'egress')?.backlogPackets ?? 0;
}

/** Starts STREAMS bulk TCP streams client → server and resolves once sluice's tcp class is backlogged. */
async function loadUntilBacklogged(lab: Lab, socket: string): Promise<{ bulk: Promise<TcpBulkResult>; backlog: number }> {
  const bulk = tcpBulk(lab, { from: 'client', to: 'server', streams: STREAMS, durationMs: BULK_MS, lingerMs: 5000 });
  // Awaited by the caller; a failure before that must not surface as the generator's, killed on the way out.
  bulk.catch(() => undefined);
  let backlog = 0;
  const by = Date.now() + 10_000;
  while ((backlog = await tcpBacklog(socket)) < STREAMS && Date.now() < by) await sleep(100);
  assert.ok(backlog >= STREAMS, `the tcp class is backlogged before the signal (backlog ${backlog} packets)`);
  return { bulk, backlog };
}

/** Resolves with the exit code (or signal) and how long after `sinceMs` (performance.now()) it came. */
function exited(child: ChildProcess, sinceMs: number): Promise<{ code: number | null; signal: string | null; tookMs: number }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, tookMs: performance.now() - sinceMs })));
}

it('SIGTERM under load: exit 0 within 2 s, no rule left, no connection reset; a second signal forces the exit', { timeout: 90_000 }, (t) =>
  withLab('shutdown', async ({ lab, dir, startSluice }) => {
    const dev = lab.end('router', 'server').dev;
    const yaml = configYaml({ queue: queueNumber(), links: [{ interface: dev, egressBps: LINK_BPS }], classes: CLASSES });
    const file = dir.write('sluice.yaml', yaml);

    const sluice = await startSluice('router', file);
    const first = await loadUntilBacklogged(lab, sluice.socket);
    // A reload takes a changed log section (it is no datapath change): json from here on, debug included.
    dir.write('sluice.yaml', `log:\n  level: debug\n  format: json\n${yaml}`);
    sluice.child.kill('SIGHUP');
    await sluice.waitFor(/\{"time":"[^"]+","level":"info","msg":"reloaded [^"]+"\}\n/, 10_000);
    const signalledAt = performance.now();
    const code = await sluice.stop('SIGTERM');
    const tookMs = performance.now() - signalledAt;
    t.diagnostic(`SIGTERM with ${first.backlog} packets backlogged in the tcp class: exit ${code} after ${tookMs.toFixed(0)} ms`);
    assert.equal(code, 0, sluice.output);
    assert.ok(tookMs <= STOP_WITHIN_MS, `SIGTERM → exit took ${tookMs.toFixed(0)} ms:\n${sluice.output}`);
    const events = sluice.output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(events.some((e) => e.level === 'info' && e.msg === 'stopping: removing the firewall rules and releasing held packets'), sluice.output);
    // The last summary, at debug level, as it stopped: the tcp class's row with its figures as fields.
    assert.ok(events.some((e) => e.level === 'debug' && e.class === 'tcp' && e.direction === 'egress' && typeof e.backlogPackets === 'number'), sluice.output);
    assert.doesNotMatch(await mangleRules(lab, 'router'), /SLUICE/);
    // tcpBulk rejects when a stream fails (a reset); closed gracefully, every byte sent arrived.
    const sent = await first.bulk;
    t.diagnostic(`generator: ${sent.connections} connections, ${sent.bytes} of ${sent.sentBytes} bytes arrived, flushed ${sent.flushed}`);
    assert.equal(sent.connections, STREAMS);
    assert.ok(sent.flushed, 'every stream closed gracefully, nothing reset');
    assert.equal(sent.bytes, sent.sentBytes);

    // Two different signals back to back: the kernel cannot merge them, so the second one always finds
    // the stop under way, whatever stage it has reached.
    dir.write('sluice.yaml', yaml);
    const again = await startSluice('router', file);
    const second = await loadUntilBacklogged(lab, again.socket);
    const forcedAt = performance.now();
    const exit = exited(again.child, forcedAt);
    again.child.kill('SIGTERM');
    again.child.kill('SIGINT');
    const forced = await exit;
    t.diagnostic(`SIGTERM + SIGINT: exit ${forced.code ?? forced.signal} after ${forced.tookMs.toFixed(0)} ms\n${again.output}`);
    assert.ok(forced.code !== null && forced.code !== 0 && forced.signal === null, `a non-zero exit code, not ${forced.code ?? forced.signal}`);
    assert.equal(forced.code, (again.output.includes('second SIGINT') ? 130 : 143), '128 + the second signal');
    assert.ok(forced.tookMs <= FORCED_WITHIN_MS, `forced exit took ${forced.tookMs.toFixed(0)} ms`);
    assert.match(again.output, /\nsluice: second SIG(INT|TERM) while stopping: exiting at once; the packets held now are lost \(TCP sends them again\); sluice rules still in place carry --queue-bypass, so traffic flows unshaped until the next start or `sluice cleanup` removes them\n/);
    assert.doesNotMatch(again.output, /\n\s+at /, 'no stack trace');
    // The held packets were lost, not the connections: TCP sent them again, with or without the rules.
    const survived = await second.bulk;
    assert.equal(survived.connections, STREAMS);
    assert.ok(survived.flushed, 'every stream closed gracefully after the forced stop');
    const cleanup = await lab.exec('router', sluiceArgv(['cleanup']), { timeoutMs: 20_000, check: false });
    t.diagnostic(`cleanup: ${cleanup.stdout.trim()}`);
    assert.equal(cleanup.exitCode, 0, `${cleanup.stdout}${cleanup.stderr}`);
    assert.doesNotMatch(await mangleRules(lab, 'router'), /SLUICE/);
  }));
