/**
 * Classes sharing a link, end to end in the lab (root; without root each test fails saying so):
 * client — router — server, sluice on the router shaping its interface toward the server to 10 Mbit/s,
 * flows client → server told apart by their server port (`rport`). What the design promises
 * (src/sched/scheduler.ts, classes.ts: HTB semantics, lower (level, prio) served first):
 *
 *   split    A rate 7mbit, B rate 3mbit, both ceil 10mbit, same prio, both saturated by bulk TCP:
 *            each gets its own rate (the rates fill the link, nothing is left to borrow): 70% / 30%.
 *   prio     A prio 0 and B prio 1, both rate 2mbit ceil 10mbit, bulk TCP in each: each first gets its
 *            rate (level 0), then the link lends the 6 Mbit/s spare to the lower prio number only: 80% / 20%.
 *   ceiling  one class rate 1mbit ceil 2mbit alone on the idle link, offered 5 Mbit/s of UDP (no
 *            congestion control to blur the figure): 2 Mbit/s, not more.
 *
 * What each class got is counted where it arrives: a counting rule per port in the server's INPUT
 * chain (IP bytes, the unit the shaper's rates are in), read at both ends of one 6 s window that opens
 * 2 s after every flow shows on the counters (after slow start) — the same wall-clock window for all
 * flows, which run until it closes. Goodput at the receivers is not used: a lost packet holds back the
 * bytes behind it until it is resent, which moves 1 s of goodput by up to ±30% at 2 Mbit/s, so a
 * window's edges would make a tight bound flaky. When a test fails it prints sluice's own per-class
 * summaries (-v: sent rate, backlog, drops), which tell a shaper that held packets back from senders
 * that offered too little.
 *
 * Shares are of the total the two flows got, within ±10% of each share (63-77% for 70%): TCP's
 * sawtooth and CoDel's drops empty a class's queue now and then, and the other class borrows that
 * moment, which moves shares by a few percent; a scheduler ignoring rate or prio is off by 20% or more
 * (an even split is 50%). Together they must fill the link: nothing idles while a class has packets
 * and the link has room (MAX_OVER and MAX_UNDER say how closely). Traffic stays in the lab; sluice,
 * the agents and the lab (with the counting rules in it) are removed by withLab.
 */
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lab } from '../../src/lab/index.js';
import { startAgent } from '../../src/lab/traffic/index.js';
import { configYaml, mbit, queueNumber, withLab } from './support.js';

const LINK_BPS = 10_000_000;
const PORT_A = 5410;
const PORT_B = 5411;
/** Senders run until measured; this only bounds them if something hangs. */
const MAX_LOAD_MS = 60_000;
const CEIL_BPS = 2_000_000;
/** UDP payload offered to the capped class: well above its ceiling and below the link. */
const OFFERED_BPS = 5_000_000;
const UDP_PAYLOAD_BYTES = 1200;
/** A flow counts as started once its counter grows this fast. */
const STARTED_BPS = 100_000;
const START_WAIT_MS = 20_000;
const POLL_MS = 250;
const SETTLE_MS = 2000;
const WINDOW_MS = 6000;
/** Allowed deviation of a class's share, relative to that share. */
const SHARE_TOLERANCE = 0.1;
/**
 * Two saturated classes together, and a lone class at its ceiling: at most 3% above the figure (the
 * link's rate and a ceiling are hard caps) and at most 10% below it. On a quiet machine they land
 * within 1-3%. With a load average of 9-12 on the 2 cores (other lab tests, floods, benchmarks) sluice
 * was seen to deliver 73-91% of the link for a few seconds, where kernel HTB under the same load
 * held 99%: this test then fails, and says so, rather than hide it. A cap that does not hold, or a
 * class that cannot borrow (the prio test would get 4 Mbit/s), is far outside these bounds.
 */
const MAX_OVER = 0.03;
const MAX_UNDER = 0.1;

function assertNear(what: string, bps: number, wantBps: number): void {
  assert.ok(bps <= wantBps * (1 + MAX_OVER) && bps >= wantBps * (1 - MAX_UNDER),
    `${what} ${mbit(bps)}, want ${mbit(wantBps)} (-${MAX_UNDER * 100}% .. +${MAX_OVER * 100}%)`);
}

/** Builds a line lab, starts sluice on the router with `classes` under a 10 Mbit/s egress link, runs `body`. */
function withSluice(t: TestContext, name: string, classes: string, body: (lab: Lab) => Promise<void>): Promise<void> {
  return withLab(name, async ({ lab, dir, startSluice }) => {
    const dev = lab.end('router', 'server').dev;
    const file = dir.write('sluice.yaml', configYaml({ queue: queueNumber(), links: [{ interface: dev, egressBps: LINK_BPS }], classes }));
    const sluice = await startSluice('router', file, ['-v']);
    try {
      await body(lab);
    } catch (err) {
      t.diagnostic(`sluice -v said:\n${sluice.output}`);
      throw err;
    }
    assert.equal(await sluice.stop('SIGTERM'), 0, sluice.output);
  });
}

/** Counting rules (no target) in the server's INPUT chain, one per destination port: IP bytes received. */
async function countPorts(lab: Lab, proto: 'tcp' | 'udp', ports: readonly number[]): Promise<() => Promise<number[]>> {
  for (const port of ports) await lab.exec('server', ['iptables', '-w', '-A', 'INPUT', '-p', proto, '--dport', String(port)]);
  return async () => {
    const { stdout } = await lab.exec('server', ['iptables', '-w', '-nvx', '-L', 'INPUT']);
    return ports.map((port) => {
      const m = new RegExp(`^\\s*\\d+\\s+(\\d+)\\s.*\\b${proto} dpt:${port}\\s*$`, 'm').exec(stdout);
      if (m === null) throw new Error(`no counter for ${proto} port ${port} in the server's INPUT chain:\n${stdout}`);
      return Number(m[1]);
    });
  };
}

interface Load {
  /** Settles when the sender ends early (it should run until stopped): its error says why. */
  ended: Promise<unknown>;
  stop(): void;
}

/**
 * A sink in the server and a sender in the client on `port` until stop() (bulk TCP, or UDP at
 * OFFERED_BPS): the traffic generator's agents run directly rather than through tcpBulk() and
 * udpRate(), whose fixed durations would have to guess how long the agents take to start on a busy
 * machine. MAX_LOAD_MS only bounds them if something hangs.
 */
async function startLoad(lab: Lab, proto: 'tcp' | 'udp', port: number): Promise<Load> {
  const host = lab.address('server', 4);
  const tag = port; // any non-zero tag: the sink counts only datagrams carrying it
  const sink = proto === 'tcp'
    ? startAgent(lab, 'server', 'tcp-sink', { port, lifetimeMs: MAX_LOAD_MS })
    : startAgent(lab, 'server', 'udp-sink', { port, tag, lifetimeMs: MAX_LOAD_MS });
  try {
    await sink.ready;
  } catch (err) {
    sink.kill();
    throw err;
  }
  const sender = proto === 'tcp'
    ? startAgent(lab, 'client', 'tcp-bulk', { host, port, durationMs: MAX_LOAD_MS })
    : startAgent(lab, 'client', 'udp-rate', { host, port, tag, rateBps: OFFERED_BPS, payloadBytes: UDP_PAYLOAD_BYTES, durationMs: MAX_LOAD_MS });
  const stop = (): void => {
    sender.kill();
    sink.kill();
  };
  return { ended: sender.result, stop };
}

/**
 * Loads every port at once and measures each port's IP rate at the server over one window that opens
 * SETTLE_MS after every port's counter shows traffic; bits/s per port.
 */
async function windowRates(lab: Lab, proto: 'tcp' | 'udp', ports: readonly number[]): Promise<number[]> {
  const read = await countPorts(lab, proto, ports);
  const loads: Load[] = [];
  try {
    for (const port of ports) loads.push(await startLoad(lab, proto, port));
    let ended = false;
    const anyEnded = Promise.race(loads.map((l) => l.ended));
    void anyEnded.then(() => (ended = true), () => (ended = true));

    const deadline = Date.now() + START_WAIT_MS;
    for (let last = await read(); !ended; ) {
      await sleep(POLL_MS);
      const now = await read();
      if (now.every((bytes, i) => ((bytes - last[i]) * 8 * 1000) / POLL_MS > STARTED_BPS)) break;
      if (Date.now() > deadline) throw new Error(`not every ${proto} port of ${ports.join(', ')} saw traffic within ${START_WAIT_MS} ms`);
      last = now;
    }
    await sleep(SETTLE_MS);
    const before = await read();
    const t0 = performance.now();
    await sleep(WINDOW_MS);
    const after = await read();
    const seconds = (performance.now() - t0) / 1000;
    if (ended) await anyEnded; // its error says why a sender stopped early
    assert.ok(!ended, 'a sender ended before the window closed');
    return after.map((bytes, i) => ((bytes - before[i]) * 8) / seconds);
  } finally {
    for (const l of loads) l.stop();
  }
}

/** Saturates both classes at once and checks that A gets `shareA` of what they get together. */
async function assertSplit(t: TestContext, lab: Lab, shareA: number): Promise<void> {
  const [aBps, bBps] = await windowRates(lab, 'tcp', [PORT_A, PORT_B]);
  const total = aBps + bBps;
  t.diagnostic(`A ${mbit(aBps)} (${((aBps / total) * 100).toFixed(1)}%), B ${mbit(bBps)} (${((bBps / total) * 100).toFixed(1)}%), ` +
    `together ${mbit(total)} of ${mbit(LINK_BPS)}`);
  assertNear('both classes together got', total, LINK_BPS);
  for (const [name, bps, share] of [['A', aBps, shareA], ['B', bBps, 1 - shareA]] as const) {
    const got = bps / total;
    assert.ok(Math.abs(got - share) <= share * SHARE_TOLERANCE,
      `class ${name} got ${(got * 100).toFixed(1)}% (${mbit(bps)}), want ${(share * 100).toFixed(0)}% ± ${(share * SHARE_TOLERANCE * 100).toFixed(1)}`);
  }
}

/** Two classes, A on PORT_A and B on PORT_B, with the given fields each (indented YAML lines). */
function twoClasses(a: string, b: string): string {
  return `  a:\n${a}    match: rport == ${PORT_A}\n  b:\n${b}    match: rport == ${PORT_B}\n`;
}

it('two saturated classes split a 10 Mbit/s link by their rates, 7mbit and 3mbit', { timeout: 120_000 }, async (t) => {
  const classes = twoClasses('    rate: 7mbit\n    ceil: 10mbit\n', '    rate: 3mbit\n    ceil: 10mbit\n');
  await withSluice(t, 'split', classes, (lab) => assertSplit(t, lab, 0.7));
});

it('the spare bandwidth goes to the class with the higher priority; the other keeps its rate', { timeout: 120_000 }, async (t) => {
  const classes = twoClasses('    rate: 2mbit\n    ceil: 10mbit\n    prio: 0\n', '    rate: 2mbit\n    ceil: 10mbit\n    prio: 1\n');
  await withSluice(t, 'prio', classes, (lab) => assertSplit(t, lab, 0.8));
});

it('a class with ceil 2mbit alone on an idle 10 Mbit/s link gets 2 Mbit/s, not more', { timeout: 120_000 }, async (t) => {
  const classes = `  capped:\n    rate: 1mbit\n    ceil: 2mbit\n    match: rport == ${PORT_A}\n`;
  await withSluice(t, 'ceil', classes, async (lab) => {
    const [bps] = await windowRates(lab, 'udp', [PORT_A]);
    t.diagnostic(`capped class: ${mbit(bps)} of ${mbit(OFFERED_BPS)} offered`);
    assertNear('the capped class got', bps, CEIL_BPS);
  });
});
