/**
 * /proc/net/netfilter/nfnetlink_queue read into records: lines in the kernel's format parsed field by
 * field, then (root) a queue bound by NfqueueDatapath in a private network namespace
 * (../nfqueue-netns.ts) shows up with its socket's port id, the packets it holds, the ones the kernel
 * dropped at its maxlen, and disappears once unbound.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Direction } from '../../../src/datapath/types.js';
import { NfqueueDatapath, type PacketPlace } from '../../../src/datapath/nfqueue/datapath.js';
import { NFQNL_COPY_PACKET } from '../../../src/datapath/nfqueue/constants.js';
import { parseQueueStats, readQueueStats } from '../../../src/datapath/nfqueue/proc-stats.js';
import { buildPacket } from '../../../src/packet/build.js';
import { Proto } from '../../../src/packet/types.js';
import { DST_ADDRESS, DST_PORT, enterPrivateNetns, Injector } from '../nfqueue-netns.js';

/** Two queues as seq_show() prints them ("%5u %6u %5u %1u %5u %5u %5u %8u %2d"). */
const SAMPLE = [
  '    0   4021     0 2 65535     0     0        0  1',
  '   42 3221225473    17 1   128     5     3   123456  1',
  '',
].join('\n');

describe('parseQueueStats and readQueueStats on text', () => {
  it('reads every field of every line in the kernel\'s order', () => {
    assert.deepEqual(parseQueueStats(SAMPLE), [
      { queueNum: 0, peerPortId: 4021, queueTotal: 0, copyMode: 2, copyRangeBytes: 65535, queueDropped: 0, userDropped: 0, idSequence: 0 },
      { queueNum: 42, peerPortId: 3221225473, queueTotal: 17, copyMode: 1, copyRangeBytes: 128, queueDropped: 5, userDropped: 3, idSequence: 123456 },
    ]);
  });

  it('picks the queue asked for, and null when it has no line', () => {
    assert.equal(readQueueStats(42, SAMPLE)?.userDropped, 3);
    assert.equal(readQueueStats(0, SAMPLE)?.peerPortId, 4021);
    assert.equal(readQueueStats(7, SAMPLE), null);
    assert.equal(readQueueStats(0, ''), null, 'no queue bound: an empty file');
  });

  it('reads a port id an older kernel printed as a negative %d back as the uint32 it is', () => {
    assert.equal(readQueueStats(3, '    3 -1073741823     0 2 65535     0     0        0  1\n')?.peerPortId, 3221225473);
  });

  it('refuses a line not in the kernel\'s format, naming it', () => {
    assert.throws(() => parseQueueStats(`${SAMPLE}    5   100     0 2 65535     0     0\n`), /line 3 is not 9 integers.*"5   100/);
    assert.throws(() => parseQueueStats('    5   100     0 2 65535     0     x        0  1'), /line 1 is not 9 integers/);
  });
});

/** The port id of this process's one NETLINK_NETFILTER socket, from its fds' inodes and /proc/net/netlink. */
function netfilterPortIdOfThisProcess(): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // the fd readdir itself used, already closed
    }
  }
  // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
  const ours = readFileSync('/proc/net/netlink', 'utf8').split('\n').slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 10 && f[1] === '12' && inodes.has(f[9]));
  assert.equal(ours.length, 1, 'this process has one netfilter netlink socket: the datapath\'s');
  return Number(ours[0][2]);
}

it('a queue bound in this network namespace shows its port id, held packets and maxlen drops (fail-closed only), then goes', () => {
  assert.equal(process.getuid?.(), 0, 'the /proc nfnetlink_queue test needs root (a network namespace and a netfilter queue): run it as root, as CI does');
  const queueNum = 2000 + (process.pid % 20000);
  enterPrivateNetns(queueNum);
  assert.equal(readQueueStats(queueNum), null, 'nothing bound yet');
  const place: PacketPlace = { link: 0, direction: Direction.EGRESS };
  const dp = NfqueueDatapath.open({ queueNum, maxlenPackets: 4, failOpen: false, classify: () => place });
  const injector = new Injector();
  try {
    const bound = readQueueStats(queueNum);
    assert.ok(bound, 'the bound queue has a line');
    assert.equal(bound.peerPortId, netfilterPortIdOfThisProcess());
    assert.equal(bound.copyMode, NFQNL_COPY_PACKET);
    assert.equal(bound.copyRangeBytes, 65535 - 4, 'the 65535 asked for, clamped by the kernel to 0xffff - NLA_HDRLEN');
    assert.deepEqual([bound.queueTotal, bound.queueDropped, bound.userDropped, bound.idSequence], [0, 0, 0, 0]);

    const packets: Buffer[] = [];
    for (let i = 0; i < 6; i++) {
      packets.push(buildPacket({ ipVersion: 4, proto: Proto.UDP, src: '192.0.2.10', dst: DST_ADDRESS, sport: 900 + i, dport: DST_PORT, payloadBytes: 64 }));
    }
    injector.inject(packets);
    const handles: number[] = [];
    const deadline = Date.now() + 2000;
    while (handles.length < 4 && Date.now() < deadline) {
      const b = dp.receive(50_000);
      for (let i = 0; i < b.count; i++) handles.push(b.handles[i]);
    }
    assert.equal(handles.length, 4);
    const full = readQueueStats(queueNum);
    assert.ok(full);
    assert.equal(full.queueTotal, 4, 'four packets held at maxlen 4');
    assert.equal(full.queueDropped, 2, 'the two beyond maxlen dropped (fail-closed)');
    assert.equal(full.userDropped, 0);
    assert.equal(full.idSequence, 4, 'ids 1..4 handed out; dropped packets take none');

    for (const h of handles) dp.accept(h);
    dp.flush();
    assert.equal(readQueueStats(queueNum)?.queueTotal, 0, 'verdicts release what the queue held');
  } finally {
    dp.close();
    injector.close();
  }
  assert.equal(readQueueStats(queueNum), null, 'unbound: the line is gone');

  // Fail-open: the kernel passes what finds the queue full and counts none of it.
  const open = NfqueueDatapath.open({ queueNum, maxlenPackets: 2, failOpen: true, classify: () => place });
  const injector2 = new Injector();
  try {
    injector2.inject([0, 1, 2, 3, 4].map((i) => buildPacket({ ipVersion: 4, proto: Proto.UDP, src: '192.0.2.10', dst: DST_ADDRESS, sport: 950 + i, dport: DST_PORT, payloadBytes: 64 })));
    const deadline = Date.now() + 2000;
    while (open.heldCount < 2 && Date.now() < deadline) open.receive(50_000);
    const s = readQueueStats(queueNum);
    assert.ok(s);
    assert.deepEqual([s.queueTotal, s.queueDropped, s.userDropped, s.idSequence], [2, 0, 0, 2], 'three passed unqueued, uncounted');
  } finally {
    open.close();
    injector2.close();
  }
});
