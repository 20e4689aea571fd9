/**
 * NfqueueDatapath against the real kernel: the shared Datapath contract, then what only a kernel queue
 * has (one send for many verdicts, the queue's maxlen with and without fail-open, --queue-bypass once
 * the datapath is closed, a bind refused because another socket holds the queue, packets larger than
 * a slot, packets the classifier lets go unshaped).
 *
 * Root only (CI is root); without root every test fails with one line saying so. The whole file runs
 * in a network namespace of its own (nfqueue-netns.ts): packets are written onto its lo and the
 * released ones read back from a raw socket there; nothing leaves the namespace, and the namespace,
 * queue and rule disappear with this process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildPacket } from '../../src/packet/build.js';
import { Proto } from '../../src/packet/types.js';
import { Direction, type PacketBatch } from '../../src/datapath/types.js';
import { NF_INET_PRE_ROUTING } from '../../src/datapath/nfqueue/constants.js';
import { NfqueueDatapath, type NfqueueOpenOptions, type PacketPlace } from '../../src/datapath/nfqueue/datapath.js';
import { datapathContract, type DatapathHarness, type ReceivedPacket } from './contract.js';
import { spawnSync } from 'node:child_process';
import { ENOENT } from '../../src/datapath/errno.js';
import { Capture, DST_ADDRESS, DST_PORT, enterPrivateNetns, Injector, netnsOf } from './nfqueue-netns.js';

const QUEUE = 7;
const LINK0_EGRESS: PacketPlace = { link: 0, direction: Direction.EGRESS };
const classifyAll = (): PacketPlace => LINK0_EGRESS;

function open(overrides: Partial<NfqueueOpenOptions> = {}): NfqueueDatapath {
  return NfqueueDatapath.open({ queueNum: QUEUE, maxlenPackets: 1024, failOpen: true, classify: classifyAll, ...overrides });
}

function udp(sport: number, payloadBytes = 100): Buffer {
  return buildPacket({ ipVersion: 4, proto: Proto.UDP, src: '192.0.2.10', dst: DST_ADDRESS, sport, dport: DST_PORT, payloadBytes });
}

function copyOut(b: PacketBatch): ReceivedPacket[] {
  const got: ReceivedPacket[] = [];
  for (let i = 0; i < b.count; i++) {
    const inPlace = b.buffers[i].subarray(b.offsets[i], b.offsets[i] + b.lengths[i]);
    got.push({
      handle: b.handles[i], link: b.links[i], direction: b.directions[i], arrivalUs: b.arrivalUs[i],
      bytes: Buffer.from(inPlace), inPlace,
    });
  }
  return got;
}

/** Receives until n packets came or 2 s passed. */
function receiveN(dp: NfqueueDatapath, n: number): ReceivedPacket[] {
  const got: ReceivedPacket[] = [];
  const deadline = Date.now() + 2000;
  while (got.length < n && Date.now() < deadline) got.push(...copyOut(dp.receive(50_000)));
  return got;
}

function runIp(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `ip ${args.join(' ')}: ${r.stderr}`);
}

class NfqueueHarness implements DatapathHarness {
  readonly datapath: NfqueueDatapath;
  private readonly injector = new Injector();
  private readonly capture = new Capture();
  /** Packets a wait() received, handed out by the next nextBatch(). */
  private pending: ReceivedPacket[] = [];

  constructor() {
    this.datapath = open();
  }

  async inject(packets: Buffer[]): Promise<void> {
    this.injector.inject(packets);
  }

  async nextBatch(): Promise<ReceivedPacket[]> {
    if (this.pending.length > 0) {
      const p = this.pending;
      this.pending = [];
      return p;
    }
    return copyOut(this.datapath.receive(100_000));
  }

  async wait(us: number): Promise<void> {
    const until = this.datapath.nowUs() + us;
    for (let left = us; left > 0; left = until - this.datapath.nowUs()) this.pending.push(...copyOut(this.datapath.receive(left)));
  }

  async released(): Promise<Buffer[]> {
    this.datapath.flush();
    return this.capture.take();
  }

  unknownVerdicts(): number {
    return this.datapath.counters.unknownVerdicts;
  }

  async close(): Promise<void> {
    this.datapath.close();
    this.injector.close();
    this.capture.close();
  }
}

before(() => {
  const outside = netnsOf('self');
  enterPrivateNetns(QUEUE);
  assert.notEqual(netnsOf('self'), outside, 'processes this test starts run in its own network namespace');
});

datapathContract('NfqueueDatapath', async () => new NfqueueHarness());

describe('NfqueueDatapath on a kernel queue', () => {
  let injector: Injector;
  let capture: Capture;
  before(() => {
    injector = new Injector();
    capture = new Capture();
  });
  after(() => {
    injector?.close();
    capture?.close();
  });

  it('delivers the kernel packet ids as handles, with link, direction, mark and a monotonic arrival time', () => {
    const dp = open();
    try {
      const t0 = dp.nowUs();
      injector.inject([udp(100), udp(101)]);
      const got = receiveN(dp, 2);
      assert.equal(got.length, 2);
      assert.equal(got[1].handle, got[0].handle + 1, 'the kernel numbers a queue\'s packets consecutively');
      for (const p of got) {
        assert.equal(p.link, 0);
        assert.equal(p.direction, Direction.EGRESS);
        assert.ok(p.arrivalUs >= t0 && p.arrivalUs <= dp.nowUs());
      }
      assert.equal(dp.counters.received, 2);
      assert.equal(dp.heldCount, 2);
      for (const p of got) dp.accept(p.handle);
      dp.flush();
      assert.equal(capture.take().length, 2);
      assert.equal(dp.heldCount, 0);
    } finally {
      dp.close();
    }
  });

  it('sends many verdicts in one send(), and counts accepts and drops', () => {
    const dp = open();
    try {
      const sent: Buffer[] = [];
      for (let i = 0; i < 40; i++) sent.push(udp(200 + i));
      injector.inject(sent);
      const got = receiveN(dp, 40);
      assert.equal(got.length, 40);
      const sendsBefore = dp.counters.sends;
      for (let i = 0; i < got.length; i++) {
        if (i % 4 === 0) dp.drop(got[i].handle);
        else dp.accept(got[i].handle);
      }
      dp.flush();
      assert.equal(dp.counters.sends - sendsBefore, 1, 'forty verdicts, one send');
      assert.equal(dp.counters.accepted, 30);
      assert.equal(dp.counters.dropped, 10);
      assert.equal(dp.counters.sendErrors, 0);
      assert.equal(capture.take().length, 30);
      assert.equal(dp.counters.kernelErrors, 0, 'the kernel accepted every verdict');
    } finally {
      dp.close();
    }
  });

  it('accepts of the oldest held packets go out as one batch verdict; a packet held back keeps its place', () => {
    const dp = open();
    try {
      injector.inject(Array.from({ length: 30 }, (_, i) => udp(300 + i)));
      const got = receiveN(dp, 30);
      assert.equal(got.length, 30);
      const before = { ...dp.counters };
      // Hold back the 11th; accept the first ten, then the rest out of order, then drop one.
      for (let i = 0; i < 10; i++) dp.accept(got[i].handle);
      for (let i = 29; i >= 12; i--) dp.accept(got[i].handle);
      dp.drop(got[11].handle);
      dp.flush();
      assert.equal(dp.counters.batchVerdicts - before.batchVerdicts, 1, 'the first ten went as one batch verdict');
      assert.equal(dp.counters.sends - before.sends, 1);
      assert.equal(capture.take().length, 28, 'every accepted packet arrived, the dropped and the held one did not');
      assert.equal(dp.heldCount, 1);
      // Accepting the one held back frees the head again: the next run is a batch as well.
      dp.accept(got[10].handle);
      injector.inject(Array.from({ length: 5 }, (_, i) => udp(400 + i)));
      const more = receiveN(dp, 5);
      for (const p of more) dp.accept(p.handle);
      dp.flush();
      assert.equal(dp.counters.batchVerdicts - before.batchVerdicts, 2);
      assert.equal(capture.take().length, 6);
      assert.equal(dp.heldCount, 0);
      assert.equal(dp.counters.kernelErrors, 0, 'the kernel accepted every verdict');
    } finally {
      dp.close();
    }
  });

  it('with fail-open, a full queue lets the excess pass; fail-closed drops it', () => {
    for (const failOpen of [true, false]) {
      const dp = open({ maxlenPackets: 4, failOpen });
      try {
        const sent: Buffer[] = [];
        for (let i = 0; i < 10; i++) sent.push(udp(300 + i));
        injector.inject(sent);
        assert.equal(capture.take().length, failOpen ? 6 : 0, `failOpen ${failOpen}: packets beyond maxlen`);
        const got = receiveN(dp, 4);
        assert.equal(got.length, 4);
        for (const p of got) dp.accept(p.handle);
        dp.flush();
        assert.equal(capture.take().length, 4);
      } finally {
        dp.close();
      }
    }
  });

  it('close() releases held packets (fail-open), and with the queue unbound --queue-bypass lets traffic through', () => {
    const dp = open();
    injector.inject([udp(400), udp(401), udp(402)]);
    assert.equal(receiveN(dp, 3).length, 3);
    assert.equal(capture.take().length, 0, 'held, not released');
    dp.close();
    assert.equal(capture.take().length, 3, 'held packets accepted on close');
    injector.inject([udp(403), udp(404)]);
    assert.equal(capture.take().length, 2, 'no datapath bound: the rule bypasses the queue');
  });

  it('a second datapath on a held queue fails with one clear line', () => {
    const dp = open();
    try {
      assert.throws(() => open(), { message: /^queue 7: bind not permitted: another process may hold queue 7/ });
    } finally {
      dp.close();
    }
  });

  it('holds a packet larger than a slot and releases it rewritten in place', () => {
    const dp = open({ slotBytes: 256 });
    try {
      const big = udp(500, 3000);
      injector.inject([big, udp(501, 50)]);
      const got = receiveN(dp, 2);
      assert.equal(got.length, 2);
      const p = got.find((g) => g.bytes.length === big.length)!;
      assert.ok(p.bytes.equals(big));
      p.inPlace[big.length - 1] = 0x5a;
      dp.acceptRewritten(p.handle);
      dp.accept(got.find((g) => g !== p)!.handle);
      dp.flush();
      const out = capture.take();
      assert.equal(out.length, 2);
      const outBig = out.find((b) => b.length === big.length)!;
      assert.equal(outBig[big.length - 1], 0x5a);
      assert.ok(outBig.subarray(0, big.length - 1).equals(big.subarray(0, big.length - 1)));
      assert.equal(dp.counters.rewritten, 1);
    } finally {
      dp.close();
    }
  });

  it('lets packets the classifier returns null for go at once, never delivering them', () => {
    const hooks: number[] = [];
    const dp = open({
      classify: (hook) => {
        hooks.push(hook);
        return null;
      },
    });
    try {
      injector.inject([udp(600), udp(601)]);
      const deadline = Date.now() + 300;
      let delivered = 0;
      while (Date.now() < deadline && dp.counters.received < 2) delivered += dp.receive(50_000).count;
      dp.flush();
      assert.equal(delivered, 0);
      assert.equal(dp.counters.unclassified, 2);
      assert.deepEqual(hooks, [NF_INET_PRE_ROUTING, NF_INET_PRE_ROUTING]);
      assert.equal(capture.take().length, 2);
    } finally {
      dp.close();
    }
  });

  it('receive() sleeps its timeout on an idle queue and wakes for a packet before it', () => {
    const dp = open();
    try {
      let t = dp.nowUs();
      assert.equal(dp.receive(3000).count, 0);
      const idleUs = dp.nowUs() - t;
      assert.ok(idleUs >= 2900 && idleUs < 100_000, `slept ${idleUs} µs`);
      t = dp.nowUs();
      injector.inject([udp(700)]);
      const b = dp.receive(1_000_000);
      const wokeUs = dp.nowUs() - t;
      assert.equal(b.count, 1);
      assert.ok(wokeUs < 200_000, `woke after ${wokeUs} µs, not for the packet`);
      dp.drop(b.handles[0]);
    } finally {
      dp.close();
    }
  });

  it('counts, not throws, the kernel\'s error for a verdict on a packet it already dropped (its interface went down)', () => {
    const dp = open();
    try {
      injector.inject([udp(800)]);
      const [p] = receiveN(dp, 1);
      assert.ok(p);
      runIp(['link', 'set', 'lo', 'down']);
      runIp(['link', 'set', 'lo', 'up']);
      dp.accept(p.handle);
      dp.flush();
      assert.equal(dp.receive(100_000).count, 0);
      assert.equal(dp.counters.kernelErrors, 1);
      assert.equal(dp.counters.lastKernelErrno, ENOENT);
      assert.equal(dp.counters.sendErrors, 0);
    } finally {
      dp.close();
    }
  });
});
