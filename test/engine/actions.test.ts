/**
 * Class actions in the engine: `set_mark: value/mask` changes only the mask bits of the mark a packet
 * arrived with (a VPN's or container's bits survive); `drop: true` drops a class's packets on arrival
 * and counts them (the snapshot's drops.action, kept across a reload); children inherit both; the configuration refuses a
 * value outside its mask, in place.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/control/load.js';
import { resolveLinks } from '../../src/control/resolve.js';
import type { Datapath } from '../../src/datapath/types.js';
import { SnapshotBuilder } from '../../src/engine/snapshot.js';
import { buildPacket } from '../../src/packet/build.js';
import { Proto } from '../../src/packet/types.js';
import { batchOf, engineFor } from './helpers.js';

const CONFIG = `
links:
  - interface: eth0
    egress: 10mbit
classes:
  vpn:
    rate: 5mbit
    set_mark: 0x10/0xf0
    match: rport == 1194
  blocked:
    rate: 1mbit
    drop: true
    match: rport == 6666
    classes:
      inner:
        rate: 500kbit
        match: lport == 1000
  default:
    rate: 4mbit
`;

class MarkRecorder implements Datapath {
  accepted = new Map<number, number | undefined>();
  dropped: number[] = [];
  accept(handle: number, mark?: number): void {
    this.accepted.set(handle, mark);
  }
  acceptRewritten(handle: number, mark?: number): void {
    this.accepted.set(handle, mark);
  }
  drop(handle: number): void {
    this.dropped.push(handle);
  }
  flush(): void {}
}

const udp = (sport: number, dport: number): Buffer =>
  buildPacket({ ipVersion: 4, proto: Proto.UDP, src: '192.168.1.10', dst: '203.0.113.5', sport, dport, payloadBytes: 100 });

test('set_mark changes only the mask bits of the arriving mark; other classes keep their mark', () => {
  const dp = new MarkRecorder();
  const engine = engineFor(CONFIG, dp);
  const batch = batchOf([{ handle: 1, buf: udp(5000, 1194) }, { handle: 2, buf: udp(5001, 80) }]);
  batch.marks[0] = 0x0000_0f0f;
  batch.marks[1] = 0x0000_0f0f;
  engine.receive(batch);
  engine.pump(0);
  assert.equal(dp.accepted.get(1), 0x0000_0f1f, 'bits 4-7 set to 1, the rest kept');
  assert.equal(dp.accepted.get(2), undefined, 'no mark for a class without set_mark');
});

test('a drop class drops on arrival, its children inherit it, and the drops are counted', () => {
  const dp = new MarkRecorder();
  const engine = engineFor(CONFIG, dp);
  const snapshots = new SnapshotBuilder(engine);
  engine.receive(batchOf([{ handle: 1, buf: udp(2000, 6666) }, { handle: 2, buf: udp(1000, 6666) }, { handle: 3, buf: udp(2000, 80) }]));
  assert.deepEqual(dp.dropped, [1, 2], 'dropped at once, without queueing');
  engine.pump(0);
  assert.deepEqual([...dp.accepted.keys()], [3]);
  const classes = snapshots.build(0).classes;
  assert.equal(classes.find((c) => c.path === 'blocked/default')?.drops.action, 1);
  assert.equal(classes.find((c) => c.path === 'blocked/inner')?.drops.action, 1);
  assert.equal(classes.find((c) => c.path === 'default')?.drops.action, 0);
  // The count is the scheduler's, so a reload keeps it like every other drop count.
  const again = parseConfigText(CONFIG.replace('rate: 4mbit', 'rate: 3mbit'), 'again.yaml');
  assert.ok(again.ok);
  engine.reload(resolveLinks(again.config), 1);
  assert.equal(snapshots.build(1).classes.find((c) => c.path === 'blocked/inner')?.drops.action, 1);
});

test('a mark value outside its mask, or not a mark, is a located configuration error', () => {
  const outside = parseConfigText(CONFIG.replace('0x10/0xf0', '0x110/0xf0'), 'm.yaml');
  assert.ok(!outside.ok);
  assert.match(outside.problems[0].message, /sets bits outside its mask/);
  assert.equal(outside.problems[0].line, 8);
  const junk = parseConfigText(CONFIG.replace('0x10/0xf0', 'purple'), 'm.yaml');
  assert.ok(!junk.ok);
  assert.match(junk.problems[0].message, /is not a mark/);
});
