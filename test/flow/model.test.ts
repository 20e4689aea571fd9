// Randomized check against a reference model (a Map keyed by a text 5-tuple): 100k lookups, expiries,
// removals and evictions over IPv4 and IPv6 TCP, UDP and ICMP flows, in a table small enough that
// slots, buckets and probe runs are reused all the time. The model predicts ids, directions,
// counters, TCP states and generations. Which flow is evicted or expired is lazy in the table (to
// within a slack, idle-order.ts), so for those the model checks the guarantees instead: only flows
// past their deadline expire, none stays a slack past it, and an evicted or expired flow's deadline
// is less than a slack after every survivor's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTable } from '../../src/flow/table.js';
import { relinkSlackUs } from '../../src/flow/idle-order.js';
import { TcpState, tcpInitialState, tcpNextState } from '../../src/flow/tcp-state.js';
import { PacketInfo } from '../../src/packet/types.js';
import { ACK, FIN, ICMP, RST, SYN, TCP, UDP, addrBytes } from './packets.js';

const TIMEOUTS = { tcpOpeningUs: 800, tcpEstablishedUs: 5000, tcpClosingUs: 300, udpUs: 1500, otherUs: 1000 };
/** The idle timeout of a flow of this protocol and TCP state, µs. */
function timeoutOf(proto: number, state: TcpState): number {
  if (proto === TCP) {
    if (state === TcpState.ESTABLISHED) return TIMEOUTS.tcpEstablishedUs;
    if (state >= TcpState.CLOSING) return TIMEOUTS.tcpClosingUs;
    return TIMEOUTS.tcpOpeningUs;
  }
  return proto === UDP ? TIMEOUTS.udpUs : TIMEOUTS.otherUs;
}

interface Endpoints {
  v: 4 | 6;
  a: string;
  b: string;
  proto: number;
  pa: number;
  pb: number;
}
interface ModelFlow {
  id: number;
  init: string; // "addr/port" of the initiator
  state: TcpState;
  proto: number;
  lastSeenUs: number;
  origBytes: number;
  origPackets: number;
  replyBytes: number;
  replyPackets: number;
}

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function runModel(seed: number, maxFlows: number, keyCount: number, ops: number): void {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const v4 = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '192.168.1.1', '8.8.8.8', '1.1.1.1'];
  const v6 = ['2001:db8::1', '2001:db8::2', 'fe80::1', '::1', '2001:db8:1:2:3:4:5:6'];
  const ports = [1, 2, 53, 80, 443, 1024, 8080, 65535];
  const keys: Endpoints[] = [];
  const seen = new Set<string>();
  while (keys.length < keyCount) {
    const v = rnd() < 0.6 ? 4 : 6;
    const pool = v === 4 ? v4 : v6;
    const proto = pick([TCP, TCP, UDP, UDP, ICMP]);
    const k: Endpoints = { v, a: pick(pool), b: pick(pool), proto, pa: proto === ICMP ? 0 : pick(ports), pb: proto === ICMP ? 0 : pick(ports) };
    const canon = canonical(k);
    if (!seen.has(canon)) {
      seen.add(canon);
      keys.push(k);
    }
  }

  const t = new FlowTable({ maxFlows, seed, timeouts: TIMEOUTS });
  const model = new Map<string, ModelFlow>();
  const byId = new Map<number, string>();
  const generation = new Array<number>(maxFlows).fill(0);
  const p = new PacketInfo();
  p.buf = Buffer.alloc(32);
  let now = 0;
  let evictions = 0;
  let expired = 0;

  const dropFromModel = (canon: string): void => {
    const f = model.get(canon)!;
    model.delete(canon);
    byId.delete(f.id);
    generation[f.id]++;
  };
  const deadlineUs = (f: ModelFlow): number => f.lastSeenUs + timeoutOf(f.proto, f.state);
  const slackUs = (f: ModelFlow): number => relinkSlackUs(timeoutOf(f.proto, f.state));
  /** Flows that went (evicted or expired) each have a deadline less than a slack after every survivor's. */
  const checkOrder = (gone: ModelFlow[], what: string): void => {
    for (const g of gone) {
      for (const f of model.values()) {
        const bound = deadlineUs(f) + Math.max(slackUs(g), slackUs(f));
        assert.ok(deadlineUs(g) < bound, `${what}: flow ${g.id} (deadline ${deadlineUs(g)}) went before flow ${f.id} (deadline ${deadlineUs(f)})`);
      }
    }
  };

  for (let op = 0; op < ops; op++) {
    // Mostly busy; now and then a quiet spell long enough for flows to expire.
    now += 1 + Math.floor(rnd() < 0.02 ? rnd() * 3000 : rnd() * 20);
    const r = rnd();
    if (r < 0.85) {
      const k = pick(keys);
      const flip = rnd() < 0.5;
      const src = flip ? k.b : k.a;
      const dst = flip ? k.a : k.b;
      const sport = flip ? k.pb : k.pa;
      const dport = flip ? k.pa : k.pb;
      const flags = k.proto === TCP ? pick([SYN, SYN | ACK, ACK, ACK, ACK, ACK | 0x08, FIN | ACK, RST]) : 0;
      const bytes = 40 + Math.floor(rnd() * 1460);
      const sb = addrBytes(src);
      const db = addrBytes(dst);
      p.buf.set(sb, 0);
      p.buf.set(db, 16);
      p.ipVersion = k.v;
      p.srcOffset = 0;
      p.dstOffset = 16;
      p.proto = k.proto;
      p.sport = sport;
      p.dport = dport;
      p.tcpFlags = flags;
      p.ipBytes = bytes;

      const canon = canonical(k);
      const existing = model.get(canon);
      const full = !existing && model.size === maxFlows;
      const id = t.lookup(p, now);
      if (full) {
        // The evicted flow's slot is the one reused.
        const victim = byId.get(id);
        assert.ok(victim !== undefined, `op ${op}: a full table gave the new flow slot ${id}, which held no flow`);
        const gone = model.get(victim)!;
        dropFromModel(victim);
        checkOrder([gone], `op ${op}: eviction`);
        evictions++;
      }
      assert.ok(id >= 0 && id < maxFlows);
      if (existing) {
        assert.equal(id, existing.id, `op ${op}: lookup of an existing flow`);
        assert.equal(t.lastCreated, false);
        const isReply = existing.init !== `${src}/${sport}`;
        assert.equal(t.lastIsReply, isReply, `op ${op}: direction`);
        existing.lastSeenUs = now;
        if (isReply) {
          existing.replyBytes += bytes;
          existing.replyPackets++;
        } else {
          existing.origBytes += bytes;
          existing.origPackets++;
        }
        if (k.proto === TCP) existing.state = tcpNextState(existing.state, flags, isReply);
      } else {
        assert.equal(t.lastCreated, true, `op ${op}: creation`);
        assert.equal(byId.has(id), false, `op ${op}: new flow given slot ${id}, which holds another flow`);
        const swap = k.proto === TCP && (flags & (SYN | ACK)) === (SYN | ACK);
        assert.equal(t.lastIsReply, swap);
        const f: ModelFlow = {
          id,
          init: swap ? `${dst}/${dport}` : `${src}/${sport}`,
          state: k.proto === TCP ? tcpInitialState(flags) : TcpState.NONE,
          proto: k.proto,
          lastSeenUs: now,
          origBytes: swap ? 0 : bytes,
          origPackets: swap ? 0 : 1,
          replyBytes: swap ? bytes : 0,
          replyPackets: swap ? 1 : 0,
        };
        model.set(canon, f);
        byId.set(id, canon);
      }
    } else if (r < 0.95) {
      const maxWork = Math.floor(rnd() * 6);
      const n = t.expire(now, maxWork);
      assert.ok(n <= maxWork, `op ${op}: expire(${now}, ${maxWork}) removed ${n}`);
      const gone = [...model.values()].filter((f) => !t.isActive(f.id));
      assert.equal(gone.length, n, `op ${op}: expire's count`);
      for (const f of gone) {
        assert.ok(deadlineUs(f) <= now, `op ${op}: flow ${f.id} expired at ${now} before its deadline ${deadlineUs(f)}`);
        dropFromModel(byId.get(f.id)!);
      }
      checkOrder(gone, `op ${op}: expiry`);
      if (n < maxWork) {
        for (const f of model.values()) {
          assert.ok(deadlineUs(f) > now - slackUs(f), `op ${op}: flow ${f.id} left a slack past its deadline ${deadlineUs(f)} at ${now}`);
        }
      }
      expired += n;
    } else if (model.size > 0 && r < 0.98) {
      const canon = pick([...model.keys()]);
      const id = model.get(canon)!.id;
      dropFromModel(canon);
      assert.equal(t.remove(id), true);
    } else {
      const id = Math.floor(rnd() * maxFlows);
      assert.equal(t.remove(id), byId.has(id));
      if (byId.has(id)) dropFromModel(byId.get(id)!);
    }

    if (op % 997 === 0 || op === ops - 1) {
      assert.equal(t.size, model.size, `op ${op}: size`);
      assert.equal(t.evictions, evictions);
      assert.equal(t.expired, expired);
      let active = 0;
      for (let id = t.nextActive(-1); id >= 0; id = t.nextActive(id)) active++;
      assert.equal(active, model.size);
      for (let id = 0; id < maxFlows; id++) assert.equal(t.generation(id), generation[id], `op ${op}: generation of ${id}`);
      for (const f of model.values()) {
        assert.equal(t.isActive(f.id), true);
        const d = t.describe(f.id)!;
        assert.equal(`${d.initiator}/${d.initiatorPort}`, canonicalAddr(f.init));
        assert.equal(d.lastSeenUs, f.lastSeenUs);
        assert.equal(t.tcpState(f.id), f.state);
        assert.deepEqual([d.origBytes, d.origPackets, d.replyBytes, d.replyPackets], [f.origBytes, f.origPackets, f.replyBytes, f.replyPackets]);
      }
    }
  }
  assert.ok(evictions > 1000, `evictions exercised (${evictions})`);
  assert.ok(expired > 1000, `expiry exercised (${expired})`);
}

/** One text per bidirectional flow: version, protocol and the two endpoints in sorted order. */
function canonical(k: Endpoints): string {
  const x = `${k.a}/${k.pa}`;
  const y = `${k.b}/${k.pb}`;
  return `${k.v}|${k.proto}|${x < y ? `${x}|${y}` : `${y}|${x}`}`;
}

/** "addr/port" with the address in the form describe() prints (RFC 5952). */
function canonicalAddr(endpoint: string): string {
  const [addr, port] = endpoint.split('/');
  const b = addrBytes(addr);
  if (b.length === 4) return endpoint;
  const groups = Array.from({ length: 8 }, (_, i) => (b[2 * i] << 8) | b[2 * i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
  }
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  const text = best < 0 ? hex(groups) : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
  return `${text}/${port}`;
}

test('matches a Map-based model over 100k operations in a small, churning table', () => {
  runModel(20240601, 64, 400, 100_000);
});

test('matches the model with a larger table and more distinct flows', () => {
  runModel(7, 512, 2000, 30_000);
});
