/**
 * SocketOwnerIndex over a fake /proc with a fake clock: an inode is found and then hit without a
 * scan; a new process is found by scanning only the new pids; a socket a known process opens later
 * waits for the rate-limited full rescan; a process that exits or closes the socket is "not found",
 * never an exception; the naive full scan agrees.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanProcForInode, SocketOwnerIndex } from '../../src/host/socket-owners.js';
import { FakeProc } from './fake-proc.js';

const proc = new FakeProc();
after(() => proc.destroy());

function setup(): { index: SocketOwnerIndex; clock: { nowUs: number } } {
  for (const pid of [100, 200, 300, 400]) proc.remove(pid);
  proc.add(100, { uid: 1000, sockets: { 3: 5001, 4: 5002 } });
  proc.add(200, { uid: 0, sockets: { 5: 6001 } });
  const clock = { nowUs: 1_000_000 };
  const index = new SocketOwnerIndex({ procRoot: proc.root, fullScanIntervalUs: 250_000, nowUs: () => clock.nowUs });
  return { index, clock };
}

test('the first lookup indexes /proc; the next ones hit without reading any fd table', () => {
  const { index } = setup();
  assert.equal(index.find(5002, 1000), 100);
  assert.equal(index.knownPids, 2);
  const scans = index.stats.pidScans;
  assert.equal(index.find(6001, 0), 200);
  assert.equal(index.find(5001, 1000), 100);
  assert.equal(index.stats.pidScans, scans);
  assert.equal(index.stats.hits, 2);
});

test('a process that appears later is found by scanning only the new pids, without a full rescan', () => {
  const { index } = setup();
  index.find(5001, 1000);
  proc.add(300, { uid: 1000, sockets: { 7: 7001 } });
  const scans = index.stats.pidScans;
  const full = index.stats.fullScans;
  assert.equal(index.find(7001, 1000), 300);
  assert.equal(index.stats.pidScans, scans + 1, 'only pid 300 was read');
  assert.equal(index.stats.fullScans, full);
});

test('a socket a known process opens later is found by a full rescan, at most one per interval', () => {
  const { index, clock } = setup();
  index.find(5001, 1000);
  proc.openSocket(100, 9, 8001);
  assert.equal(index.find(8001, 1000), -1, 'the first scan was a full one a moment ago: wait for the interval');
  clock.nowUs += 100_000;
  assert.equal(index.find(8001, 1000), -1, 'still inside the interval');
  const full = index.stats.fullScans;
  clock.nowUs += 200_000;
  assert.equal(index.find(8001, 1000), 100);
  assert.equal(index.stats.fullScans, full + 1);
  assert.equal(index.find(9999, 1000), -1, 'an unknown inode right after: no second full scan');
  assert.equal(index.stats.fullScans, full + 1);
});

test('the socket\'s cgroup narrows the search: a known process\'s new socket is found at once, reading only that cgroup\'s processes', () => {
  const cgroupRoot = mkdtempSync(join(tmpdir(), 'sluice-cgroup-'));
  try {
    const scope = join(cgroupRoot, 'user.slice', 'session-2.scope');
    mkdirSync(scope, { recursive: true });
    writeFileSync(join(scope, 'cgroup.procs'), '100\n');
    writeFileSync(join(cgroupRoot, 'cgroup.procs'), '200\n');
    const clock = { nowUs: 1_000_000 };
    for (const pid of [100, 200, 300, 400]) proc.remove(pid);
    proc.add(100, { uid: 1000, sockets: { 3: 5001 } });
    proc.add(200, { uid: 0, sockets: { 5: 6001 } });
    const index = new SocketOwnerIndex({ procRoot: proc.root, cgroupRoot, fullScanIntervalUs: 250_000, nowUs: () => clock.nowUs });
    index.find(5001, 1000);
    proc.openSocket(100, 9, 8001);
    clock.nowUs += 300_000;
    const scans = index.stats.pidScans;
    const full = index.stats.fullScans;
    assert.equal(index.find(8001, 1000, statSync(scope).ino), 100);
    assert.equal(index.stats.pidScans, scans + 1, 'only the cgroup\'s one process was read');
    assert.equal(index.stats.fullScans, full, 'no full rescan');
    proc.openSocket(100, 10, 8002);
    assert.equal(index.find(8002, 1000, 999_999_999), 100, 'an unknown cgroup id: the full rescan (its interval is over) finds it');
    assert.equal(index.stats.fullScans, full + 1);
  } finally {
    rmSync(cgroupRoot, { recursive: true, force: true });
  }
});

test('uid narrows the full rescan: the socket owner\'s processes are read first', () => {
  const { index, clock } = setup();
  index.find(5001, 1000);
  proc.openSocket(100, 10, 8101);
  clock.nowUs += 300_000;
  const scans = index.stats.pidScans;
  assert.equal(index.find(8101, 1000), 100);
  assert.equal(index.stats.pidScans, scans + 1, 'pid 100 (uid 1000) was read, pid 200 (uid 0) was not');
});

test('a socket handed on, closed, or whose process exited: the stale entry is dropped, no throw', () => {
  const { index, clock } = setup();
  assert.equal(index.find(5001, 1000), 100);
  // The socket moves to a new process (fork, then the parent closes it).
  proc.add(400, { uid: 1000, sockets: { 3: 5001 } });
  proc.closeFd(100, 3);
  assert.equal(index.find(5001, 1000), 400);
  // The holder exits.
  proc.remove(400);
  clock.nowUs += 300_000;
  assert.equal(index.find(5001, 1000), -1);
  assert.equal(index.knownPids, 2, 'pid 400 is forgotten');
  // Inode 0: a socket no file holds.
  assert.equal(index.find(0, 1000), -1);
});

test('the naive full scan finds the same owner, and -1 for an unknown inode', () => {
  setup();
  assert.equal(scanProcForInode(6001, proc.root), 200);
  assert.equal(scanProcForInode(4242, proc.root), -1);
  assert.equal(scanProcForInode(1, '/nonexistent-proc'), -1);
});
