/**
 * `sluice flows [RULE]` (alias `netstat`): the daemon's live flows, one line each — the connection,
 * its class each way, owner, country, application, current rate each way, bytes, age and the id
 * `sluice explain --flow ID` takes (last, so that each line still begins with its connection) — filtered
 * with the rule language and sorted by rate or bytes. One API call (GET /v1/flows).
 *
 * The filter is a rule like a class's `match:`, evaluated on each flow as on the first packet the
 * side that opened it sent: `laddr`/`lport` are the opener's, `raddr`/`rport` the other side's.
 * Flow attributes and facts apply (`user == "fred" and l7 == "tls"`, `flow.bytes > 10MB`); packet
 * ones (`tcp.syn`, `length`) are refused, since a listing has no packet.
 */
import { compileRule, type CompiledRule } from '../classify/compile.js';
import { MatchContext } from '../classify/context.js';
import { FLOW_COUNTER_ATTRIBUTES, defaultAttributes } from '../classify/attributes.js';
import { l7Code } from '../classify/flow-facts.js';
import { RuleError } from '../classify/errors.js';
import type { FlowsReply } from '../control/api/protocol.js';
import { table } from '../control/text-table.js';
import { formatDuration, formatRate, formatSize } from '../control/units.js';
import { Direction } from '../datapath/types.js';
import type { FlowRow } from '../engine/snapshot.js';
import type { FlowDescription } from '../flow/describe.js';
import { buildPacket } from '../packet/build.js';
import { parsePacket } from '../packet/parse.js';
import { Proto } from '../packet/types.js';
import { call } from './daemon.js';
import type { Io } from './io.js';

export type FlowSort = 'rate' | 'bytes';

/** Per-packet addresses and ports, and the flow attributes a listing answers them with (the opener's side local). */
const SIDE_AWARE: Record<string, string> = { src: 'laddr', dst: 'raddr', sport: 'lport', dport: 'rport' };

/** The filter compiled, or the reason it cannot be one (a rule error, or a per-packet attribute). */
export function compileFilter(source: string): CompiledRule {
  const rule = compileRule(source, { label: 'filter' });
  const perPacket = [...rule.attributes].filter((a) => defaultAttributes.get(a)?.scope === 'packet' && !FLOW_COUNTER_ATTRIBUTES.has(a));
  if (perPacket.length > 0) {
    const hints = perPacket.filter((a) => a in SIDE_AWARE).map((a) => `${SIDE_AWARE[a]} for ${a}`);
    const hint = hints.length > 0 ? ` — write ${hints.join(', ')} (local: the side that opened the flow)` : '';
    throw new Error(`filter: ${perPacket.join(', ')} ${perPacket.length === 1 ? 'is a packet attribute' : 'are packet attributes'}: a listing of flows has no packet${hint}`);
  }
  return rule;
}

/** Whether `rule` holds for the flow in `row` (see the header for which side is local). */
export function flowMatches(rule: CompiledRule, row: FlowRow): boolean {
  const ported = row.proto === Proto.TCP || row.proto === Proto.UDP;
  const buf = buildPacket({
    ipVersion: row.ipVersion === 6 ? 6 : 4, proto: row.proto, src: row.initiator, dst: row.responder,
    sport: ported ? row.initiatorPort : undefined, dport: ported ? row.responderPort : undefined,
  });
  const ctx = new MatchContext();
  if (!parsePacket(buf, 0, buf.length, ctx.pkt)) return false;
  ctx.direction = Direction.EGRESS;
  ctx.owner = row.owner;
  ctx.cc = row.cc;
  ctx.country = row.country;
  ctx.l7Code = l7Code(row.l7 === '' ? 'pending' : row.l7);
  ctx.l7Host = row.host;
  ctx.flowBytes = row.origBytes + row.replyBytes;
  ctx.flowPackets = row.origPackets + row.replyPackets;
  ctx.flowAgeUs = row.ageUs;
  ctx.flowRateBps = row.ageUs > 0 ? (ctx.flowBytes * 8e6) / row.ageUs : 0;
  return rule.test(ctx);
}

const PROTO_NAMES: Record<number, string> = { [Proto.TCP]: 'tcp', [Proto.UDP]: 'udp', [Proto.ICMP]: 'icmp', [Proto.ICMPV6]: 'icmpv6' };

/** What names a connection: its protocol and both ends, the opener's first. */
type Connection = Pick<FlowDescription, 'proto' | 'ipVersion' | 'initiator' | 'initiatorPort' | 'responder' | 'responderPort'>;

function endpoint(addr: string, port: number, flow: Connection): string {
  if (flow.proto !== Proto.TCP && flow.proto !== Proto.UDP) return addr;
  return flow.ipVersion === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** `tcp 192.168.1.10:51000 > 203.0.113.5:443`: the opener first. */
export function connectionText(f: Connection): string {
  return `${PROTO_NAMES[f.proto] ?? f.proto} ${endpoint(f.initiator, f.initiatorPort, f)} > ${endpoint(f.responder, f.responderPort, f)}`;
}

/** The listing as lines: a header and one row per flow. */
export function formatFlows(rows: readonly FlowRow[]): string[] {
  const lines = [['flow', 'class', 'user', 'cmd', 'cc', 'l7', 'rate out', 'rate in', 'bytes', 'age', 'id']];
  for (const r of rows) {
    const classes = [r.egressClass, r.ingressClass].filter((c) => c !== null);
    lines.push([
      connectionText(r),
      [...new Set(classes)].join(' / ') || '-',
      r.owner.found ? r.owner.user : '-',
      r.owner.known ? r.owner.cmd : '-',
      r.cc || '-',
      r.l7 === '' ? '-' : r.host === '' ? r.l7 : `${r.l7} ${r.host}`,
      formatRate(Math.round(r.origRateBps)),
      formatRate(Math.round(r.replyRateBps)),
      formatSize(r.origBytes + r.replyBytes),
      formatDuration(r.ageUs),
      String(r.id),
    ]);
  }
  return table(lines, [false, false, false, false, false, false, true, true, true, true, true]);
}

export async function flowsCommand(socket: string, filter: string | undefined, sort: FlowSort, json: boolean, io: Io): Promise<number> {
  let rule: CompiledRule | null = null;
  if (filter !== undefined) {
    try {
      rule = compileFilter(filter);
    } catch (err) {
      io.err(`sluice: ${err instanceof RuleError ? err.message : (err as Error).message}\n`);
      return 1;
    }
  }
  const reply = await call<FlowsReply>(socket, 'GET', '/v1/flows', io);
  if (reply === null) return 2;
  const rows = reply.flows.filter((r) => rule === null || flowMatches(rule, r));
  const key = (r: FlowRow): number => (sort === 'bytes' ? r.origBytes + r.replyBytes : r.origRateBps + r.replyRateBps);
  rows.sort((a, b) => key(b) - key(a));
  if (json) io.out(`${JSON.stringify(rows, null, 2)}\n`);
  else for (const line of formatFlows(rows)) io.out(`${line}\n`);
  return 0;
}
