/**
 * Turns a scenario's source specs into source instances: picks the link and its shaped directions,
 * fills defaults, builds each flow's packet templates once, and replicates `count: N` (incrementing
 * the sender's port) and `hosts: N` (incrementing the local address: the sender for egress data,
 * the receiver for ingress data). `count` increments the local port likewise: the sender's port for
 * egress data, the receiver's for ingress data (a client opening several connections). Runs once before a simulation, so it may allocate freely.
 */
import type { ResolvedLink } from '../control/resolve.js';
import { Direction } from '../datapath/types.js';
import { formatAddress, parseAddress } from '../packet/addr.js';
import { Proto } from '../packet/types.js';
import { ECN_ECT0 } from '../packet/rewrite.js';
import { scenarioOwner } from './owners.js';
import type { Scenario, SourceSpec } from './scenario.js';
import { InteractiveSource } from './sources/interactive.js';
import { RateSource } from './sources/rate.js';
import { Source, SourcePath, type SourceHost } from './sources/source.js';
import { ACK_ECE_FLAGS, ACK_FLAGS, TcpSource } from './sources/tcp.js';
import { dataTemplate, headerBytes, replyTemplate, type FlowSpec } from './sources/templates.js';

const DEFAULT_MTU_BYTES = 1500;
const DEFAULT_RWND_BYTES = 4_000_000;
const DEFAULT_RATE_PACKET_BYTES = 1200;
const DEFAULT_INTERACTIVE_BYTES = 100;
const ICMP_ECHO_REPLY = 0;
const ICMPV6_ECHO_REPLY = 129;

/** A scenario source that cannot be built against these links (unknown link name and the like). */
export class ScenarioLinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioLinkError';
  }
}

/** The largest packet any source of the scenario builds, bytes (the datapath's slot size). */
export function largestPacketBytes(scenario: Scenario): number {
  let most = 64;
  for (const s of scenario.sources) {
    const v6 = (parseAddress(s.src)?.length ?? 4) === 16;
    const hdr = headerBytes(v6 ? 6 : 4, Proto.TCP);
    const bytes = Math.max(s.mss !== undefined ? s.mss + hdr : DEFAULT_MTU_BYTES, s.size ?? 0, s.response ?? 0);
    if (bytes > most) most = bytes;
  }
  return most;
}

/** Every instance of every source, in scenario order; instance i has index i. */
export function buildSources(links: ResolvedLink[], scenario: Scenario, host: SourceHost): Source[] {
  const out: Source[] = [];
  for (const spec of scenario.sources) {
    const linkIndex = spec.link === undefined ? 0 : links.findIndex((l) => l.name === spec.link || l.interface === spec.link);
    if (linkIndex < 0 || links.length === 0) {
      const names = links.map((l) => l.name).join(', ');
      throw new ScenarioLinkError(`source '${spec.name}': no link named '${spec.link}' in the configuration (links: ${names})`);
    }
    const link = links[linkIndex];
    const dir = spec.direction === 'ingress' ? Direction.INGRESS : Direction.EGRESS;
    const path = new SourcePath(linkIndex, dir, [link.egress !== null, link.ingress !== null], spec.rtt ?? scenario.rttUs);
    const count = spec.count ?? 1;
    const hosts = spec.hosts ?? 1;
    const replicas = count * hosts;
    for (let h = 0; h < hosts; h++) {
      for (let c = 0; c < count; c++) {
        const flow = flowOf(spec, scenario, h, c);
        const name = replicas > 1 ? `${spec.name}#${h * count + c + 1}` : spec.name;
        const source = makeSource(out.length, name, path, spec, scenario, flow, host, link.mtuBytes);
        source.localAddress = dir === Direction.INGRESS ? flow.dst : flow.src;
        source.localPort = dir === Direction.INGRESS ? flow.dport : flow.sport;
        if (spec.owner !== undefined) source.owner = scenarioOwner(spec.owner);
        out.push(source);
      }
    }
  }
  return out;
}

function flowOf(spec: SourceSpec, scenario: Scenario, hostOffset: number, portOffset: number): FlowSpec {
  const v6 = (parseAddress(spec.src)?.length ?? 4) === 16;
  const ipVersion = v6 ? 6 : 4;
  const proto = spec.kind === 'tcp' ? Proto.TCP : spec.proto === 'icmp' ? (v6 ? Proto.ICMPV6 : Proto.ICMP) : Proto.UDP;
  const ecnCapable = spec.ecn ?? (spec.kind === 'tcp' && scenario.ecn);
  const ingress = spec.direction === 'ingress';
  const defaultSport = spec.kind === 'tcp' ? 40000 : 50000;
  const defaultDport = spec.kind === 'tcp' ? 443 : 5000;
  return {
    ipVersion,
    proto,
    src: ingress ? spec.src : offsetAddress(spec.src, hostOffset),
    sport: ((spec.sport ?? defaultSport) + (ingress ? 0 : portOffset)) & 0xffff,
    dst: ingress ? offsetAddress(spec.dst, hostOffset) : spec.dst,
    dport: ((spec.dport ?? defaultDport) + (ingress ? portOffset : 0)) & 0xffff,
    dscp: spec.dscp ?? 0,
    ecn: ecnCapable ? ECN_ECT0 : 0,
  };
}

function makeSource(
  index: number, name: string, path: SourcePath, spec: SourceSpec, scenario: Scenario, flow: FlowSpec,
  host: SourceHost, mtuBytes: number,
): Source {
  const startUs = spec.start ?? 0;
  const stopUs = Math.min(spec.stop ?? scenario.durationUs, scenario.durationUs);
  const hdr = headerBytes(flow.ipVersion, flow.proto);
  const icmp = flow.proto === Proto.ICMP || flow.proto === Proto.ICMPV6;
  switch (spec.kind) {
    case 'tcp': {
      const mssBytes = spec.mss ?? mtuBytes - hdr;
      return new TcpSource(index, name, path, startUs, stopUs, host,
        dataTemplate(flow, mssBytes), replyTemplate(flow, 0, ACK_FLAGS), replyTemplate(flow, 0, ACK_ECE_FLAGS),
        { mssBytes, rwndBytes: spec.rwnd ?? DEFAULT_RWND_BYTES, totalBytes: spec.bytes ?? 0 });
    }
    case 'constant':
    case 'onoff': {
      const sizeBytes = Math.max(spec.size ?? DEFAULT_RATE_PACKET_BYTES, hdr);
      const onUs = spec.kind === 'onoff' ? (spec.on ?? 0) : Infinity;
      const offUs = spec.kind === 'onoff' ? (spec.off ?? 0) : 0;
      return new RateSource(index, name, path, startUs, stopUs, host, dataTemplate(flow, sizeBytes - hdr), spec.rate ?? 1, onUs, offUs);
    }
    case 'interactive': {
      const reqBytes = Math.max(spec.size ?? DEFAULT_INTERACTIVE_BYTES, hdr);
      const respBytes = Math.max(spec.response ?? reqBytes, hdr);
      const reply = icmp ? (flow.proto === Proto.ICMP ? ICMP_ECHO_REPLY : ICMPV6_ECHO_REPLY) : undefined;
      return new InteractiveSource(index, name, path, startUs, stopUs, host,
        dataTemplate(flow, reqBytes - hdr), replyTemplate(flow, respBytes - hdr, undefined, reply), spec.interval ?? 100_000);
    }
  }
}

/** The address `n` above `text` (carrying across bytes), as text. */
function offsetAddress(text: string, n: number): string {
  if (n === 0) return text;
  const bytes = parseAddress(text);
  if (bytes === null) throw new ScenarioLinkError(`'${text}' is not an IP address`);
  const b = Buffer.from(bytes);
  let carry = n;
  for (let i = b.length - 1; i >= 0 && carry > 0; i--) {
    const v = b[i] + carry;
    b[i] = v & 0xff;
    carry = Math.floor(v / 256);
  }
  return formatAddress(b, 0, b.length === 4 ? 4 : 16);
}
