/**
 * The simulator's owner lookup: the engine's OwnerSource answered from the scenario, where a source
 * may say which program owns its flows (`owner: {user: fred, cmd: amule}`). A flow is matched by its
 * local address and port; one the scenario says nothing of has no owner, as forwarded traffic. The
 * answer comes at the engine's next pump, as a real lookup's would, a moment later.
 */
import { NO_OWNER, type OwnerFacts } from '../classify/context.js';
import { Direction } from '../datapath/types.js';
import type { OwnerAnswerSink, OwnerSource } from '../engine/facts.js';
import { formatAddress } from '../packet/addr.js';
import type { PacketInfo } from '../packet/types.js';
import type { SourceSpec } from './scenario.js';

const UNKNOWN = 'unknown';

/** What a scenario's `owner:` says, with what it leaves out unknown. */
export function scenarioOwner(o: NonNullable<SourceSpec['owner']>): OwnerFacts {
  return {
    found: true,
    known: true,
    pid: o.pid ?? -1,
    uid: o.uid ?? -1,
    gid: o.gid ?? -1,
    user: o.user ?? UNKNOWN,
    group: o.group ?? UNKNOWN,
    cmd: o.cmd ?? UNKNOWN,
    exe: o.exe ?? UNKNOWN,
    args: o.args ?? o.cmd ?? UNKNOWN,
    cgroup: o.cgroup ?? UNKNOWN,
    unit: o.unit ?? UNKNOWN,
  };
}

export class ScenarioOwners implements OwnerSource {
  private readonly byEndpoint = new Map<string, OwnerFacts>();
  private pending: Array<[number, number, OwnerFacts]> = [];

  /** Owners by local endpoint (address text and port). */
  constructor(endpoints: ReadonlyArray<{ localAddress: string; localPort: number; owner: OwnerFacts }>) {
    for (const e of endpoints) this.byEndpoint.set(`${e.localAddress}|${e.localPort}`, e.owner);
  }

  get size(): number {
    return this.byEndpoint.size;
  }

  request(flow: number, generation: number, pkt: PacketInfo, direction: Direction): boolean {
    const egress = direction === Direction.EGRESS;
    const bytes = pkt.ipVersion === 4 ? 4 : 16;
    const address = formatAddress(pkt.buf, egress ? pkt.srcOffset : pkt.dstOffset, bytes);
    const owner = this.byEndpoint.get(`${address}|${egress ? pkt.sport : pkt.dport}`) ?? NO_OWNER;
    this.pending.push([flow, generation, owner]);
    return true;
  }

  fromKernel(): OwnerFacts {
    return NO_OWNER;
  }

  poll(sink: OwnerAnswerSink): number {
    if (this.pending.length === 0) return 0;
    const answers = this.pending;
    this.pending = [];
    for (const [flow, generation, owner] of answers) sink(flow, generation, owner);
    return answers.length;
  }
}
