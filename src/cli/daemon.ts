/**
 * The commands that talk to a running daemon over its control socket (control/api): `status`
 * (the class tree with what each class does now, and the queue's health), `reload` and `stop`.
 * Each is one API call; a daemon that is not running is one line and exit 2.
 */
import { callDaemon, ControlCallError } from '../control/api/client.js';
import type { ReloadReply, StatusReply } from '../control/api/protocol.js';
import { table } from '../control/text-table.js';
import { formatDuration, formatRate, formatSize } from '../control/units.js';
import { positiveRate } from '../control/schema.js';
import type { ClassCounters } from '../engine/snapshot.js';
import type { Io } from './io.js';
import { passedByKernel } from './summary.js';

/** Exit status when the daemon cannot be reached (an environment error). */
const NOT_RUNNING = 2;

/** One API call; when the daemon cannot be reached, or refuses, its one line is printed and null returned. */
export async function call<T>(socket: string, method: 'GET' | 'POST', path: string, io: Io): Promise<T | null> {
  try {
    return await callDaemon<T>(socket, method, path);
  } catch (err) {
    if (!(err instanceof ControlCallError)) throw err;
    io.err(`${err.message}\n`);
    return null;
  }
}

function drops(c: ClassCounters): string {
  const parts = Object.entries(c.drops).filter(([, n]) => n > 0).map(([reason, n]) => `${n} ${reason}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

/** 1h2m3s, 4m0s, 12s. */
function uptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  if (h > 0) return `${h}h${m}m${s % 60}s`;
  return m > 0 ? `${m}m${s % 60}s` : `${s}s`;
}

function share(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}

/** `sluice status` as lines: who is running, the queue's health, then per link direction the class tree. */
export function formatStatus(s: StatusReply, nowMs: number): string[] {
  const lines = [`sluice ${s.version}, pid ${s.pid}, ${s.configFile}, shaping for ${uptime(nowMs - s.startedAtMs)}`];
  const windows = s.schedule ?? [];
  if (windows.length > 0) lines.push(`schedule windows in force: ${windows.map((e) => `${e.classPath} ${e.label}`).join(', ')}`);
  const snap = s.snapshot;
  if (snap === null) return [...lines, 'no counters yet (the first come a second after start)'];
  const dp = snap.datapath;
  const kernel = (typeof dp.kernel === 'object' ? dp.kernel : {}) as Record<string, number>;
  const passed = passedByKernel(snap);
  lines.push(
    `queue: ${dp.received ?? 0} packets received, ${dp.held ?? 0} held, ${snap.engine.flows} flows; kernel: ` +
      `${kernel.queueDropped ?? 0} queue drops, ${kernel.userDropped ?? 0} user drops, ` +
      `${passed ?? '?'} ${dp.failOpen === 0 ? 'dropped' : 'passed unshaped'} (queue or socket full) since start`,
  );
  const groups = new Map<string, ClassCounters[]>();
  for (const c of snap.classes) {
    const key = `${c.link} ${c.direction}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  for (const [key, classes] of groups) {
    lines.push('', key);
    const rows = [['  class', 'rate', 'ceil', 'now', 'of ceil', 'backlog', 'drops', 'borrowed', 'delay p50', 'p99', 'flows']];
    for (const c of classes) {
      const depth = c.path.split('/').length - 1;
      rows.push([
        `  ${'  '.repeat(depth)}${c.path.split('/').pop()}`,
        formatRate(c.rateBps),
        formatRate(c.ceilBps),
        formatRate(Math.round(c.currentBps)),
        share(c.currentBps, c.ceilBps),
        `${c.backlogPackets} pkt`,
        drops(c),
        formatSize(c.borrowedBytes),
        formatDuration(c.sojournP50Us),
        formatDuration(c.sojournP99Us),
        String(c.activeSubqueues),
      ]);
    }
    lines.push(...table(rows, [false, true, true, true, true, true, false, true, true, true, true]));
  }
  return lines;
}

export async function statusCommand(socket: string, json: boolean, io: Io): Promise<number> {
  const reply = await call<StatusReply>(socket, 'GET', '/v1/status', io);
  if (reply === null) return NOT_RUNNING;
  if (json) io.out(`${JSON.stringify(reply, null, 2)}\n`);
  else for (const line of formatStatus(reply, Date.now())) io.out(`${line}\n`);
  return 0;
}

export async function reloadCommand(socket: string, io: Io): Promise<number> {
  const reply = await call<ReloadReply>(socket, 'POST', '/v1/reload', io);
  if (reply === null) return NOT_RUNNING;
  if (reply.reloaded) {
    io.out('sluice: reloaded\n');
    return 0;
  }
  io.err(`sluice: reload refused, still running the previous configuration:\n${reply.lines.map((l) => `${l}\n`).join('')}`);
  return 1;
}

/** `sluice set link NAME egress|ingress RATE`: a link's rate at run time (LTE, DOCSIS, a script that measures it). */
export async function setLinkCommand(socket: string, link: string, direction: string, rateText: string, io: Io): Promise<number> {
  if (direction !== 'egress' && direction !== 'ingress') {
    io.err(`sluice: set link: '${direction}' is not a direction; write egress or ingress\n`);
    return NOT_RUNNING;
  }
  let rateBps: number;
  try {
    rateBps = positiveRate(rateText);
  } catch (err) {
    io.err(`sluice: set link: ${(err as Error).message}\n`);
    return NOT_RUNNING;
  }
  const query = new URLSearchParams({ link, direction, rateBps: String(rateBps) });
  const reply = await call<ReloadReply>(socket, 'POST', `/v1/link?${query}`, io);
  if (reply === null) return NOT_RUNNING;
  if (reply.reloaded) {
    io.out(`sluice: ${link} ${direction} is now ${formatRate(rateBps)}\n`);
    return 0;
  }
  io.err(`sluice: set link refused, the rate stays:\n${reply.lines.map((l) => `${l}\n`).join('')}`);
  return 1;
}

export async function stopCommand(socket: string, io: Io): Promise<number> {
  const reply = await call<{ stopping: boolean }>(socket, 'POST', '/v1/stop', io);
  if (reply === null) return NOT_RUNNING;
  io.out('sluice: stopping (rules removed first, then every held packet released)\n');
  return 0;
}
