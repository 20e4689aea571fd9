/**
 * OwnerLookup end to end, in a private network namespace: the two ends of one TCP connection, held by
 * processes of two users, resolve to those processes (pid, uid, user, cmd, exe, args, cgroup); a UDP
 * socket too; a connection nobody holds is "not found" and a process that exited is "unknown", both
 * without throwing; a process's attributes are cached for processInfoTtlUs and no longer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, realpathSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { OwnerLookup } from '../../src/host/owner-lookup.js';
import { IPPROTO_TCP, IPPROTO_UDP, type SocketTuple } from '../../src/host/sock-diag.js';
import { parseAddress } from '../../src/packet/addr.js';
import { enterPrivateNetns, scripts, spawnHolder, stopAll, stopHolder } from './host-netns.js';

const LO4 = parseAddress('127.0.0.1') as Buffer;
let lookup: OwnerLookup;

function tcp4(localPort: number, remotePort: number): SocketTuple {
  return { family: 4, protocol: IPPROTO_TCP, localAddress: LO4, localPort, remoteAddress: LO4, remotePort };
}

before(() => {
  enterPrivateNetns();
  lookup = OwnerLookup.open();
});

after(async () => {
  lookup?.close();
  await stopAll();
});

test('each end of a TCP connection resolves to its own process and user', async () => {
  const server = await spawnHolder('sluice-srv', 65534, scripts.tcpServer('127.0.0.1'));
  const client = await spawnHolder('sluice-cli', 65533, scripts.tcpClient('127.0.0.1', server.ready.port));
  const node = realpathSync(process.execPath);

  const c = lookup.resolve(tcp4(client.ready.port, server.ready.port));
  assert.equal(c.found, true);
  assert.equal(c.known, true);
  assert.equal(c.pid, client.pid);
  assert.equal(c.uid, 65533);
  assert.equal(c.gid, 65533);
  assert.equal(c.user, '', 'uid 65533 has no passwd entry');
  assert.equal(c.cmd, 'sluice-cli', 'cmd is argv[0]\'s base name');
  assert.equal(c.exe, node, 'exe is the resolved binary');
  assert.equal(c.argv[1], '-e');
  assert.ok(c.args.startsWith('-e '));
  const v2 = /^0::(.*)$/m.exec(readFileSync(`/proc/${client.pid}/cgroup`, 'utf8'));
  assert.equal(c.cgroup, v2 === null ? '' : v2[1]);
  assert.ok(c.inode > 0);

  const s = lookup.resolve(tcp4(server.ready.port, client.ready.port));
  assert.equal(s.known, true);
  assert.equal(s.pid, server.pid);
  assert.equal(s.uid, 65534);
  assert.equal(s.user, 'nobody');
  assert.equal(s.cmd, 'sluice-srv');
  assert.notEqual(s.inode, c.inode);
  assert.ok(lookup.index.stats.hits + lookup.index.stats.misses >= 2);
});

test('a UDP socket resolves to its process; an index hit needs no scan', async () => {
  const bound = await spawnHolder('sluice-udp', 65534, scripts.udpBound('127.0.0.1'));
  const t: SocketTuple = { family: 4, protocol: IPPROTO_UDP, localAddress: LO4, localPort: bound.ready.port, remoteAddress: LO4, remotePort: 999 };
  const first = lookup.resolve(t);
  assert.equal(first.pid, bound.pid);
  assert.equal(first.cmd, 'sluice-udp');
  const scans = lookup.index.stats.pidScans;
  const hits = lookup.index.stats.hits;
  const again = lookup.resolve(t);
  assert.equal(again.pid, bound.pid);
  assert.equal(lookup.index.stats.pidScans, scans, 'the second lookup read no fd table');
  assert.equal(lookup.index.stats.hits, hits + 1);
});

test('a connection nobody holds is not found; a process that exited is unknown; neither throws', async () => {
  const start = performance.now();
  const none = lookup.resolve(tcp4(1, 2));
  assert.ok(performance.now() - start < 100, 'not found without scanning /proc');
  assert.deepEqual([none.found, none.known, none.pid, none.cmd], [false, false, -1, '']);

  const server = await spawnHolder('sluice-gone', 65534, scripts.tcpServer('127.0.0.1'));
  const client = await spawnHolder('sluice-gone-c', 65533, scripts.tcpClient('127.0.0.1', server.ready.port));
  const t = tcp4(client.ready.port, server.ready.port);
  assert.equal(lookup.resolve(t).pid, client.pid, 'known while it runs (and now in the index)');
  await stopHolder(client);
  const gone = lookup.resolve(t);
  assert.equal(gone.known, false);
  assert.equal(gone.pid, -1);
  assert.equal(gone.cmd, '');
  if (gone.found) assert.equal(gone.inode, 0, 'a closed socket no file holds (FIN_WAIT / TIME_WAIT) has inode 0');
  assert.equal(lookup.index.find(1_234_567_890, 65533), -1, 'an inode no process holds');
});

test('a process\'s attributes are reused for processInfoTtlUs, then read again', async () => {
  const clock = { nowUs: 0 };
  const cached = OwnerLookup.open({ processInfoTtlUs: 1_000_000, nowUs: () => clock.nowUs });
  try {
    const rename = `process.on('SIGUSR2',()=>{process.title='sluice-renamed';console.log('{}')});`;
    const server = await spawnHolder('sluice-ttl', 65534, rename + scripts.tcpServer('127.0.0.1'));
    const client = await spawnHolder('sluice-ttl-c', 65533, scripts.tcpClient('127.0.0.1', server.ready.port));
    const t = tcp4(server.ready.port, client.ready.port);
    // The client is connected before the server has accept()ed: wait until the socket is in its fds,
    // moving the fake clock past the index's full-rescan interval between tries.
    for (const deadline = Date.now() + 3000; !cached.resolve(t).known && Date.now() < deadline;) {
      clock.nowUs += 300_000;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(cached.resolve(t).cmd, 'sluice-ttl');
    const renamed = new Promise<void>((resolve) => createInterface({ input: server.child.stdout! }).once('line', () => resolve()));
    server.child.kill('SIGUSR2');
    await renamed;
    assert.equal(lookup.resolve(t).cmd, 'sluice-renamed', 'a lookup that has not cached the process sees the new name');
    clock.nowUs += 500_000;
    assert.equal(cached.resolve(t).cmd, 'sluice-ttl', 'within the TTL: the cached attributes');
    clock.nowUs += 600_000;
    assert.equal(cached.resolve(t).cmd, 'sluice-renamed', 'after it: read again');
  } finally {
    cached.close();
  }
});
