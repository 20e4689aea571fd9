/**
 * Explaining a live flow (`sluice explain --flow ID`): the engine's facts of one flow — its
 * addresses and ports, counters, owner, application and country — run through the explainer
 * (classify/explain.ts) against the configuration the engine runs now, beside the class the engine
 * recorded for it. Runs in the shaping worker between two batches; it compiles the rules afresh and
 * allocates: a person's command, not the packet path.
 *
 * A live flow has no one packet to explain, so each direction explains a typical packet of it: the
 * packets the engine classified that way (the initiator's or the reply's), at their mean size, TCP
 * with ACK (and PSH when it carries data). The flow-level class does not depend on which packet;
 * per-packet rules (tcp.syn, length, ...) are shown for that typical packet. The mark and the
 * interfaces are each packet's own and the engine keeps none of them per flow: the mark reads 0, and
 * the interfaces are the link's on its side and none on the other, as `sluice explain` assumes.
 */
import { MatchContext, type OwnerFacts } from '../classify/context.js';
import { explainClassification, type ExplainClass, type Explanation } from '../classify/explain.js';
import type { DirectionName, ResolvedDirection } from '../control/resolve.js';
import { Direction } from '../datapath/types.js';
import type { FlowDescription } from '../flow/describe.js';
import { buildPacket, packetLength, type PacketSpec } from '../packet/build.js';
import { parsePacket } from '../packet/parse.js';
import { PacketInfo, Proto, TcpFlag } from '../packet/types.js';
import type { Engine, FlowClassified } from './engine.js';

/** One link direction of a live flow, explained. */
export interface ExplainedDirection {
  link: string;
  direction: DirectionName;
  /** The typical packet explained, and whether it is the reply's (responder → initiator). */
  packet: PacketSpec;
  reply: boolean;
  /** The class the engine put the flow in this way, and whether that stands; null: no packet of it went this way yet. */
  recorded: { classPath: string; state: FlowClassified['state'] } | null;
  explanation: Explanation;
}

export interface FlowExplanation {
  flow: FlowDescription;
  /** The facts as `sluice flows` lists them. */
  facts: { owner: OwnerFacts; cc: string; country: string; l7: string; host: string };
  directions: ExplainedDirection[];
}

/** Which class a packet in ctx goes to on one link direction, and why (the configuration's classes in tree order). */
export function explainDirection(resolved: ResolvedDirection, ctx: MatchContext): Explanation {
  const sched = resolved.sched.classes;
  const classes: ExplainClass[] = sched.map((k, i) => ({
    path: k.path,
    parent: k.parent,
    isLeaf: !sched.some((c) => c.parent === i),
    match: resolved.classes[i].match,
    matchOrigin: resolved.classes[i].matchOrigin,
  }));
  return explainClassification(classes, resolved.sched.defaultClass, ctx);
}

/** The explanation of live flow `id` at nowUs, or null when no flow holds that id. */
export function explainLiveFlow(engine: Engine, id: number, nowUs: number): FlowExplanation | null {
  const flow = engine.flows.describe(id);
  if (flow === undefined) return null;
  const classified = engine.flowClassified(id);
  // The links it was classified on; when none still runs (not classified yet, its packets waiting
  // for their owner; or its link renamed by a reload), every link, the flow taken as opened from this side.
  const seenOn = engine.runningLinks.filter((l) => classified.some((c) => c.link === l.name));
  const links = seenOn.length > 0 ? seenOn : engine.runningLinks;
  const directions: ExplainedDirection[] = [];
  for (const link of links) {
    for (const direction of [Direction.EGRESS, Direction.INGRESS]) {
      const resolved = direction === Direction.EGRESS ? link.egress : link.ingress;
      if (resolved === null) continue;
      const recorded = classified.find((c) => c.link === link.name && c.direction === direction) ?? null;
      const other = classified.find((c) => c.link === link.name && c.direction !== direction);
      const reply = recorded?.reply ?? (other === undefined ? direction === Direction.INGRESS : !other.reply);
      const packet = typicalPacket(flow, reply);
      const buf = buildPacket(packet);
      const ctx = new MatchContext(new PacketInfo());
      if (!parsePacket(buf, 0, buf.length, ctx.pkt)) throw new Error(`explain: the built packet of flow ${id} does not parse`);
      engine.flowContext(id, direction, nowUs, ctx);
      ctx.iif = direction === Direction.INGRESS ? link.interface : '';
      ctx.oif = direction === Direction.EGRESS ? link.interface : '';
      directions.push({
        link: link.name,
        direction: direction === Direction.EGRESS ? 'egress' : 'ingress',
        packet,
        reply,
        recorded: recorded === null ? null : { classPath: recorded.classPath, state: recorded.state },
        explanation: explainDirection(resolved, ctx),
      });
    }
  }
  return { flow, facts: engine.flowFacts(id), directions };
}

/** A packet of the flow's initiator (or of the reply) at the mean size of those it sent. */
function typicalPacket(flow: FlowDescription, reply: boolean): PacketSpec & { sport: number; dport: number } {
  const ported = flow.proto === Proto.TCP || flow.proto === Proto.UDP;
  const spec: PacketSpec & { sport: number; dport: number } = {
    ipVersion: flow.ipVersion === 6 ? 6 : 4,
    proto: flow.proto,
    src: reply ? flow.responder : flow.initiator,
    dst: reply ? flow.initiator : flow.responder,
    sport: ported ? (reply ? flow.responderPort : flow.initiatorPort) : 0,
    dport: ported ? (reply ? flow.initiatorPort : flow.responderPort) : 0,
  };
  const [bytes, packets] = reply ? [flow.replyBytes, flow.replyPackets] : [flow.origBytes, flow.origPackets];
  const headerBytes = packetLength(spec);
  const meanBytes = packets > 0 ? Math.min(0xffff, Math.round(bytes / packets)) : headerBytes;
  spec.payloadBytes = Math.max(0, meanBytes - headerBytes);
  if (flow.proto === Proto.TCP) spec.tcpFlags = spec.payloadBytes > 0 ? TcpFlag.ACK | TcpFlag.PSH : TcpFlag.ACK;
  return spec;
}
