/**
 * What the engine tells rules about a packet beside its headers: the firewall mark it arrived with,
 * and the interfaces it came in and goes out by — the link's own interface on its side, the other
 * from the datapath's interface index and the edge's table of names ('' when this host sent or
 * receives it). Each class sets a mark, so a packet's class is read off its verdict.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Direction } from '../../src/datapath/types.js';
import { buildPacket } from '../../src/packet/build.js';
import { Proto } from '../../src/packet/types.js';
import { batchOf, engineFor, RecordingDatapath } from './helpers.js';

const CONFIG = `
links:
  - interface: eth0
    egress: 1gbit
    ingress: 1gbit
classes:
  from_lan:
    rate: 100mbit
    set_mark: 0x100/0xf00
    match: iif == "lan0" and oif == "eth0"
  to_lan:
    rate: 100mbit
    set_mark: 0x200/0xf00
    match: iif == "eth0" and oif ~ "^lan"
  local:
    rate: 100mbit
    set_mark: 0x300/0xf00
    match: iif == "" or oif == ""
  default:
    rate: 100mbit
    set_mark: 0x900/0xf00
`;
const NAMES: string[] = [];
NAMES[2] = 'eth0';
NAMES[5] = 'lan0';

const udp = (): Buffer => buildPacket({ ipVersion: 4, proto: Proto.UDP, src: '192.168.1.10', dst: '203.0.113.5', sport: 5000, dport: 5001, payloadBytes: 10 });

test('iif and oif: the link\'s interface on its side, the other by index; "" for this host\'s own traffic', () => {
  const dp = new RecordingDatapath();
  const engine = engineFor(CONFIG, dp, { interfaceNames: NAMES });
  engine.receive(batchOf([
    { handle: 1, buf: udp(), dir: Direction.EGRESS, inIfindex: 5, outIfindex: 2 },
    { handle: 2, buf: udp(), dir: Direction.INGRESS, inIfindex: 2, outIfindex: 5 },
    { handle: 3, buf: udp(), dir: Direction.EGRESS, outIfindex: 2 },
    { handle: 4, buf: udp(), dir: Direction.INGRESS, inIfindex: 2 },
    { handle: 5, buf: udp(), dir: Direction.EGRESS, inIfindex: 9, outIfindex: 2 },
  ]));
  engine.pump(1000);
  const classOf = (h: number): number | undefined => (dp.marks.get(h) ?? 0) >> 8;
  assert.deepEqual([1, 2, 3, 4, 5].map(classOf), [1, 2, 3, 3, 9], 'an index missing from the table is "unknown": neither lan0 nor ""');
});

test('mark: the mark the packet arrived with, per packet', () => {
  const dp = new RecordingDatapath();
  const engine = engineFor(`
links:
  - interface: eth0
    egress: 1gbit
classes:
  vpn_marked:
    rate: 100mbit
    set_mark: 0x400/0xf00
    match: mark in [0x10, 0x11]
  default:
    rate: 100mbit
    set_mark: 0x900/0xf00
`, dp);
  const batch = batchOf([{ handle: 1, buf: udp() }, { handle: 2, buf: udp() }]);
  batch.marks[0] = 0x11;
  engine.receive(batch);
  engine.pump(1000);
  assert.equal(dp.marks.get(1), 0x411, 'vpn_marked, its own bits kept');
  assert.equal(dp.marks.get(2), 0x900);
});
