/**
 * Process attribution end to end in the lab (root; without root the test fails saying so): the same
 * server address and port reached by two programs run as two users lands in two classes from the
 * connection's first packet. client — server, sluice on the client shaping its egress toward the
 * server at 100 Mbit/s, holding a new connection's packets up to owner_wait (50 ms) for its owner:
 *
 *   daemon-bash  user == "daemon" and cmd == "bash"   set_dscp: af11  (10)
 *   nobody-node  user == "nobody" and cmd == "node"   set_dscp: af21  (18)
 *   default      everything else                      no rewrite      (DSCP stays 0)
 *
 * The programs, each a new process per connection, run with setpriv in the client's namespace:
 * bash as daemon (`exec 3<>/dev/tcp/ADDR/PORT; printf x >&3`) and node as nobody (net.connect, write,
 * end). Both rules read cmd, which the kernel's uid on an egress packet does not answer, so every
 * connection needs the owner thread's lookup (sock_diag + the /proc index) before its SYN may be
 * classified. A decoy, node as daemon, has the first rule's user and the second rule's program and
 * must match neither: a classifier that looked at the user alone, or at the program alone, fails it.
 *
 * The judge is the server's kernel: counting rules in its mangle PREROUTING (no target, one per
 * question, read back by their comments) count the packets to the port by DSCP, the SYNs apart from
 * the rest (`--syn`: SYN set, ACK, FIN and RST clear). A SYN that was classified before its owner was
 * known would go to the default class and arrive with DSCP 0, whatever the later packets carry.
 *
 * Order: sluice shaping, the sink listening; one warm-up connection of each program repeated until
 * its SYN arrives with its class's DSCP (the owner thread starts under tsx and builds its /proc index
 * first: a second or two), bounded by WARM_UP_MS; the counters zeroed. Then per family (IPv4, then
 * IPv6): CONNECTIONS of each program alternating, and every SYN must carry its program's DSCP, none
 * DSCP 0, the other packets likewise; then CONNECTIONS decoys, every packet of which must keep DSCP 0.
 *
 * Last, `sluice flows` while bash as daemon and node as nobody each hold a connection open to a
 * second port: the listing (JSON and text, filtered by port and by user) names each one's user and
 * program.
 *
 * Traffic stays inside the lab's namespaces; sluice, the sink and the lab (with the counting rules in
 * it) are removed by withLab.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlowRow } from '../../src/engine/snapshot.js';
import { Lab, startAgent } from '../../src/lab/index.js';
import { addCountingRules, readCountingRules, zeroCountingRules, type CountingRule } from './counting-rules.js';
import { cli, configYaml, queueNumber, summaryBlocks, withLab } from './support.js';

const LINK_BPS = 100_000_000;
const PORT = 7010;
const AF11 = 10;
const AF21 = 18;
/** Measured connections per program and family. */
const CONNECTIONS = 5;
/** How long the warm-up may take for the owner thread to answer in time. */
const WARM_UP_MS = 10_000;
/** How long one program's run (a process start and one short connection) may take. */
const PROGRAM_TIMEOUT_MS = 10_000;
/** The sinks' bound: well past the test's own. */
const SINK_LIFETIME_MS = 90_000;
/**
 * Packets other than the SYN each connection sends at the least: the handshake's ACK, the byte
 * written (its FIN may ride along) and the ACK of the server's FIN. Four in the runs seen.
 */
const MIN_OTHER_PACKETS = 3;

const CLASSES = [
  '  daemon-bash:',
  '    rate: 10mbit',
  '    ceil: 100%',
  '    match: user == "daemon" and cmd == "bash"',
  '    set_dscp: af11',
  '  nobody-node:',
  '    rate: 10mbit',
  '    ceil: 100%',
  '    match: user == "nobody" and cmd == "node"',
  '    set_dscp: af21',
  '  default:',
  '    rate: 80mbit',
  '    ceil: 100%',
  '',
].join('\n');

interface Program {
  label: string;
  /** The DSCP its packets must arrive with. */
  dscp: number;
  argv: (address: string) => string[];
}

/** bash's /dev/tcp: connect (the SYN), one byte, exit (the FIN). */
const DAEMON_BASH: Program = {
  label: 'bash as daemon',
  dscp: AF11,
  argv: (address) => ['setpriv', '--reuid=daemon', '--regid=daemon', '--clear-groups', 'bash', '-c', `exec 3<>/dev/tcp/${address}/${PORT}; printf x >&3`],
};

function nodeClient(address: string): string {
  return [
    `const s = require('net').connect(${PORT}, ${JSON.stringify(address)}, () => s.end('x'));`,
    `s.on('error', (e) => { console.error(e.message); process.exit(1); });`,
    `s.on('close', () => process.exit(0));`,
    `s.resume();`,
  ].join(' ');
}

const NOBODY_NODE: Program = {
  label: 'node as nobody',
  dscp: AF21,
  argv: (address) => ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', 'node', '-e', nodeClient(address)],
};

/** The first rule's user running the second rule's program: the default class. */
const DAEMON_NODE: Program = {
  label: 'node as daemon (decoy)',
  dscp: 0,
  argv: (address) => ['setpriv', '--reuid=daemon', '--regid=daemon', '--clear-groups', 'node', '-e', nodeClient(address)],
};

const DSCPS = [AF11, AF21, 0];

/** The counting rules: name (its comment) and match. */
function countingRules(): CountingRule[] {
  const port = ['-p', 'tcp', '--dport', String(PORT)];
  const rules: CountingRule[] = [
    ['syn', [...port, '--syn']],
    ['other', [...port, '!', '--syn']],
  ];
  for (const dscp of DSCPS) {
    rules.push([`syn-${dscp}`, [...port, '--syn', '-m', 'dscp', '--dscp', String(dscp)]]);
    rules.push([`other-${dscp}`, [...port, '!', '--syn', '-m', 'dscp', '--dscp', String(dscp)]]);
  }
  return rules;
}

/** Packets each counting rule of the family saw, by name. */
async function readCounters(lab: Lab, family: 4 | 6): Promise<Map<string, number>> {
  const counts = await readCountingRules(lab, 'server', family, countingRules());
  return new Map([...counts].map(([name, c]) => [name, c.packets]));
}

function show(counts: Map<string, number>): string {
  return [...counts].map(([name, n]) => `${name} ${n}`).join(', ');
}

/** Runs one program in the client: one new process, one new connection to the server. */
async function runProgram(lab: Lab, program: Program, family: 4 | 6): Promise<void> {
  const r = await lab.exec('client', program.argv(lab.address('server', family)), { timeoutMs: PROGRAM_TIMEOUT_MS, check: false });
  assert.equal(r.exitCode, 0, `${program.label} over IPv${family} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
}

/** Asserts that users daemon and nobody and groups daemon and nogroup exist, as setpriv needs them. */
function assertAccounts(): void {
  const users = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')[0]);
  const groups = readFileSync('/etc/group', 'utf8').split('\n').map((l) => l.split(':')[0]);
  for (const user of ['daemon', 'nobody']) assert.ok(users.includes(user), `the test runs programs as user ${user}, which /etc/passwd lacks`);
  for (const group of ['daemon', 'nogroup']) assert.ok(groups.includes(group), `the test runs programs with group ${group}, which /etc/group lacks`);
}

/**
 * Runs `program` over IPv4 until one of its SYNs arrives with its DSCP (the owner thread is up and
 * answers within owner_wait); returns how many runs that took and how long.
 */
async function warmUp(lab: Lab, program: Program): Promise<{ runs: number; ms: number }> {
  const t0 = Date.now();
  for (let runs = 1; ; runs++) {
    await runProgram(lab, program, 4);
    const counts = await readCounters(lab, 4);
    if ((counts.get(`syn-${program.dscp}`) ?? 0) > 0) return { runs, ms: Date.now() - t0 };
    assert.ok(Date.now() - t0 < WARM_UP_MS,
      `${program.label}: no SYN arrived with DSCP ${program.dscp} in ${runs} connections over ${WARM_UP_MS} ms (${show(counts)}): the owner lookup never answered within owner_wait`);
  }
}

/** Runs `programs` in turn, `rounds` times, over `family`; returns what the server counted. */
async function measure(lab: Lab, family: 4 | 6, programs: readonly Program[], rounds: number): Promise<Map<string, number>> {
  for (const family of [4, 6] as const) await zeroCountingRules(lab, 'server', family);
  for (let i = 0; i < rounds; i++) for (const p of programs) await runProgram(lab, p, family);
  return readCounters(lab, family);
}

/** Asserts that the counted SYNs and other packets carry exactly the DSCPs `want` says (DSCP → connections). */
function assertClasses(counts: Map<string, number>, want: Map<number, number>, what: string): void {
  const connections = [...want.values()].reduce((a, b) => a + b, 0);
  assert.equal(counts.get('syn'), connections, `${what}: the server counted ${counts.get('syn')} SYNs for ${connections} connections (${show(counts)})`);
  for (const dscp of DSCPS) {
    const n = want.get(dscp) ?? 0;
    assert.equal(counts.get(`syn-${dscp}`), n, `${what}: ${counts.get(`syn-${dscp}`)} SYNs arrived with DSCP ${dscp}, want ${n} (${show(counts)})`);
    const other = counts.get(`other-${dscp}`) as number;
    if (n === 0) assert.equal(other, 0, `${what}: ${other} packets after the SYN arrived with DSCP ${dscp}, want none (${show(counts)})`);
    else assert.ok(other >= n * MIN_OTHER_PACKETS, `${what}: only ${other} packets after the SYN arrived with DSCP ${dscp} for ${n} connections (${show(counts)})`);
  }
  const placed = DSCPS.reduce((sum, dscp) => sum + (counts.get(`other-${dscp}`) as number), 0);
  assert.equal(placed, counts.get('other'), `${what}: of ${counts.get('other')} packets after the SYN, ${placed} carried one of the DSCPs ${DSCPS.join(', ')} (${show(counts)})`);
}

/** The port of the connections held open while `sluice flows` is asked for. */
const HELD_PORT = PORT + 1;
/** How long each held connection stays open. */
const HELD_MS = 4000;

/** bash as daemon and node as nobody, each holding one connection to HELD_PORT open for HELD_MS. */
function heldConnections(address: string): { user: string; cmd: string; argv: string[] }[] {
  const node = [
    `const s = require('net').connect(${HELD_PORT}, ${JSON.stringify(address)}, () => { s.write('x'); setTimeout(() => s.end(), ${HELD_MS}); });`,
    `s.on('error', (e) => { console.error(e.message); process.exit(1); });`,
    `s.resume();`,
  ].join(' ');
  return [
    { user: 'daemon', cmd: 'bash', argv: ['setpriv', '--reuid=daemon', '--regid=daemon', '--clear-groups', 'bash', '-c', `exec 3<>/dev/tcp/${address}/${HELD_PORT}; printf x >&3; sleep ${HELD_MS / 1000}`] },
    { user: 'nobody', cmd: 'node', argv: ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', 'node', '-e', node] },
  ];
}

/**
 * `sluice flows` while the two programs hold their connections: the listing names each one's user
 * and program (as JSON and as text), and a filter on the user keeps only that user's connection.
 */
async function checkFlowsListing(t: TestContext, lab: Lab, socket: string): Promise<void> {
  const programs = heldConnections(lab.address('server', 4));
  const runs = programs.map((p) => lab.exec('client', p.argv, { timeoutMs: PROGRAM_TIMEOUT_MS, check: false }));
  try {
    let rows: FlowRow[] = [];
    for (const until = Date.now() + HELD_MS - 1000; Date.now() < until; await sleep(100)) {
      const r = await cli('flows', '--json', `rport == ${HELD_PORT}`, '--socket', socket);
      assert.equal(r.code, 0, r.err);
      rows = JSON.parse(r.out) as FlowRow[];
      if (rows.length === programs.length && rows.every((row) => row.owner.known)) break;
    }
    const seen = rows.map((row) => `${row.owner.user} ${row.owner.cmd}`).sort();
    t.diagnostic(`flows to port ${HELD_PORT}: ${seen.join(', ')}`);
    assert.deepEqual(seen, programs.map((p) => `${p.user} ${p.cmd}`).sort(), 'each held connection is listed once, with its user and program');
    const text = await cli('flows', `rport == ${HELD_PORT} and user == "nobody"`, '--socket', socket);
    const lines = text.out.trimEnd().split('\n');
    assert.equal(lines.length, 2, `a header and nobody's one connection:\n${text.out}`);
    assert.match(lines[1], /\bnobody\b.*\bnode\b/, lines[1]);
  } finally {
    for (const [i, run] of runs.entries()) {
      const r = await run;
      assert.equal(r.exitCode, 0, `${programs[i].cmd} as ${programs[i].user} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
    }
  }
}

async function checkFamily(t: TestContext, lab: Lab, family: 4 | 6): Promise<void> {
  const ip = `IPv${family}`;
  const t0 = Date.now();
  const pair = await measure(lab, family, [DAEMON_BASH, NOBODY_NODE], CONNECTIONS);
  const pairMs = Date.now() - t0;
  t.diagnostic(`${ip}: ${CONNECTIONS} × (${DAEMON_BASH.label}, ${NOBODY_NODE.label}) in ${pairMs} ms; the server counted ${show(pair)}`);
  assertClasses(pair, new Map([[AF11, CONNECTIONS], [AF21, CONNECTIONS]]), `${ip}, ${DAEMON_BASH.label} and ${NOBODY_NODE.label}`);

  const decoys = await measure(lab, family, [DAEMON_NODE], CONNECTIONS);
  t.diagnostic(`${ip}: ${CONNECTIONS} × ${DAEMON_NODE.label}; the server counted ${show(decoys)}`);
  assertClasses(decoys, new Map([[0, CONNECTIONS]]), `${ip}, ${DAEMON_NODE.label}`);
}

it('the same server port reached by bash as daemon and node as nobody: each SYN already in its program\'s class (DSCP 10, 18; a decoy 0), IPv4 and IPv6; `sluice flows` names each live connection\'s user and program', { timeout: 90_000 }, (t) =>
  withLab('owner', async ({ lab, dir, startSluice }) => {
    assertAccounts();
    const dev = lab.end('client', 'server').dev;
    const config = dir.write('sluice.yaml', `owner_wait: 50ms\n${configYaml({ queue: queueNumber(), links: [{ interface: dev, egressBps: LINK_BPS }], classes: CLASSES })}`);
    for (const family of [4, 6] as const) await addCountingRules(lab, 'server', family, countingRules());
    // One sink per family on the one port (the IPv6 one listens IPv6-only).
    const sinks = ([4, 6] as const).map((family) => startAgent(lab, 'server', 'tcp-sink', { port: PORT, family, lifetimeMs: SINK_LIFETIME_MS }));
    const heldSink = startAgent(lab, 'server', 'tcp-sink', { port: HELD_PORT, family: 4, lifetimeMs: SINK_LIFETIME_MS });
    try {
      const sluice = await startSluice('client', config, ['-v']);
      for (const sink of sinks) await sink.ready;
      let warmRuns = 0;
      try {
        const warm = [await warmUp(lab, DAEMON_BASH), await warmUp(lab, NOBODY_NODE)];
        warmRuns = warm[0].runs + warm[1].runs;
        t.diagnostic(`warm-up: ${DAEMON_BASH.label} ${warm[0].runs} runs in ${warm[0].ms} ms, ${NOBODY_NODE.label} ${warm[1].runs} runs in ${warm[1].ms} ms`);
        await checkFamily(t, lab, 4);
        await checkFamily(t, lab, 6);
        await heldSink.ready;
        await checkFlowsListing(t, lab, sluice.socket);
      } catch (err) {
        t.diagnostic(`sluice said:\n${sluice.output}`);
        throw err;
      }
      assert.equal(await sluice.stop('SIGTERM'), 0, sluice.output);
      assert.match(sluice.output, /\| classifies by process \(owner_wait 50ms\)\n/, 'the start line says what the rules classify by');
      assert.doesNotMatch(sluice.output, /warning/);
      const blocks = summaryBlocks(sluice.output);
      if (blocks.length > 0) t.diagnostic(`sluice's last summary: ${blocks[blocks.length - 1]}`);
      for (const sink of sinks) sink.stop();
      const accepted = (await Promise.all(sinks.map((sink) => sink.result))).map((r) => r.connections);
      const made = [warmRuns + 3 * CONNECTIONS, 3 * CONNECTIONS];
      assert.deepEqual(accepted, made, `the sinks (IPv4, IPv6) accepted ${accepted.join(', ')} connections, the programs made ${made.join(', ')}`);
    } finally {
      for (const sink of [...sinks, heldSink]) sink.kill();
    }
  }, (name) => Lab.pair({ name })));
