/**
 * `sluice explain -c FILE FLOW...`: which class a described packet lands in, and why.
 *
 *   sluice explain -c home.yaml tcp 192.168.1.10:51000 -> 1.2.3.4:443 syn
 *   sluice explain -c home.yaml ingress link wan udp [2001:db8::1]:53 -> [2001:db8::2]:40000 length=120 dscp=ef
 *
 * The description: a protocol (tcp, udp, icmp, icmpv6 or a number), `SRC[:PORT] -> DST[:PORT]`
 * (IPv6 in brackets when a port follows), and optionally `egress` or `ingress`, `link NAME`, TCP flags
 * (`syn`, `ack`, `fin`, `rst`, `psh`, `urg`, `ece`, `cwr`; a TCP packet with none is a bare ACK) and
 * `NAME=VALUE` for length (IP bytes), payload (bytes), dscp, ecn, ttl, icmp.type, icmp.code,
 * flow.bytes, flow.packets, flow.age, flow.rate, mark, iif and oif (by default the link's interface
 * on its side and none on the other: this host's own traffic), and for the flow's facts: the owner (user, uid,
 * group, gid, pid, cmd, exe, args, cgroup, unit; with none given the flow has no local process, as
 * forwarded traffic), the application (l7, l7.host or host, flow.entropy; absent: pending) and the
 * country (cc, country; absent: looked up in the configuration's database when a rule reads it).
 * The packet is built (packet/build.ts) and parsed (packet/parse.ts) into the MatchContext the
 * engine would fill, so every rule reads real headers.
 *
 * Without `egress`/`ingress` the description is a flow opened from SRC: each shaped link explains
 * the packet as written on egress and the reply (addresses and ports swapped) on ingress. With one,
 * only that direction, the packet as written. A mistake in the description is one line, exit 1.
 *
 * `sluice explain --flow ID` explains a live flow of the running daemon instead (one API call,
 * GET /v1/flows/ID/explain; engine/explain-flow.ts): its facts as the engine knows them, against the
 * configuration the daemon runs (not the file, which may have changed since), printed the same way,
 * with the class the engine recorded for it and whether that differs. An id no live flow has is one
 * line, exit 1; no daemon, one line, exit 2.
 */
import { defaultAttributes, editDistance } from '../classify/attributes.js';
import { L7_PENDING_CODE, MatchContext, NO_OWNER, type OwnerFacts } from '../classify/context.js';
import { l7Code, L7_NAMES } from '../classify/flow-facts.js';
import { CountryResult, type CountryDb } from '../classify/geo/country-db.js';
import { compileRule } from '../classify/compile.js';
import { factsRead } from '../classify/facts-read.js';
import { openGeoipFile } from '../host/geoip-file.js';
import type { ResolvedLink } from '../control/resolve.js';
import { formatRulePart, type Explanation, type WalkStep } from '../classify/explain.js';
import { callDaemon, ControlCallError } from '../control/api/client.js';
import type { ExplainFlowReply } from '../control/api/protocol.js';
import { DIRECTION_NAMES, type DirectionName } from '../control/resolve.js';
import { formatDuration, formatSize } from '../control/units.js';
import { explainDirection, type ExplainedDirection } from '../engine/explain-flow.js';
import { parseDuration, parseRate, parseSize } from '../control/units.js';
import { Direction } from '../datapath/types.js';
import { parseAddress } from '../packet/addr.js';
import { buildPacket, packetLength, type PacketSpec } from '../packet/build.js';
import { parsePacket } from '../packet/parse.js';
import { PacketInfo, Proto, TcpFlag, UNPARSABLE_REASONS } from '../packet/types.js';
import { connectionText } from './flows.js';
import { CliFailure, type Io } from './io.js';
import { loadConfigOrFail } from './load.js';

/** A described packet: what to build, where, and the flow figures to assume. */
export interface FlowDescription {
  /** null: egress as written and the reply on ingress. */
  direction: DirectionName | null;
  link: string | null;
  spec: PacketSpec & { sport: number; dport: number };
  flowBytes: number;
  flowPackets: number;
  flowAgeUs: number;
  flowRateBps: number;
  owner: OwnerFacts;
  l7Code: number;
  l7Host: string;
  entropyBits: number;
  /** Given as cc= / country=, or null to look the remote address up. */
  cc: string | null;
  country: string | null;
  /** Given as iif= / oif=, or null: the link's interface on its side, none on the other. */
  iif: string | null;
  oif: string | null;
  mark: number;
}

const PROTOS: ReadonlyMap<string, number> = new Map([['tcp', Proto.TCP], ['udp', Proto.UDP], ['icmp', Proto.ICMP], ['icmpv6', Proto.ICMPV6]]);
const FLAGS: ReadonlyMap<string, number> = new Map([
  ['fin', TcpFlag.FIN], ['syn', TcpFlag.SYN], ['rst', TcpFlag.RST], ['psh', TcpFlag.PSH],
  ['ack', TcpFlag.ACK], ['urg', TcpFlag.URG], ['ece', TcpFlag.ECE], ['cwr', TcpFlag.CWR],
]);
const OWNER_TEXT = ['user', 'group', 'cmd', 'exe', 'args', 'cgroup', 'unit'] as const;
const OWNER_IDS = ['uid', 'gid', 'pid'] as const;
const SETTABLE = [
  'length', 'payload', 'dscp', 'ecn', 'ttl', 'icmp.type', 'icmp.code', 'flow.bytes', 'flow.packets', 'flow.age', 'flow.rate',
  ...OWNER_TEXT, ...OWNER_IDS, 'l7', 'l7.host', 'host', 'flow.entropy', 'cc', 'country', 'iif', 'oif', 'mark',
];

function fail(message: string): never {
  throw new CliFailure([`flow description: ${message}`]);
}

/** Reads a flow description from the command's words; throws CliFailure (one line) on a mistake. */
export function parseFlowDescription(words: readonly string[]): FlowDescription {
  const tokens = words.join(' ').replace(/->/g, ' -> ').split(/\s+/).filter((t) => t !== '');
  let direction: DirectionName | null = null;
  let link: string | null = null;
  let proto: number | null = null;
  const ends: string[] = [];
  let arrow = false;
  let flags: number | null = null;
  const values = new Map<string, string>();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const lower = t.toLowerCase();
    if ((DIRECTION_NAMES as readonly string[]).includes(lower)) {
      if (direction !== null) fail(`'${t}': the direction is given twice`);
      direction = lower as DirectionName;
    } else if (lower === 'link') {
      if (i + 1 >= tokens.length) fail("'link' needs a link name after it");
      link = tokens[++i];
    } else if (proto === null && ends.length === 0) {
      proto = parseProto(t);
    } else if (t === '->') {
      if (ends.length !== 1 || arrow) fail("'->' goes between the source and the destination, once");
      arrow = true;
    } else if (ends.length < 2 && (ends.length === 0 || arrow)) {
      ends.push(t);
    } else if (ends.length === 1 && !arrow && !t.includes('=') && !FLAGS.has(lower.replace(/^tcp\./, ''))) {
      fail(`expected '->' between ${ends[0]} and ${t}`);
    } else if (t.includes('=')) {
      const [name, value] = [t.slice(0, t.indexOf('=')).toLowerCase(), t.slice(t.indexOf('=') + 1)];
      if (!SETTABLE.includes(name)) fail(unsupported(name));
      if (value === '') fail(`'${t}' has no value`);
      values.set(name, value);
    } else if (FLAGS.has(lower.replace(/^tcp\./, ''))) {
      flags = (flags ?? 0) | (FLAGS.get(lower.replace(/^tcp\./, '')) as number);
    } else {
      fail(`unexpected '${t}' (expected a TCP flag such as syn, or NAME=VALUE such as length=60)`);
    }
  }
  if (proto === null) fail('empty; write e.g. tcp 192.168.1.10:51000 -> 1.2.3.4:443');
  if (ends.length === 0) fail('no source address; write e.g. tcp 192.168.1.10:51000 -> 1.2.3.4:443');
  if (!arrow || ends.length < 2) fail(`expected '-> DESTINATION' after ${ends[0]}`);
  const src = endpoint(ends[0]);
  const dst = endpoint(ends[1]);
  if (src.ipVersion !== dst.ipVersion) {
    const v6 = src.ipVersion === 6 ? ends[0] : ends[1];
    const hint = v6.startsWith('[') ? '' : ' (an IPv6 address with a port is written [2001:db8::1]:443)';
    fail(`${src.text} is IPv${src.ipVersion} but ${dst.text} is IPv${dst.ipVersion}${hint}`);
  }
  if (proto === Proto.ICMP && src.ipVersion === 6) fail('icmp over IPv6 is written icmpv6');
  if (proto === Proto.ICMPV6 && src.ipVersion === 4) fail('icmpv6 needs IPv6 addresses; over IPv4 write icmp');
  const ported = proto === Proto.TCP || proto === Proto.UDP;
  if (!ported && (src.port !== null || dst.port !== null)) fail(`${protoName(proto)} has no ports`);
  if (flags !== null && proto !== Proto.TCP) fail(`TCP flags need tcp, not ${protoName(proto)}`);

  const spec: FlowDescription['spec'] = {
    ipVersion: src.ipVersion, src: src.text, dst: dst.text, proto, sport: src.port ?? 0, dport: dst.port ?? 0,
  };
  if (proto === Proto.TCP) spec.tcpFlags = flags ?? TcpFlag.ACK;
  const int = (name: string, max: number): number | undefined => {
    const text = values.get(name);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || Number(text) > max) fail(`${name}=${text}: expected a whole number 0..${max}`);
    return Number(text);
  };
  spec.dscp = named('dscp', values.get('dscp'));
  spec.ecn = named('ecn', values.get('ecn'));
  spec.ttl = int('ttl', 255);
  for (const [name, key] of [['icmp.type', 'icmpType'], ['icmp.code', 'icmpCode']] as const) {
    const v = int(name, 255);
    if (v === undefined) continue;
    if (proto !== Proto.ICMP && proto !== Proto.ICMPV6) fail(`${name} needs icmp or icmpv6`);
    spec[key] = v;
  }
  const payload = int('payload', 0xffff);
  const length = int('length', 0xffff);
  if (payload !== undefined && length !== undefined) fail('give length= or payload=, not both');
  if (length !== undefined) {
    const headerBytes = packetLength({ ...spec, payloadBytes: 0 });
    if (length < headerBytes) fail(`length=${length} is shorter than the ${headerBytes} bytes of headers`);
    spec.payloadBytes = length - headerBytes;
  } else if (payload !== undefined) spec.payloadBytes = payload;
  if (packetLength(spec) > 0xffff) fail(`the packet would be ${packetLength(spec)} bytes, over 65535`);

  const unit = <T>(name: string, parse: (text: string) => T): T | undefined => {
    const text = values.get(name);
    if (text === undefined) return undefined;
    try {
      return parse(text);
    } catch (err) {
      fail(`${name}=${text}: ${(err as Error).message}`);
    }
  };
  const l7 = values.get('l7')?.toLowerCase();
  if (l7 !== undefined && !L7_NAMES.includes(l7)) fail(`l7=${l7}: expected one of ${L7_NAMES.join(', ')}`);
  const entropy = values.get('flow.entropy');
  if (entropy !== undefined && !(/^\d+(\.\d+)?$/.test(entropy) && Number(entropy) <= 8)) fail(`flow.entropy=${entropy}: expected bits per byte, 0..8`);
  const cc = values.get('cc')?.toUpperCase() ?? null;
  if (cc !== null && !/^([A-Z]{2}|--|\?\?)$/.test(cc)) fail(`cc=${cc}: expected a two-letter country code such as SK, or -- (private or local)`);
  return {
    direction,
    link,
    spec,
    flowBytes: unit('flow.bytes', parseSize) ?? 0,
    flowPackets: int('flow.packets', Number.MAX_SAFE_INTEGER) ?? 0,
    flowAgeUs: unit('flow.age', parseDuration) ?? 0,
    flowRateBps: unit('flow.rate', parseRate) ?? 0,
    iif: values.get('iif') ?? null,
    oif: values.get('oif') ?? null,
    mark: markOf(values.get('mark')),
    owner: ownerOf(values, int),
    l7Code: l7Code(l7 ?? 'pending'),
    l7Host: (values.get('l7.host') ?? values.get('host') ?? '').toLowerCase(),
    entropyBits: entropy === undefined ? -1 : Number(entropy),
    cc,
    country: values.get('country') ?? (cc === null ? null : countryName(cc)),
  };
}

function markOf(text: string | undefined): number {
  if (text === undefined) return 0;
  const value = /^(0x[0-9a-f]+|\d+)$/i.test(text) ? Number(text) : NaN;
  if (!(value <= 0xffffffff)) fail(`mark=${text}: expected a number 0..0xffffffff (decimal or 0x hex)`);
  return value;
}

/** The owner a description gives: none (no local process) unless some owner attribute is set. */
function ownerOf(values: ReadonlyMap<string, string>, int: (name: string, max: number) => number | undefined): OwnerFacts {
  if (![...OWNER_TEXT, ...OWNER_IDS].some((n) => values.has(n))) return NO_OWNER;
  const text = (n: string): string => values.get(n) ?? 'unknown';
  return {
    found: true,
    known: values.has('pid') || values.has('cmd') || values.has('exe'),
    uid: int('uid', 0xffffffff) ?? -1,
    gid: int('gid', 0xffffffff) ?? -1,
    pid: int('pid', 0x7fffffff) ?? -1,
    user: text('user'),
    group: text('group'),
    cmd: text('cmd'),
    exe: text('exe'),
    args: text('args'),
    cgroup: text('cgroup'),
    unit: text('unit'),
  };
}

function countryName(cc: string): string {
  if (cc === '--') return 'private/local';
  if (cc === '??') return 'unknown';
  return new Intl.DisplayNames(['en'], { type: 'region' }).of(cc) ?? cc;
}

function unsupported(name: string): string {
  if (defaultAttributes.get(name) !== undefined) return `attribute '${name}' cannot be given in a flow description yet`;
  const near = SETTABLE.find((s) => editDistance(s, name) <= 2);
  return `attribute '${name}' is not supported yet${near ? ` (did you mean '${near}'?)` : ''}`;
}

function parseProto(t: string): number {
  const known = PROTOS.get(t.toLowerCase());
  if (known !== undefined) return known;
  if (/^\d+$/.test(t) && Number(t) <= 255) return Number(t);
  fail(`'${t}' is not a protocol; expected tcp, udp, icmp, icmpv6 or a number 0..255`);
}

function protoName(proto: number): string {
  for (const [name, n] of PROTOS) if (n === proto) return name;
  return `protocol ${proto}`;
}

/** A DSCP or ECN value: a number or one of the rule language's names for it (attributes.ts). */
function named(name: 'dscp' | 'ecn', text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const attr = defaultAttributes.get(name);
  const names = attr?.type === 'enum' ? attr.values : new Map<string, number>();
  const max = name === 'dscp' ? 63 : 3;
  const value = /^\d+$/.test(text) ? Number(text) : names.get(text.toLowerCase());
  if (value === undefined || value > max) fail(`${name}=${text}: expected 0..${max} or one of ${[...names.keys()].join(', ')}`);
  return value;
}

function endpoint(text: string): { text: string; port: number | null; ipVersion: 4 | 6 } {
  let addr = text;
  let port: string | null = null;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) [addr, port] = [bracketed[1], bracketed[2] ?? null];
  else if (parseAddress(text) === null) {
    const m = /^(.*):(\d+)$/.exec(text);
    if (m) [addr, port] = [m[1], m[2]];
  }
  const bytes = parseAddress(addr);
  if (bytes === null) fail(`'${text}' is not an address (write 192.0.2.1:80 or [2001:db8::1]:80)`);
  if (port !== null && Number(port) > 0xffff) fail(`port ${port} is over 65535`);
  return { text: addr, port: port === null ? null : Number(port), ipVersion: bytes.length === 4 ? 4 : 6 };
}

/** The MatchContext the engine would fill for this packet on this direction. */
export function contextFor(d: FlowDescription, spec: PacketSpec, direction: DirectionName): MatchContext {
  const buf = buildPacket(spec);
  const ctx = new MatchContext(new PacketInfo());
  if (!parsePacket(buf, 0, buf.length, ctx.pkt)) fail(`the packet does not parse: ${UNPARSABLE_REASONS[ctx.pkt.error]}`);
  ctx.direction = direction === 'egress' ? Direction.EGRESS : Direction.INGRESS;
  ctx.flowBytes = d.flowBytes;
  ctx.flowPackets = d.flowPackets;
  ctx.flowAgeUs = d.flowAgeUs;
  ctx.flowRateBps = d.flowRateBps;
  ctx.owner = d.owner;
  ctx.mark = d.mark;
  ctx.l7Code = d.l7Code;
  ctx.l7Host = d.l7Code === L7_PENDING_CODE ? '' : d.l7Host;
  ctx.entropyBits = d.l7Code === L7_PENDING_CODE ? -1 : d.entropyBits;
  return ctx;
}

/** Fills cc and country: as described, else from the database (only opened when a rule reads them). */
function fillCountry(ctx: MatchContext, d: FlowDescription, db: () => CountryDb): void {
  if (d.cc !== null) {
    ctx.cc = d.cc;
    ctx.country = d.country ?? '';
    return;
  }
  const pkt = ctx.pkt;
  const out = new CountryResult();
  db().lookup(pkt.buf, ctx.direction === Direction.EGRESS ? pkt.dstOffset : pkt.srcOffset, pkt.ipVersion, out);
  ctx.cc = out.cc;
  ctx.country = out.name;
}

function readsCountry(links: readonly ResolvedLink[]): boolean {
  const directions = links.flatMap((l) => [l.egress, l.ingress]).filter((d) => d !== null);
  return factsRead(directions.flatMap((d) => d.classes.map((c) => (c.match === null ? null : compileRule(c.match, c.matchOrigin ?? { label: 'match' }))))).country;
}

function describePacket(spec: PacketSpec): string {
  const end = (addr: string, port: number | undefined): string => {
    if (spec.proto !== Proto.TCP && spec.proto !== Proto.UDP) return addr;
    return spec.ipVersion === 6 ? `[${addr}]:${port ?? 0}` : `${addr}:${port ?? 0}`;
  };
  const flags = spec.proto === Proto.TCP ? ` ${[...FLAGS].filter(([, bit]) => ((spec.tcpFlags ?? 0) & bit) !== 0).map(([n]) => n).join(',')}` : '';
  const dscp = spec.dscp ? `, dscp ${spec.dscp}` : '';
  return `${protoName(spec.proto)} ${end(spec.src, spec.sport)} -> ${end(spec.dst, spec.dport)}${flags}, ${packetLength(spec)} bytes${dscp}`;
}

const OUTCOME_TEXT: Readonly<Record<WalkStep['outcome'], string>> = {
  held: '✓ matched',
  failed: '✗ no match',
  'catch-all': '✓ no rule (takes everything that reaches it)',
  'not-tried': '· not tried (an earlier class matched)',
  fallback: '→ no class at this level matched: default',
};

/** An explanation as lines: the walk, each rule with its parts marked, the class, and how the flow is cached. */
function formatExplanation(e: Explanation): string[] {
  const width = Math.max(...e.steps.map((s) => 2 * s.depth + s.path.split('/').pop()!.length));
  const lines: string[] = [];
  for (const s of e.steps) {
    const indent = '  '.repeat(s.depth + 1);
    const name = s.path.split('/').pop()!;
    const decided = s.decided === null ? '' : s.decided === 'flow' ? '  [flow-level: cached per flow]' : `  [per-packet: reads ${s.packetAttributes.join(', ')}]`;
    lines.push(`${indent}${name.padEnd(width - 2 * s.depth)}  ${OUTCOME_TEXT[s.outcome]}${s.outcome === 'not-tried' ? '' : decided}`);
    if (s.rule !== null) lines.push(`${indent}    ${formatRulePart(s.rule)}`);
    if (s.values.length > 0) lines.push(`${indent}    (${s.values.map(([a, v]) => `${a} = ${v}`).join(', ')})`);
  }
  lines.push(`  class: ${e.chosenPath}`);
  if (!e.perPacket) lines.push(`  decided per flow: every packet of this flow goes to ${e.flowPath} (cached on the flow)`);
  else if (e.flowPath === e.chosenPath) lines.push(`  flow-level class ${e.flowPath}; per-packet rules are tried on every packet of the flow, and none held for this one`);
  else lines.push(`  flow-level class ${e.flowPath}; this packet alone goes to ${e.chosenPath} because a per-packet rule held`);
  return lines;
}

export function explainCommand(file: string, words: readonly string[], io: Io): number {
  const d = parseFlowDescription(words);
  const { links, config } = loadConfigOrFail(file);
  let db: CountryDb | null = null;
  const countries = (): CountryDb => (db ??= openGeoipFile(config.geoip));
  const lookUpCountry = d.cc === null && readsCountry(links);
  const chosen = d.link === null ? links : links.filter((l) => l.name === d.link || l.interface === d.link);
  if (chosen.length === 0) fail(`no link named '${d.link}' (links: ${links.map((l) => l.name).join(', ')})`);
  const reply: PacketSpec = { ...d.spec, src: d.spec.dst, dst: d.spec.src, sport: d.spec.dport, dport: d.spec.sport };
  let explained = 0;
  for (const link of chosen) {
    for (const dir of DIRECTION_NAMES) {
      if (d.direction !== null && d.direction !== dir) continue;
      const resolved = link[dir];
      if (resolved === null) continue;
      const spec = d.direction === null && dir === 'ingress' ? reply : d.spec;
      const what = spec === reply ? 'the reply' : 'the packet';
      io.out(`link ${link.name} ${dir}, ${what}: ${describePacket(spec)}\n`);
      const ctx = contextFor(d, spec, dir);
      ctx.iif = d.iif ?? (dir === 'ingress' ? link.interface : '');
      ctx.oif = d.oif ?? (dir === 'egress' ? link.interface : '');
      if (d.cc !== null || lookUpCountry) fillCountry(ctx, d, countries);
      for (const line of formatExplanation(explainDirection(resolved, ctx))) io.out(`${line}\n`);
      explained++;
    }
  }
  if (explained === 0) fail(`${d.link === null ? 'no link' : `link '${d.link}'`} shapes ${d.direction ?? 'any direction'}`);
  return 0;
}

/** The flow as the engine knows it, in one line: connection, state, volume and age, owner, country, application. */
function flowHeader(id: number, r: ExplainFlowReply): string {
  const f = r.flow;
  const o = r.facts.owner;
  const facts = [
    o.found ? `user ${o.user}${o.known ? `, cmd ${o.cmd}` : ''}` : 'no local process',
    r.facts.cc === '' ? '' : `cc ${r.facts.cc}`,
    r.facts.l7 === '' ? '' : `l7 ${r.facts.l7}${r.facts.host === '' ? '' : ` ${r.facts.host}`}`,
  ].filter((t) => t !== '');
  const state = f.tcpState === '' || f.tcpState === 'none' ? '' : `${f.tcpState}, `;
  return `flow ${id}: ${connectionText(f)} (${state}${formatSize(f.origBytes + f.replyBytes)} in ${formatDuration(f.lastSeenUs - f.firstSeenUs)}); ${facts.join(', ')}`;
}

/** The engine's record beside the explainer's answer, saying plainly when they differ. */
function recordLine(d: ExplainedDirection): string {
  const now = d.explanation.flowPath;
  const r = d.recorded;
  if (r === null) return `  no packet of this flow has gone this way yet; one would go to ${now}`;
  if (r.state === 'now') {
    return r.classPath === now
      ? `  the flow is in ${now} now, put there by the rules above`
      : `  the engine has the flow in ${r.classPath}, not ${now}: it classified it by what it knew then`;
  }
  const why = r.state === 'before-reload'
    ? 'under the configuration before the last reload'
    : 'before a fact it learnt since (its owner or application)';
  const next = r.classPath === now ? `it stays in ${now}` : `it moves to ${now}`;
  return `  the engine put the flow in ${r.classPath} ${why}; its next packet classifies it again: ${next}`;
}

/** `sluice explain --flow ID`: why a live flow of the running daemon is in its class. */
export async function explainFlowCommand(socket: string, id: number, io: Io): Promise<number> {
  let reply: ExplainFlowReply;
  try {
    reply = await callDaemon<ExplainFlowReply>(socket, 'GET', `/v1/flows/${id}/explain`);
  } catch (err) {
    if (!(err instanceof ControlCallError)) throw err;
    io.err(`${err.message}\n`);
    // 404: no live flow has that id (a check that failed); anything else: no daemon to ask.
    return err.status === 404 ? 1 : 2;
  }
  io.out(`${flowHeader(id, reply)}\n`);
  for (const d of reply.directions) {
    const whose = d.reply ? "the reply's" : "the initiator's";
    io.out(`link ${d.link} ${d.direction}, a typical packet of the flow (${whose}): ${describePacket(d.packet)}\n`);
    for (const line of formatExplanation(d.explanation)) io.out(`${line}\n`);
    io.out(`${recordLine(d)}\n`);
  }
  return 0;
}
