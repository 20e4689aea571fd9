import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/control/load.js';
import { resolveLinks } from '../../src/control/resolve.js';
import { Direction } from '../../src/datapath/types.js';
import { batchOf, engineFor, RecordingDatapath } from './helpers.js';
import { buildPacket, type PacketSpec } from '../../src/packet/build.js';
import { parsePacket } from '../../src/packet/parse.js';
import { PacketInfo, Proto, TcpFlag } from '../../src/packet/types.js';

const CONFIG = `
links:
  - interface: eth0
    egress: 1mbit
classes:
  interactive:
    rate: 200kbit
    prio: 0
    match: proto == "icmp" or tcp.syn
    set_dscp: EF
  web:
    rate: 500kbit
    prio: 2
    match: rport in [80, 443]
  default:
    rate: 300kbit
`;

const web = (over: Partial<PacketSpec> = {}): PacketSpec => ({
  ipVersion: 4,
  src: '192.168.1.10',
  dst: '203.0.113.5',
  proto: Proto.TCP,
  sport: 40000,
  dport: 443,
  payloadBytes: 1000,
  ...over,
});

test('packets are classified, shaped to the link and released in full with their verdicts', () => {
  const dp = new RecordingDatapath();
  const engine = engineFor(CONFIG, dp);
  const packets = Array.from({ length: 50 }, (_, i) => ({ handle: i + 1, buf: buildPacket(web()) }));
  engine.receive(batchOf(packets));
  let t = 0;
  let last = 0;
  while (dp.accepted.length + dp.droppedHandles.length < 50 && t < 10e6) {
    last = t;
    t = engine.pump(t);
  }
  assert.equal(dp.accepted.length + dp.droppedHandles.length, 50, 'every packet got a verdict');
  assert.equal(t, Infinity, 'nothing left to wake for');
  const st = engine.stats(last);
  const webStats = st.links[0].directions[0].classes.find((c) => c.path === 'web')!;
  assert.equal(webStats.sentPackets, dp.accepted.length);
  // Packets of 1040 bytes leave at 1 mbit/s (8.32 ms each) after a burst of a few packets; CoDel
  // may drop some of a backlog that waited this long.
  const paced = (dp.accepted.length - 1) * 8320;
  assert.ok(last <= paced && last > paced - 5 * 8320, `last release at ${last} us, ${dp.accepted.length} sent`);
});

test('a SYN of a web flow goes to interactive and is rewritten to DSCP EF; its data stays in web', () => {
  const dp = new RecordingDatapath();
  const engine = engineFor(CONFIG, dp);
  const syn = buildPacket(web({ tcpFlags: TcpFlag.SYN, payloadBytes: 0 }));
  engine.receive(
    batchOf([
      { handle: 1, buf: syn },
      { handle: 2, buf: buildPacket(web()) },
    ]),
  );
  engine.pump(0);
  const st = engine.stats(0).links[0].directions[0].classes;
  assert.equal(st.find((c) => c.path === 'interactive')!.sentPackets, 1);
  assert.equal(st.find((c) => c.path === 'web')!.sentPackets, 1);
  assert.ok(dp.rewritten.has(1), 'the SYN was released as rewritten');
  const info = new PacketInfo();
  assert.ok(parsePacket(syn, 0, syn.length, info));
  assert.equal(info.dscp, 46);
  assert.equal(dp.rewritten.has(2), false, 'web packets are not rewritten');
});

test('unparsable packets and packets of an unshaped direction are accepted at once and counted', () => {
  const dp = new RecordingDatapath();
  const engine = engineFor(CONFIG, dp);
  engine.receive(
    batchOf([
      { handle: 7, buf: Buffer.from([0x45, 0, 0]) },
      { handle: 8, buf: buildPacket(web()), dir: Direction.INGRESS },
    ]),
  );
  assert.deepEqual(dp.accepted, [7, 8]);
  const st = engine.stats(0);
  assert.equal(st.unparsable, 1);
  assert.equal(st.unshaped, 1);
  assert.ok(dp.flushes > 0);
});

test('a reload keeps queued packets and moves those of a removed class to default', () => {
  const dp = new RecordingDatapath();
  const engine = engineFor(CONFIG, dp);
  const packets = Array.from({ length: 20 }, (_, i) => ({ handle: 100 + i, buf: buildPacket(web({ sport: 40000 + (i % 2) })) }));
  engine.receive(batchOf(packets));
  const queued = engine.queuedPackets;
  assert.ok(queued > 0);
  const r = parseConfigText(CONFIG.replace(/  web:\n    rate: 500kbit\n    prio: 2\n    match: rport in \[80, 443\]\n/, ''), 'new.yaml');
  assert.ok(r.ok);
  engine.reload(resolveLinks(r.config), 0);
  assert.equal(engine.queuedPackets, queued, 'nothing lost across the reload');
  let t = 0;
  while (engine.queuedPackets > 0 && t < 10e6) t = engine.pump(t);
  assert.equal(dp.accepted.length + dp.droppedHandles.length, 20);
  const def = engine.stats(t).links[0].directions[0].classes.find((c) => c.path === 'default')!;
  assert.ok(def.sentPackets >= queued - 1, 'the backlog went out through default');
});

test('a rule on flow counters sees them: a flow moves to bulk once it has carried more than 3 packets', () => {
  const dp = new RecordingDatapath();
  const engine = engineFor(
    `
links:
  - interface: eth0
    egress: 100mbit
classes:
  bulk:
    rate: 50mbit
    match: flow.packets > 3
  default:
    rate: 50mbit
`,
    dp,
  );
  engine.receive(batchOf(Array.from({ length: 6 }, (_, i) => ({ handle: i + 1, buf: buildPacket(web()) }))));
  engine.pump(0);
  const st = engine.stats(0).links[0].directions[0].classes;
  assert.equal(st.find((c) => c.path === 'default')!.sentPackets, 3, 'packets 1..3 see flow.packets 1..3 (the packet itself counted)');
  assert.equal(st.find((c) => c.path === 'bulk')!.sentPackets, 3);
});
