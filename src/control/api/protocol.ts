/**
 * The control API's routes and replies: HTTP with JSON over the daemon's Unix socket. The CLI's
 * views are one call each, and the dashboard reads the same. Versioned under /v1.
 *
 *   GET  /v1/status   StatusReply: the configuration running, since when, and the latest counters
 *   GET  /v1/flows    FlowsReply: every live flow, with its class, owner, country, application and rates
 *   GET  /v1/flows/ID/explain   ExplainFlowReply: why live flow ID is in its class, under the running
 *                     configuration (404 when no live flow has that id)
 *   POST /v1/reload   ReloadReply: the file read again and swapped in, or why not (the old one stays)
 *   POST /v1/link?link=NAME&direction=egress|ingress&rateBps=N   ReloadReply: a link's rate changed
 *   POST /v1/stop     {stopping: true}: an orderly stop begins (the reply comes first)
 * Errors are {error: "one line"} with a 4xx/5xx status.
 */
import type { ActiveEntry } from '../schedule.js';
import type { FlowExplanation } from '../../engine/explain-flow.js';
import type { CounterSnapshot, FlowRow } from '../../engine/snapshot.js';

/** Where `sluice run` listens and the other commands connect, unless --socket or SLUICE_SOCKET says otherwise. */
export const DEFAULT_SOCKET = '/run/sluice/sluice.sock';

export function socketPath(option: string | undefined): string {
  return option ?? process.env.SLUICE_SOCKET ?? DEFAULT_SOCKET;
}

export interface StatusReply {
  version: string;
  pid: number;
  configFile: string;
  /** When the daemon started, ms since the epoch. */
  startedAtMs: number;
  /** The queue is bound and the firewall sends it packets (false while starting up and stopping). */
  shaping: boolean;
  /** The latest counters from the shaping worker (null in the first second). */
  snapshot: CounterSnapshot | null;
  /** The classes' schedule entries in force now (their figures are in the snapshot's classes); absent from a daemon older than schedules. */
  schedule?: ActiveEntry[];
}

export interface FlowsReply {
  flows: FlowRow[];
}

/** The flow, its facts, and per link direction the class the engine recorded beside the explainer's walk. */
export type ExplainFlowReply = FlowExplanation;

export type ReloadReply = { reloaded: true } | { reloaded: false; lines: string[] };

export interface ErrorReply {
  error: string;
}
