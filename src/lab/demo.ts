/**
 * `sluice demo`'s lab run: three hosts (client — router — server), the router's uplink toward the
 * server a 20 mbit/s line with a 1000-packet FIFO (a modem, addBottleneck), and sluice on the router
 * with examples/lab-demo.yaml, shaping below the line (18 mbit/s) so the queue forms in sluice.
 * The client drives the same competing traffic three times:
 *   1. without sluice: a call (UDP request/response every 20 ms), 2 web uploads, 4 torrents;
 *   2. with sluice: the same;
 *   3. with sluice: the torrents alone (their class ceiling and per-connection caps).
 * What each class got is measured at the receiver (TCP goodput over the steady part of each phase)
 * and the call's round trips at the client; the caller prints them against what was promised.
 */
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { addBottleneck } from './bottleneck.js';
import { SluiceProcess } from './sluice.js';
import { Lab } from './topology.js';
import { alignedBins, goodputBps, latencyProbe, tcpBulk, type LatencyResult } from './traffic/index.js';

export const DEMO_CONFIG = fileURLToPath(new URL('../../examples/lab-demo.yaml', import.meta.url));
export const LINE_RATE_BPS = 20_000_000;
export const MODEM_BUFFER_PACKETS = 1000;
const CALL_PORT = 7001;
const WEB_PORT = 8080;
const WEB_STREAMS = 2;
const TORRENT_PORTS = [6881, 6882, 6883, 6884];
/** Goodput is read from this long after a phase starts (TCP's slow start, agents starting) to its end. */
const SETTLE_MS = 2500;
/** The call starts once the bulk flows have filled the line. */
const CALL_DELAY_MS = 1500;

export interface DemoPhase {
  title: string;
  withSluice: boolean;
  durationMs: number;
  /** TCP goodput, bits/s, by class (absent: the class had no traffic in this phase). */
  goodputBps: { web?: number; torrent?: number };
  /** Each torrent connection's goodput, bits/s. */
  torrentFlowsBps: number[];
  call: LatencyResult | null;
}

export interface DemoResult {
  /** Round trips of the call on the idle line, for reference. */
  idle: LatencyResult;
  phases: DemoPhase[];
  /** What sluice printed (its start line and its -v summaries). */
  sluiceLog: string;
}

export interface DemoOptions {
  /** Length of the two mixed phases and of the torrents-alone phase, ms. */
  mixedMs?: number;
  aloneMs?: number;
  /** Called with a line of progress as the demo goes. */
  progress?(line: string): void;
}

async function phase(lab: Lab, title: string, withSluice: boolean, durationMs: number, call: boolean, web: boolean): Promise<DemoPhase> {
  const window = (r: { binsBytes: readonly number[] }): number => goodputBps(r, SETTLE_MS, durationMs - 500);
  const bulk = (port: number, streams: number) => tcpBulk(lab, { from: 'client', to: 'server', port, streams, durationMs });
  const webRun = web ? bulk(WEB_PORT, WEB_STREAMS) : null;
  const torrents = TORRENT_PORTS.map((p) => bulk(p, 1));
  const callRun = call
    ? sleep(CALL_DELAY_MS).then(() =>
      latencyProbe(lab, { from: 'client', to: 'server', port: CALL_PORT, proto: 'udp', intervalMs: 20, durationMs: durationMs - CALL_DELAY_MS - 500 }))
    : null;
  const [webResult, torrentResults, callResult] = await Promise.all([webRun, Promise.all(torrents), callRun]);
  const torrentFlowsBps = torrentResults.map(window);
  return {
    title,
    withSluice,
    durationMs,
    goodputBps: {
      ...(webResult === null ? {} : { web: window(webResult) }),
      // The torrents' agents start at slightly different times: their sum is read on one timeline.
      torrent: window(alignedBins(torrentResults)),
    },
    torrentFlowsBps,
    call: callResult,
  };
}

/** Builds the lab, runs the three phases, removes everything (also on failure). Needs root. */
export async function runLabDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const mixedMs = opts.mixedMs ?? 10_000;
  const aloneMs = opts.aloneMs ?? 8_000;
  const say = opts.progress ?? (() => undefined);
  const lab = await Lab.line({ name: 'demo' });
  let sluice: SluiceProcess | null = null;
  try {
    const uplink = lab.end('router', 'server').dev;
    await addBottleneck(lab, 'router', uplink, { rateBps: LINE_RATE_BPS, bufferPackets: MODEM_BUFFER_PACKETS });
    const idle = await latencyProbe(lab, { from: 'client', to: 'server', port: CALL_PORT, proto: 'udp', intervalMs: 20, durationMs: 1000 });
    say(`1/3 without sluice: a call, ${WEB_STREAMS} web uploads and ${TORRENT_PORTS.length} torrents share the 20 mbit/s uplink (${mixedMs / 1000} s)`);
    const without = await phase(lab, 'without sluice', false, mixedMs, true, true);
    sluice = await SluiceProcess.start(lab, 'router', DEMO_CONFIG, ['-v']);
    say(`2/3 with sluice: the same traffic (${mixedMs / 1000} s)`);
    const withSluice = await phase(lab, 'with sluice', true, mixedMs, true, true);
    say(`3/3 with sluice: the torrents alone (${aloneMs / 1000} s)`);
    const alone = await phase(lab, 'torrents alone', true, aloneMs, false, false);
    const code = await sluice.stop('SIGTERM');
    if (code !== 0) throw new Error(`sluice exited with ${code}:\n${sluice.output}`);
    return { idle, phases: [without, withSluice, alone], sluiceLog: sluice.output };
  } finally {
    if (sluice !== null) await sluice.stop('SIGKILL').catch(() => undefined);
    await lab.destroy();
  }
}
