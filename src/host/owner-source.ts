/**
 * The engine's OwnerSource (engine/facts.ts) on a real host: lookups go to the owner thread
 * (owner-thread/resolver.ts) so the packet thread never waits on /proc, and a locally sent packet's
 * kernel uid/gid become an owner without any lookup. What crosses to the engine is plain data:
 * a socket found without its process gets 'unknown' names and -1 ids, so a rule can say so.
 */
import type { OwnerFacts } from '../classify/context.js';
import { NO_OWNER } from '../classify/context.js';
import { Direction } from '../datapath/types.js';
import type { OwnerAnswerSink, OwnerSource } from '../engine/facts.js';
import type { PacketInfo } from '../packet/types.js';
import type { SocketOwner } from './owner-lookup.js';
import { OwnerResolver, type OwnerAnswer, type OwnerResolverOptions } from './owner-thread/resolver.js';
import { UserNames } from './user-names.js';

const UNKNOWN = 'unknown';
/** Kernel-uid owners kept at most (one per uid/gid pair seen); past it the cache starts over. */
const KERNEL_OWNER_ENTRIES = 1024;
/** The flow number of ready()'s probe (no flow has it: flow ids are below the table size). */
const PROBE_FLOW = 0xffffffff;
const READY_POLL_MS = 5;

/** The facts a rule reads from a lookup's answer. */
export function ownerFacts(o: SocketOwner): OwnerFacts {
  if (!o.found) return NO_OWNER;
  if (o.known) return o;
  const unknown = (s: string): string => (s === '' ? UNKNOWN : s);
  return { ...o, user: unknown(o.user), group: unknown(o.group), cmd: UNKNOWN, exe: UNKNOWN, args: UNKNOWN, cgroup: UNKNOWN, unit: UNKNOWN };
}

export class HostOwnerSource implements OwnerSource {
  private readonly resolver: OwnerResolver;
  private readonly names: UserNames;
  private readonly kernelOwners = new Map<number, OwnerFacts>();
  private sink: OwnerAnswerSink | null = null;
  private readonly onAnswer = (a: OwnerAnswer): void => {
    (this.sink as OwnerAnswerSink)(a.flow, a.generation, ownerFacts(a.owner));
  };

  private constructor(resolver: OwnerResolver, names: UserNames) {
    this.resolver = resolver;
    this.names = names;
  }

  /** Starts the owner thread in the calling thread's network namespace. */
  static start(options: OwnerResolverOptions = {}): HostOwnerSource {
    return new HostOwnerSource(OwnerResolver.start(options), new UserNames());
  }

  request(flow: number, generation: number, pkt: PacketInfo, direction: Direction): boolean {
    const bytes = pkt.ipVersion === 4 ? 4 : 16;
    const src = pkt.buf.subarray(pkt.srcOffset, pkt.srcOffset + bytes);
    const dst = pkt.buf.subarray(pkt.dstOffset, pkt.dstOffset + bytes);
    // The local side sends on egress and receives on ingress. The addresses stay views of the
    // packet: the request copies their words before request() returns.
    const egress = direction === Direction.EGRESS;
    return this.resolver.request(flow, generation, {
      family: pkt.ipVersion === 4 ? 4 : 6,
      protocol: pkt.proto,
      localAddress: egress ? src : dst,
      localPort: egress ? pkt.sport : pkt.dport,
      remoteAddress: egress ? dst : src,
      remotePort: egress ? pkt.dport : pkt.sport,
    });
  }

  fromKernel(uid: number, gid: number): OwnerFacts {
    const key = uid * 0x1_0000_0000 + gid;
    let owner = this.kernelOwners.get(key);
    if (owner === undefined) {
      if (this.kernelOwners.size >= KERNEL_OWNER_ENTRIES) this.kernelOwners.clear();
      owner = { ...NO_OWNER, found: true, uid, gid, user: this.names.user(uid), group: this.names.group(gid), cmd: UNKNOWN, exe: UNKNOWN, args: UNKNOWN, cgroup: UNKNOWN, unit: UNKNOWN };
      this.kernelOwners.set(key, owner);
    }
    return owner;
  }

  poll(sink: OwnerAnswerSink): number {
    this.sink = sink;
    return this.resolver.poll(this.onAnswer);
  }

  /**
   * Resolves true once the lookup thread answers (it builds its /proc index first, and under tsx
   * starting a thread takes a second or two), false after timeoutMs. Call it before any request: a
   * probe for a connection nobody has goes ahead of them, and its answer is taken here.
   */
  async ready(timeoutMs: number): Promise<boolean> {
    const none = new Uint8Array(4);
    if (!this.resolver.request(PROBE_FLOW, 0, { family: 4, protocol: 6, localAddress: none, localPort: 0, remoteAddress: none, remotePort: 0 })) return false;
    const deadline = Date.now() + timeoutMs;
    let answered = false;
    while (!answered && Date.now() < deadline) {
      this.resolver.poll(() => void (answered = true));
      if (!answered) await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
    return answered;
  }

  /** The lookup thread's fatal error, if any (for the start-up warning). */
  get error(): string | null {
    return this.resolver.error;
  }

  close(): Promise<void> {
    return this.resolver.close();
  }
}
