/**
 * The lab's traffic generator, for tests, benchmarks and `sluice demo`: each call starts a server
 * agent in `to`, waits until it listens, runs the client agent in `from`, stops the server and joins
 * both results. The client's clock starts only once the server is ready and its own connection is up,
 * so neither process's startup (tsx compiles for about a second) shows in the figures; receivers bin
 * bytes from the first one that arrives.
 *
 * Calls compose: `Promise.all([tcpBulk(...), latencyProbe(...)])` on one lab works, because each call
 * without an explicit port gets its own (5300-5999, handed out in turn by this process) and its own
 * run tag. Every call is bounded in time and kills its agents when it fails; lab.destroy() kills any
 * that are left. Traffic goes only between the lab's hosts, to `to`'s address on the link toward
 * `from` when they are neighbours, else to `to`'s only address (routed by the lab).
 */
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lab } from '../topology.js';
import { startAgent, type AgentRun } from './run.js';
import type { AgentResult, RrProbeResult, UdpFloodResult } from './results.js';
import { summarizeRtts, type RttSummary } from './stats.js';

export { alignedBins, BIN_MS, goodputBps } from './bins.js';
export { agentArgv, agentCommand } from './command.js';
export { READY_TIMEOUT_MS, runAgent, startAgent, type AgentRun, type RoleResults } from './run.js';
export { percentile, summarizeRtts, type RttSummary } from './stats.js';
export type { Role, RoleInput } from './args.js';
export type * from './results.js';

/** Extra life a server gets beyond its client's duration: the client's own startup and wind-down. */
const SERVER_EXTRA_MS = 30_000;
const FIRST_PORT = 5300;
const LAST_PORT = 5999;
let nextFreePort = FIRST_PORT;

function takePort(): number {
  const port = nextFreePort;
  nextFreePort = port >= LAST_PORT ? FIRST_PORT : port + 1;
  return port;
}

function runTag(): number {
  return randomInt(1, 0xffff_ffff);
}

export interface Endpoints {
  /** The sending (or probing) host. */
  from: string;
  /** The receiving (or answering) host. */
  to: string;
  family?: 4 | 6;
  /** Default: a port of its own (see above). */
  port?: number;
}

/** `to`'s address as `from` should use it: on their shared link, or `to`'s only one. */
export function destinationAddress(lab: Lab, from: string, to: string, family: 4 | 6): string {
  const neighbours = lab.links.some((l) => (l.a.host === from && l.b.host === to) || (l.a.host === to && l.b.host === from));
  return neighbours ? lab.address(to, family, from) : lab.address(to, family);
}

/** Starts the server, runs the client once it is ready, then stops the server; kills both on failure. */
async function serveAndRun<S, C>(server: AgentRun<S>, client: () => AgentRun<C>, settleMs: number): Promise<{ server: S; client: C }> {
  let started: AgentRun<C> | null = null;
  try {
    await server.ready;
    started = client();
    const clientResult = await started.result;
    if (settleMs > 0) await sleep(settleMs);
    server.stop();
    return { server: await server.result, client: clientResult };
  } finally {
    server.kill();
    started?.kill();
  }
}

export interface TcpBulkOptions extends Endpoints {
  /** How long the sender writes, from the moment its streams are connected. */
  durationMs: number;
  /** Parallel TCP connections (default 1). */
  streams?: number;
  /** How long the final graceful close may take before the streams are reset (default 2000). */
  lingerMs?: number;
}

export interface TcpBulkResult {
  /** Receiver: payload bytes per 100 ms bin from the first byte; see goodputBps(). */
  binsBytes: number[];
  /** Receiver: when the first byte arrived, Unix time in ms (-1: none); see alignedBins(). */
  firstByteAtMs: number;
  /** Receiver: payload bytes received. */
  bytes: number;
  /** Sender: payload bytes the sockets accepted (equal to `bytes` when `flushed`). */
  sentBytes: number;
  /** The sender closed every stream gracefully, so everything it sent was received. */
  flushed: boolean;
  /** How long the sender wrote (ms). */
  senderDurationMs: number;
  /** Connections the receiver accepted. */
  connections: number;
  /** CPU time (µs) the sender and the receiver used: near durationMs × 1000, that side was the limit. */
  senderCpuUs: number;
  receiverCpuUs: number;
}

/** Bulk TCP from `from` to `to` for durationMs; goodput as the receiver saw it. */
export async function tcpBulk(lab: Lab, opts: TcpBulkOptions): Promise<TcpBulkResult> {
  const family = opts.family ?? 4;
  const port = opts.port ?? takePort();
  const lingerMs = opts.lingerMs ?? 2000;
  const host = destinationAddress(lab, opts.from, opts.to, family);
  const sink = startAgent(lab, opts.to, 'tcp-sink', { port, family, lifetimeMs: opts.durationMs + lingerMs + SERVER_EXTRA_MS });
  const bulk = { host, port, family, durationMs: opts.durationMs, streams: opts.streams ?? 1, lingerMs };
  const { server, client } = await serveAndRun(sink, () => startAgent(lab, opts.from, 'tcp-bulk', bulk), 0);
  return {
    binsBytes: server.binsBytes,
    firstByteAtMs: server.firstByteAtMs,
    bytes: server.bytes,
    sentBytes: client.sentBytes,
    flushed: client.flushed,
    senderDurationMs: client.durationMs,
    connections: server.connections,
    senderCpuUs: client.cpuUs,
    receiverCpuUs: server.cpuUs,
  };
}

export interface UdpRateOptions extends Endpoints {
  /** Payload bits per second. */
  rateBps: number;
  /** UDP payload per datagram (at least 8: the run tag and sequence number). */
  payloadBytes: number;
  durationMs: number;
  /** How long the receiver keeps counting after the sender is done, for datagrams still queued on the way (default 500). */
  settleMs?: number;
}

export interface UdpRateResult {
  /** Receiver: payload bytes per 100 ms bin from the first datagram. */
  binsBytes: number[];
  bytes: number;
  sent: number;
  /** Datagrams the rate called for (sent is lower only if the sender's socket stayed full). */
  wanted: number;
  /** Distinct datagrams received. */
  received: number;
  /** sent - received. */
  lost: number;
  reordered: number;
  duplicates: number;
  senderDurationMs: number;
  senderCpuUs: number;
  receiverCpuUs: number;
}

/** Constant-rate UDP from `from` to `to`: what arrived, what was lost, what came out of order. */
export async function udpRate(lab: Lab, opts: UdpRateOptions): Promise<UdpRateResult> {
  const family = opts.family ?? 4;
  const port = opts.port ?? takePort();
  const tag = runTag();
  const host = destinationAddress(lab, opts.from, opts.to, family);
  const settleMs = opts.settleMs ?? 500;
  const sink = startAgent(lab, opts.to, 'udp-sink', { port, family, tag, lifetimeMs: opts.durationMs + settleMs + SERVER_EXTRA_MS });
  const rate = { host, port, family, tag, rateBps: opts.rateBps, payloadBytes: opts.payloadBytes, durationMs: opts.durationMs };
  const { server, client } = await serveAndRun(sink, () => startAgent(lab, opts.from, 'udp-rate', rate), settleMs);
  return {
    binsBytes: server.binsBytes,
    bytes: server.bytes,
    sent: client.sent,
    wanted: client.wanted,
    received: server.received,
    lost: Math.max(0, client.sent - server.received),
    reordered: server.reordered,
    duplicates: server.duplicates,
    senderDurationMs: client.durationMs,
    senderCpuUs: client.cpuUs,
    receiverCpuUs: server.cpuUs,
  };
}

export interface LatencyOptions extends Endpoints {
  proto?: 'udp' | 'tcp';
  /** One probe every intervalMs. */
  intervalMs: number;
  durationMs: number;
  /** A probe unanswered for this long is lost (default 1000). */
  timeoutMs?: number;
}

export interface LatencyResult extends RttSummary {
  /** Round trip of each answered probe (µs), in sending order. */
  rttsUs: number[];
  sent: number;
  lost: number;
  errors: number;
}

/** Round trips of small requests from `from` to an echo server in `to`. */
export async function latencyProbe(lab: Lab, opts: LatencyOptions): Promise<LatencyResult> {
  const family = opts.family ?? 4;
  const port = opts.port ?? takePort();
  const proto = opts.proto ?? 'udp';
  const timeoutMs = opts.timeoutMs ?? 1000;
  const tag = runTag();
  const host = destinationAddress(lab, opts.from, opts.to, family);
  const server = startAgent(lab, opts.to, 'rr-server', { port, family, tag, proto, lifetimeMs: opts.durationMs + timeoutMs + SERVER_EXTRA_MS });
  const probe = { host, port, family, tag, proto, intervalMs: opts.intervalMs, durationMs: opts.durationMs, timeoutMs };
  const { client } = await serveAndRun(server, () => startAgent(lab, opts.from, 'rr-probe', probe), 0);
  return latencyResult(client);
}

/** The probe's result line with its percentiles worked out. */
export function latencyResult(probe: RrProbeResult): LatencyResult {
  const { sent, rttsUs, lost, errors } = probe;
  return { sent, rttsUs, lost, errors, ...summarizeRtts(rttsUs) };
}

export interface UdpFloodOptions {
  from: string;
  to: string;
  family?: 4 | 6;
  packetsPerSecond: number;
  durationMs: number;
  /** Default 64. */
  payloadBytes?: number;
  /** Source sockets to spread the packets over (default 16). */
  sockets?: number;
  /** Destination ports are random in [portLow, portHigh] (default 20000-60000, clear of the ports above). */
  portLow?: number;
  portHigh?: number;
}

/** Datagrams to random ports of `to`, nearly each a new 5-tuple; nothing needs to listen there. */
export function udpFlood(lab: Lab, opts: UdpFloodOptions): Promise<UdpFloodResult & AgentResult> {
  const { from, to, family = 4, ...rest } = opts;
  const agent = startAgent(lab, from, 'udp-flood', { host: destinationAddress(lab, from, to, family), family, ...rest });
  return agent.result.finally(() => agent.kill());
}
