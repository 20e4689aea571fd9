/**
 * The engine's packet path — parse, flow lookup, classification, enqueue, dequeue, release with a
 * DSCP rewrite — allocates nothing per packet: 1M packets through it cause no garbage collection.
 * Allocating even 16 bytes per packet would fill the young generation several times over. The same
 * holds with rules reading flow facts (l7, the owner from the kernel's uid, the country): those cost
 * once per flow, when it is classified, not per packet.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/control/load.js';
import { resolveLinks } from '../../src/control/resolve.js';
import { Direction, type Datapath, type PacketBatch } from '../../src/datapath/types.js';
import { NO_OWNER } from '../../src/classify/context.js';
import { Engine } from '../../src/engine/engine.js';
import type { CountryLookup, OwnerSource } from '../../src/engine/facts.js';
import { buildPacket } from '../../src/packet/build.js';
import { Proto, TcpFlag } from '../../src/packet/types.js';
import { allocatedDuring, collectionsDuring } from '../support/gc.js';

class CountingDatapath implements Datapath {
  verdicts = 0;
  accept(): void {
    this.verdicts++;
  }
  acceptRewritten(): void {
    this.verdicts++;
  }
  drop(): void {
    this.verdicts++;
  }
  flush(): void {}
}

const CONFIG = `
links:
  - interface: eth0
    egress: 1gbit
classes:
  interactive:
    rate: 100mbit
    prio: 0
    match: tcp.syn or proto == "icmp"
    set_dscp: EF
  web:
    rate: 400mbit
    fairness: hosts
    flow_ceil: 200mbit
    match: rport in [80, 443]
  default:
    rate: 100mbit
`;

const FACTS_CONFIG = `${CONFIG}
  p2p:
    rate: 10mbit
    match: l7 == "bittorrent" or (user == "fred" and flow.entropy > 7)
  slovak:
    rate: 10mbit
    match: cc == "SK"
`;

/** Owners only from the kernel uid (the batch carries one): nothing waits, nothing is looked up. */
const kernelOwners: OwnerSource = {
  request: () => false,
  fromKernel: (uid, gid) => ({ ...NO_OWNER, found: true, uid, gid, user: 'fred' }),
  poll: () => 0,
};
const countries: CountryLookup = {
  lookup: (_buf, _offset, _ipVersion, out) => {
    out.cc = 'SK';
    out.name = 'Slovakia';
  },
};

for (const [what, config, uid] of [['plain rules', CONFIG, -1], ['rules reading l7, the owner and the country', FACTS_CONFIG, 1000]] as const) {
  test(`1M packets through the engine cause no garbage collection (${what})`, async (t) => {
    const r = parseConfigText(config, 'test.yaml');
    assert.ok(r.ok);
    const dp = new CountingDatapath();
    const engine = new Engine(resolveLinks(r.config), dp, { maxFlows: 4096, flowSeed: 3, owners: kernelOwners, countries });
    const FLOWS = 1000;
    const packets = Array.from({ length: FLOWS }, (_, f) =>
      buildPacket({
        ipVersion: f % 4 === 0 ? 6 : 4,
        src: f % 4 === 0 ? `2001:db8::${(f % 200) + 1}` : `192.168.${f % 200}.10`,
        dst: f % 4 === 0 ? '2001:db8:1::5' : '203.0.113.5',
        proto: Proto.TCP,
        sport: 40000 + f,
        dport: f % 3 === 0 ? 443 : 8080,
        tcpFlags: f % 10 === 0 ? TcpFlag.SYN : TcpFlag.ACK,
        payloadBytes: 500,
      }),
    );
    const N = 32;
    const batch: PacketBatch = {
      count: N,
      handles: new Uint32Array(N),
      links: new Uint16Array(N),
      directions: new Uint8Array(N).fill(Direction.EGRESS),
      arrivalUs: new Float64Array(N),
      marks: new Uint32Array(N),
      uids: new Int32Array(N).fill(uid),
      gids: new Int32Array(N).fill(uid),
      inIfindex: new Uint32Array(N),
      outIfindex: new Uint32Array(N),
      buffers: new Array<Buffer>(N).fill(packets[0]),
      offsets: new Uint32Array(N),
      lengths: new Uint32Array(N),
    };
    let now = 0;
    let handle = 0;
    const run = (rounds: number): void => {
      for (let k = 0; k < rounds; k++) {
        for (let i = 0; i < N; i++) {
          const b = packets[(k * 7 + i * 13) % FLOWS];
          batch.handles[i] = handle++ >>> 0;
          batch.buffers[i] = b;
          batch.lengths[i] = b.length;
          batch.arrivalUs[i] = now;
        }
        engine.receive(batch);
        now += 200;
        engine.pump(now);
      }
    };
    run(5000);
    const verdictsBefore = dp.verdicts;
    const collections = await collectionsDuring(() => run(1_000_000 / N));
    assert.ok(dp.verdicts - verdictsBefore > 900_000, 'packets went through');
    assert.ok(collections <= 1, `${collections} garbage collections`);
    // Counting collections lets a few bytes per packet through; the heap's growth over a shorter
    // stretch does not (a key above 2^30 boxed per packet grew it by 7.6 bytes a packet).
    const PACKETS = 200_000;
    const grown = await allocatedDuring(() => run(PACKETS / N));
    t.diagnostic(`heap growth over ${PACKETS} packets: ${(grown.bytes / PACKETS).toFixed(2)} bytes per packet`);
    assert.ok(grown.collections === 0 && grown.bytes / PACKETS < 2, `${(grown.bytes / PACKETS).toFixed(2)} bytes per packet, ${grown.collections} collections`);
  });
}
