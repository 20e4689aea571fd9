/**
 * Who holds the queues sluice's rules feed: the queue numbers read from installed NFQUEUE rules, the
 * NETLINK_NETFILTER socket's inode read from /proc/net/netlink, and the holder found by pid, both
 * when its netlink port id is its pid and when it is not, over a fake /proc tree (the real one is
 * exercised by test/cli/cleanup.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findQueueHolders, netfilterSocketInode, queuesOf } from '../../../src/datapath/firewall/holders.js';

test('queuesOf reads --queue-num, every queue of --queue-balance, and a bare NFQUEUE as queue 0', () => {
  const rules = [
    '-A SLUICE-EGRESS -o lo -m comment --comment sluice -j RETURN',
    '-A SLUICE-EGRESS -m comment --comment sluice -j NFQUEUE --queue-num 7 --queue-bypass',
    '-A SLUICE-INGRESS -m comment --comment sluice -j NFQUEUE --queue-balance 2:4',
    '-A SLUICE-INGRESS -m comment --comment "sluice" -j NFQUEUE',
    '-A SLUICE-INGRESS -m comment --comment sluice -j NFQUEUE --queue-num 7',
  ];
  assert.deepEqual(queuesOf(rules), [0, 2, 3, 4, 7]);
  assert.deepEqual(queuesOf(['-A SLUICE-EGRESS -m mark --mark 0x58 -j RETURN']), []);
});

// Lines as the kernel prints them (6.18): queue, peer portid, queued, copy mode, range, dropped, user dropped, id seq, 1.
const QUEUE_TABLE = '    7   4321     3 2 65531     5     1     1234  1\n  301 4294963201     0 2 65531     0     0       17  1\n';
const NETLINK_TABLE = [
  'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode',
  '000000006b9ec713 0   4321       00000000 0        0        0     2        0        1111    ',
  '0000000026f37ffb 12  4321       00000000 0        0        0     2        0        5555    ',
  '0000000035a14b16 12  4294963201 00000000 0        0        0     2        0        6666    ',
  '',
].join('\n');

test('netfilterSocketInode finds the NETLINK_NETFILTER socket of a port id, not a socket of another protocol', () => {
  assert.equal(netfilterSocketInode(NETLINK_TABLE, 4321), 5555);
  assert.equal(netfilterSocketInode(NETLINK_TABLE, 4294963201), 6666);
  assert.equal(netfilterSocketInode(NETLINK_TABLE, 99), null);
});

test('findQueueHolders names the holding process, whether its port id is its pid or not, and only for the queues asked', async () => {
  const proc = mkdtempSync(join(tmpdir(), 'sluice-fake-proc-'));
  try {
    mkdirSync(join(proc, 'net', 'netfilter'), { recursive: true });
    writeFileSync(join(proc, 'net', 'netfilter', 'nfnetlink_queue'), QUEUE_TABLE);
    writeFileSync(join(proc, 'net', 'netlink'), NETLINK_TABLE);
    const proc4321 = join(proc, '4321');
    mkdirSync(join(proc4321, 'fd'), { recursive: true });
    symlinkSync('socket:[1111]', join(proc4321, 'fd', '3'));
    symlinkSync('socket:[5555]', join(proc4321, 'fd', '4'));
    writeFileSync(join(proc4321, 'comm'), 'node\n');
    // Port 4294963201 is not a pid: its socket belongs to process 977.
    mkdirSync(join(proc, '977', 'fd'), { recursive: true });
    symlinkSync('/dev/null', join(proc, '977', 'fd', '0'));
    symlinkSync('socket:[6666]', join(proc, '977', 'fd', '9'));
    writeFileSync(join(proc, '977', 'comm'), 'sluice-worker\n');

    assert.deepEqual(await findQueueHolders([7, 8], proc), [{ queueNum: 7, portid: 4321, pid: 4321, command: 'node' }]);
    assert.deepEqual(await findQueueHolders([301], proc), [{ queueNum: 301, portid: 4294963201, pid: 977, command: 'sluice-worker' }]);
    assert.deepEqual(await findQueueHolders([8, 300], proc), []);
    assert.deepEqual(await findQueueHolders([], proc), []);

    rmSync(join(proc, '977'), { recursive: true });
    assert.deepEqual(await findQueueHolders([301], proc), [{ queueNum: 301, portid: 4294963201, pid: null, command: null }], 'a holder whose process cannot be found is still a holder');
    writeFileSync(join(proc, 'net', 'netfilter', 'nfnetlink_queue'), 'garbage\n');
    await assert.rejects(findQueueHolders([7], proc), { name: 'FirewallError', message: /nfnetlink_queue line 1 is not 9 integers/ });
    rmSync(join(proc, 'net', 'netfilter'), { recursive: true });
    assert.deepEqual(await findQueueHolders([7], proc), [], 'no nfnetlink_queue table: nobody holds a queue');
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});
