/**
 * The daemon through its control API, in the lab (root): `sluice run` on the router with a class
 * for UDP (ceil 2mbit) while a generator sends 6 Mbit/s through it. `sluice status` shows the class
 * and its traffic, `sluice flows` the generator's flow, and `sluice explain --flow ID` names the
 * class and the rule that put that flow there (an unknown id: one line, exit 1). `sluice reload`
 * with the ceiling raised to 4mbit takes effect within a second (the class's own sent counters over
 * the next two seconds); a reload of a broken file is refused with its file:line:col and the
 * running ceiling stays (3mbit by then: a reload brought a schedule window in force now, which
 * `status` names); what the generator lost is what the class dropped (nothing else); rules flushed
 * by someone else are put back within seconds; `sluice stop` ends the daemon in order, with no rule
 * left.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StatusReply } from '../../src/control/api/protocol.js';
import type { ClassCounters, FlowRow } from '../../src/engine/snapshot.js';
import { udpRate } from '../../src/lab/traffic/index.js';
import { sluiceArgv } from '../../src/lab/sluice.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, configYaml, mangleRules, queueNumber, withLab } from './support.js';

const LINK_BPS = 20_000_000;
const classes = (ceil: string): string => `  udp:
    rate: 1mbit
    ceil: ${ceil}
    match: proto == "udp"
  default:
    rate: 10mbit
    ceil: 100%
`;

/** The udp class in the daemon's status (null before its first counters). */
async function udpClassOrNull(socket: string): Promise<{ c: ClassCounters; atUs: number } | null> {
  const r = await cli('status', '--json', '--socket', socket);
  assert.equal(r.code, 0, r.err);
  const reply = JSON.parse(r.out) as StatusReply;
  const c = reply.snapshot?.classes.find((k) => k.path === 'udp' && k.direction === 'egress');
  return c && reply.snapshot ? { c, atUs: reply.snapshot.atUs } : null;
}

async function udpClass(socket: string): Promise<{ c: ClassCounters; atUs: number }> {
  const found = await udpClassOrNull(socket);
  assert.ok(found, 'the udp class in the status');
  return found;
}

/** The class's sending rate (IP bits/s) between two status calls `windowMs` apart. */
async function sentRateBps(socket: string, windowMs: number): Promise<number> {
  const a = await udpClass(socket);
  await sleep(windowMs);
  const b = await udpClass(socket);
  return ((b.c.sentBytes - a.c.sentBytes) * 8e6) / (b.atUs - a.atUs);
}

it('status, reload (good and broken) and stop through the control socket, under traffic', { timeout: 120_000 }, (t) =>
  withLab('daemon', async ({ lab, dir, startSluice }) => {
    const dev = lab.end('router', 'server').dev;
    const queue = queueNumber();
    const file = dir.write('sluice.yaml', configYaml({ queue, links: [{ interface: dev, egressBps: LINK_BPS }], classes: classes('2mbit') }));
    const sluice = await startSluice('router', file);
    const traffic = udpRate(lab, { from: 'client', to: 'server', rateBps: 6e6, payloadBytes: 1000, durationMs: 10_000, settleMs: 2500 });
    // Awaited below; a failure before that must not surface as the generator's, killed on the way out.
    traffic.catch(() => undefined);
    // The generator starts when its agent has (a second or two under load): wait for the class to fill.
    const filledBy = Date.now() + 15_000;
    while (((await udpClassOrNull(sluice.socket))?.c.currentBps ?? 0) < 1.8e6 && Date.now() < filledBy) await sleep(250);

    const before = await sentRateBps(sluice.socket, 1500);
    const text = await cli('status', '--socket', sluice.socket);
    assert.equal(text.code, 0, text.err);
    t.diagnostic(`\n${text.out}`);
    assert.match(text.out, new RegExp(`^${dev} egress$`, 'm'));
    assert.match(text.out, /^ {2}udp +1mbit +2mbit +\S+ +\d+\.\d% /m);
    assert.ok(before > 1.9e6 && before < 2.1e6, `before the reload the class sent ${before} bit/s, ceil 2mbit`);

    const listing = await cli('flows', 'proto == "udp"', '--socket', sluice.socket);
    assert.equal(listing.code, 0, listing.err);
    t.diagnostic(`\n${listing.out}`);
    const udpLines = listing.out.split('\n').filter((l) => l.startsWith('udp '));
    assert.equal(udpLines.length, 1, 'the generator\'s one flow');
    const client = lab.address('client', 4);
    assert.ok(udpLines[0].startsWith(`udp ${client}:`), udpLines[0]);
    assert.match(udpLines[0], / > \S+:\d+ +udp +/);
    const json = JSON.parse((await cli('flows', '--json', '--socket', sluice.socket)).out) as FlowRow[];
    const flow = json.find((f) => f.proto === 17);
    assert.ok(flow && flow.origRateBps > 3e6, `the flow offers ${flow?.origRateBps} bit/s at sluice (6 Mbit/s sent, shaped after)`);

    // Why that flow is in its class, asked of the daemon by its id.
    const explained = await cli('explain', '--flow', String(flow.id), '--socket', sluice.socket);
    t.diagnostic(`\n${explained.out}`);
    assert.equal(explained.code, 0, explained.err);
    const lines = explained.out.trimEnd().split('\n');
    assert.match(lines[0], new RegExp(`^flow ${flow.id}: udp ${client.replaceAll('.', '\\.')}:${flow.initiatorPort} > \\S+:${flow.responderPort} \\(`));
    const at = lines.findIndex((l) => l.startsWith(`link ${dev} egress, a typical packet of the flow (the initiator's): udp ${client}:${flow.initiatorPort} -> `));
    assert.ok(at >= 0, 'the egress side explains the initiator\'s packets');
    assert.match(lines[at + 1], /^ {2}udp +✓ matched +\[flow-level: cached per flow\]$/);
    assert.equal(lines[at + 2], '      proto == "udp" ✓');
    assert.ok(lines.includes('  class: udp'), explained.out);
    assert.ok(lines.includes('  the flow is in udp now, put there by the rules above'), 'the engine\'s record and the explainer agree');
    const unknown = await cli('explain', '--flow', '999999', '--socket', sluice.socket);
    assert.deepEqual([unknown.code, unknown.out, unknown.err], [1, '', 'sluice: no live flow 999999 — `sluice flows` lists them\n']);

    dir.write('sluice.yaml', configYaml({ queue, links: [{ interface: dev, egressBps: LINK_BPS }], classes: classes('4mbit') }));
    const reload = await cli('reload', '--socket', sluice.socket);
    assert.deepEqual([reload.code, reload.out], [0, 'sluice: reloaded\n'], reload.err);
    await sleep(1000);
    const after = await sentRateBps(sluice.socket, 2000);
    assert.ok(after > 3.8e6 && after < 4.2e6, `from a second after the reload the class sent ${after} bit/s, ceil 4mbit`);

    // The link's rate at run time: percentages follow it; a rate the classes no longer fit in is refused.
    const set = await cli('set', 'link', dev, 'egress', '12mbit', '--socket', sluice.socket);
    assert.deepEqual([set.code, set.out], [0, `sluice: ${dev} egress is now 12mbit\n`], set.err);
    const defaultClass = async (): Promise<ClassCounters | undefined> =>
      (JSON.parse((await cli('status', '--json', '--socket', sluice.socket)).out) as StatusReply).snapshot?.classes.find((k) => k.path === 'default' && k.direction === 'egress');
    const setBy = Date.now() + 5000;
    while ((await defaultClass())?.ceilBps !== 12e6 && Date.now() < setBy) await sleep(200);
    assert.equal((await defaultClass())?.ceilBps, 12e6, 'the default class\'s ceil of 100% follows the link');
    const tooLow = await cli('set', 'link', dev, 'egress', '3mbit', '--socket', sluice.socket);
    assert.equal(tooLow.code, 1);
    assert.match(tooLow.err, /^sluice: set link refused, the rate stays:\n.*rate/);
    // The rate set at run time outlives reloads, so a file whose classes no longer fit in it is refused.
    dir.write('sluice.yaml', configYaml({ queue, links: [{ interface: dev, egressBps: LINK_BPS }], classes: classes('4mbit').replace('rate: 10mbit', 'rate: 15mbit') }));
    const unfit = await cli('reload', '--socket', sluice.socket);
    assert.equal(unfit.code, 1);
    assert.match(unfit.err, new RegExp(`\\(with the link rates set at run time: ${dev} egress 12mbit\\)`));

    // A schedule window in force now (UTC, the next 20 minutes) lowers the ceiling to 3mbit as it is read.
    const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);
    const window = `${hhmm(Date.now() - 600_000)}-${hhmm(Date.now() + 600_000)}`;
    const scheduled = classes('4mbit').replace('    match: proto == "udp"\n', `    match: proto == "udp"\n    schedule:\n      - hours: "${window}"\n        ceil: 3mbit\n`);
    dir.write('sluice.yaml', `timezone: UTC\n${configYaml({ queue, links: [{ interface: dev, egressBps: LINK_BPS }], classes: scheduled })}`);
    assert.equal((await cli('reload', '--socket', sluice.socket)).code, 0);
    const status = JSON.parse((await cli('status', '--json', '--socket', sluice.socket)).out) as StatusReply;
    assert.deepEqual(status.schedule, [{ classPath: 'udp', index: 0, label: window }]);
    const scheduledBy = Date.now() + 3000;
    while ((await udpClass(sluice.socket)).c.ceilBps !== 3e6 && Date.now() < scheduledBy) await sleep(200);
    assert.equal((await udpClass(sluice.socket)).c.ceilBps, 3e6, 'the window\'s ceiling runs');
    assert.equal((await defaultClass())?.ceilBps, 12e6, 'the link rate set at run time outlives the reload');
    assert.match((await cli('status', '--socket', sluice.socket)).out, new RegExp(`^schedule windows in force: udp ${window}$`, 'm'));

    dir.write('sluice.yaml', configYaml({ queue, links: [{ interface: dev, egressBps: LINK_BPS }], classes: classes('4mbits') }));
    const broken = await cli('reload', '--socket', sluice.socket);
    assert.equal(broken.code, 1);
    assert.match(broken.err, /^sluice: reload refused, still running the previous configuration:\n\S+sluice\.yaml:\d+:\d+: classes\.udp\.ceil: /);
    assert.equal((await udpClass(sluice.socket)).c.ceilBps, 3e6, 'the running ceiling stays');

    const sent = await traffic;
    await sleep(500);
    const { c } = await udpClass(sluice.socket);
    assert.equal(c.backlogPackets, 0, 'the class has drained (the receiver counted for 2.5 s after the sender stopped)');
    const dropped = Object.values(c.drops).reduce((a, b) => a + b, 0);
    t.diagnostic(`rates ${(before / 1e6).toFixed(3)} → ${(after / 1e6).toFixed(3)} Mbit/s; generator sent ${sent.sent}, lost ${sent.lost}; the class dropped ${dropped}`);
    assert.ok(Math.abs(sent.lost - dropped) <= sent.sent * 0.005, `lost ${sent.lost} of ${sent.sent}, the class dropped ${dropped}: nothing else may lose packets`);

    // A firewall manager flushes POSTROUTING: the daemon notices within seconds and puts its jump back.
    const postrouting = async (): Promise<string> => (await lab.exec('router', ['iptables', '-w', '-t', 'mangle', '-S', 'POSTROUTING'])).stdout;
    await lab.exec('router', ['iptables', '-w', '-t', 'mangle', '-F', 'POSTROUTING']);
    assert.doesNotMatch(await postrouting(), /SLUICE-EGRESS/);
    await sluice.waitFor(/sluice: the firewall rules had changed \(ipv4: [^\n]*\): reinstalled\n/, 10_000);
    assert.match(await postrouting(), /-A POSTROUTING -o \S+ .*-j SLUICE-EGRESS/);

    const stop = await cli('stop', '--socket', sluice.socket);
    assert.equal(stop.code, 0, stop.err);
    const deadline = Date.now() + 15_000;
    while (sluice.child.exitCode === null && Date.now() < deadline) await sleep(50);
    assert.equal(sluice.child.exitCode, 0, sluice.output);
    assert.doesNotMatch(await mangleRules(lab, 'router'), /SLUICE/);
    assert.equal((await cli('status', '--socket', sluice.socket)).code, 2, 'the socket went with it');

    // sluice start: in the background, returning once it shapes, with its PID file; stop ends it.
    const socket = join(dir.path, 'started.sock');
    const pidFile = join(dir.path, 'sluice.pid');
    const log = join(dir.path, 'sluice.log');
    const startArgv = sluiceArgv(['start', '-c', file, '--socket', socket, '--pid-file', pidFile, '--log', log]);
    const refused = await lab.exec('router', startArgv, { timeoutMs: 90_000, check: false });
    assert.equal(refused.exitCode, 1, 'the file still has its broken ceiling');
    assert.match(refused.stderr, /sluice\.yaml:\d+:\d+: classes\.udp\.ceil: '4mbits' is not a rate/);
    dir.write('sluice.yaml', configYaml({ queue, links: [{ interface: dev, egressBps: LINK_BPS }], classes: classes('4mbit') }));
    const started = await lab.exec('router', startArgv, { timeoutMs: 90_000 });
    assert.match(started.stdout, /^sluice: started \(pid (\d+)\); it logs to \S+sluice\.log; `sluice status` shows what it does\n$/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(Number.isInteger(pid) && pid > 0);
    assert.match(await postrouting(), /SLUICE-EGRESS/, 'shaping is active when start returns');
    assert.equal((await cli('status', '--socket', socket)).code, 0);
    assert.equal((await cli('stop', '--socket', socket)).code, 0);
    const gone = Date.now() + 15_000;
    while (existsSync(pidFile) && Date.now() < gone) await sleep(50);
    assert.equal(existsSync(pidFile), false, 'the PID file goes with the daemon');
    assert.doesNotMatch(await mangleRules(lab, 'router'), /SLUICE/);
    assert.match(readFileSync(log, 'utf8'), /sluice: shaping /);
  }));
