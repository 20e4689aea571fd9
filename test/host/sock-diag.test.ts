/**
 * SockDiag against the real kernel, in a private network namespace: sockets held by child processes
 * of two users (65534 and 65533) are found by 5-tuple with the right uid and inode (checked against
 * the children's /proc/PID/fd; node also holds unix sockets, so "one of" its sockets), TCP over IPv4
 * and IPv6, UDP unconnected, connected and dual-stack; a dump lists them; a 5-tuple nobody holds is
 * "not found", fast; kernel errors become one clear line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { HostLookupError } from '../../src/host/errors.js';
import { IPPROTO_TCP, IPPROTO_UDP, SockDiag, SocketRecord, type SocketTuple } from '../../src/host/sock-diag.js';
import { parseAddress } from '../../src/packet/addr.js';
import { collectionsDuring } from '../support/gc.js';
import { enterPrivateNetns, eventually, scripts, spawnHolder, stopAll, type Holder } from './host-netns.js';

const LO4 = parseAddress('127.0.0.1') as Buffer;
const LO6 = parseAddress('::1') as Buffer;
const ANY4 = parseAddress('0.0.0.0') as Buffer;
const TCP_ESTABLISHED = 1;
const TCP_CLOSE = 7;
const TCP_LISTEN = 10;

let diag: SockDiag;

function socketInodes(pid: number): number[] {
  const out: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
    if (m !== null) out.push(Number(m[1]));
  }
  return out;
}

function tuple(family: 4 | 6, protocol: number, local: Buffer, localPort: number, remote: Buffer, remotePort: number): SocketTuple {
  return { family, protocol, localAddress: local, localPort, remoteAddress: remote, remotePort };
}

before(() => {
  enterPrivateNetns();
  diag = SockDiag.open();
});

after(async () => {
  diag?.close();
  await stopAll();
});

test('TCP over IPv4: each end of a connection and the listener are found with their own uid and inode', async () => {
  const server = await spawnHolder('sluice-srv', 65534, scripts.tcpServer('127.0.0.1'));
  const client = await spawnHolder('sluice-cli', 65533, scripts.tcpClient('127.0.0.1', server.ready.port));
  const sp = server.ready.port;
  const cp = client.ready.port;
  const rec = new SocketRecord();

  assert.equal(diag.lookup(tuple(4, IPPROTO_TCP, LO4, cp, LO4, sp), rec), true, 'client end found');
  assert.equal(rec.uid, 65533);
  assert.equal(rec.state, TCP_ESTABLISHED);
  assert.ok(socketInodes(client.pid).includes(rec.inode), 'the inode is one the client process holds');
  const clientInode = rec.inode;
  assert.equal(rec.localPort, cp);
  assert.equal(rec.remotePort, sp);
  assert.deepEqual([...rec.localAddress.subarray(0, 4)], [127, 0, 0, 1]);
  assert.ok(rec.cgroupId > 0, `cgroup id reported (got ${rec.cgroupId})`);

  assert.equal(diag.lookup(tuple(4, IPPROTO_TCP, LO4, sp, LO4, cp), rec), true, 'server end found');
  assert.equal(rec.uid, 65534);
  assert.equal(rec.state, TCP_ESTABLISHED);
  // The kernel completes the connection before the server accept()s it: wait for its fd to appear.
  const serverInodes = await eventually(() => socketInodes(server.pid), (inodes) => inodes.includes(rec.inode));
  assert.ok(serverInodes.includes(rec.inode) && !serverInodes.includes(clientInode), 'the server holds its end, not the client\'s');
  const acceptedInode = rec.inode;

  assert.equal(diag.lookup(tuple(4, IPPROTO_TCP, LO4, sp, ANY4, 0), rec), true, 'the listener, for an unknown peer');
  assert.equal(rec.state, TCP_LISTEN);
  assert.equal(rec.uid, 65534);
  assert.ok(serverInodes.includes(rec.inode) && rec.inode !== acceptedInode);

  const dump = diag.dump(4, IPPROTO_TCP);
  const mine = dump.filter((r) => r.localPort === sp || r.localPort === cp);
  assert.equal(mine.length, 3, 'the dump lists the listener and both ends');
  const held = [...serverInodes, ...socketInodes(client.pid)];
  assert.ok(mine.every((r) => held.includes(r.inode)), 'every dumped socket is one the children hold');
});

test('TCP over IPv6: the exact lookup takes 16-byte addresses', async () => {
  const server = await spawnHolder('sluice-srv6', 65534, scripts.tcpServer('::1'));
  const client = await spawnHolder('sluice-cli6', 65533, scripts.tcpClient('::1', server.ready.port));
  const rec = new SocketRecord();
  assert.equal(diag.lookup(tuple(6, IPPROTO_TCP, LO6, client.ready.port, LO6, server.ready.port), rec), true);
  assert.equal(rec.family, 6);
  assert.equal(rec.uid, 65533);
  assert.ok(socketInodes(client.pid).includes(rec.inode), 'the inode is one the process holds');
  assert.ok(diag.dump(6, IPPROTO_TCP).some((r) => r.inode === rec.inode), 'the IPv6 dump lists it');
  assert.equal(diag.dump(4, IPPROTO_TCP).some((r) => r.inode === rec.inode), false, 'the IPv4 dump does not');
});

test('UDP: an unconnected socket matches any remote; a connected one only its peer', async () => {
  const bound: Holder = await spawnHolder('sluice-udp', 65534, scripts.udpBound('127.0.0.1'));
  const peerPort = 40_000;
  const connected: Holder = await spawnHolder('sluice-udpc', 65533, scripts.udpConnected('127.0.0.1', peerPort));
  const rec = new SocketRecord();

  assert.equal(diag.lookup(tuple(4, IPPROTO_UDP, LO4, bound.ready.port, LO4, 12345), rec), true, 'unconnected socket found by its local end');
  assert.equal(rec.uid, 65534);
  assert.equal(rec.state, TCP_CLOSE);
  assert.ok(socketInodes(bound.pid).includes(rec.inode), 'the inode is one the process holds');

  assert.equal(diag.lookup(tuple(4, IPPROTO_UDP, LO4, connected.ready.port, LO4, peerPort), rec), true, 'connected socket found from its peer');
  assert.equal(rec.uid, 65533);
  assert.equal(rec.state, TCP_ESTABLISHED);
  assert.ok(socketInodes(connected.pid).includes(rec.inode), 'the inode is one the process holds');
  assert.equal(diag.lookup(tuple(4, IPPROTO_UDP, LO4, connected.ready.port, LO4, peerPort + 1), rec), false, 'not from another peer');

  assert.equal(diag.lookup(tuple(4, IPPROTO_UDP, LO4, 9, LO4, 12345), rec), false, 'a port nobody bound');
});

test('UDP: a dual-stack IPv6 socket is found by an IPv4 query; an exact miss is rechecked against a dump', async () => {
  const dual = await spawnHolder('sluice-udp6', 65534, scripts.udp6Bound('::'));
  const mapped = await spawnHolder('sluice-udp6m', 65533, scripts.udp6Bound('::ffff:127.0.0.1'));
  const rec = new SocketRecord();
  assert.equal(diag.lookup(tuple(4, IPPROTO_UDP, LO4, dual.ready.port, LO4, 5555), rec), true);
  assert.equal(rec.family, 6);
  assert.ok(socketInodes(dual.pid).includes(rec.inode));
  assert.equal(diag.lookup(tuple(4, IPPROTO_UDP, LO4, mapped.ready.port, LO4, 5555), rec), true, 'bound to ::ffff:127.0.0.1, asked as 127.0.0.1');
  assert.equal(rec.uid, 65533);
  assert.ok(socketInodes(mapped.pid).includes(rec.inode));
  const fallbacks = diag.fallbackDumps;
  assert.equal(diag.lookup(tuple(6, IPPROTO_UDP, LO6, mapped.ready.port, LO6, 5555), rec), false, 'not reachable at ::1');
  assert.equal(diag.fallbackDumps, fallbacks + 1, 'the exact miss was checked against a dump');
});

test('a 5-tuple nobody holds is not found, quickly, and leaves the record alone', () => {
  const rec = new SocketRecord();
  rec.inode = 4242;
  const t = tuple(4, IPPROTO_TCP, LO4, 1, LO4, 2);
  const start = performance.now();
  for (let i = 0; i < 200; i++) assert.equal(diag.lookup(t, rec), false);
  const perLookupUs = ((performance.now() - start) * 1000) / 200;
  assert.ok(perLookupUs < 2000, `a missing socket costs ${perLookupUs.toFixed(1)} µs per lookup`);
  assert.equal(rec.inode, 4242);
});

test('an exact lookup allocates nothing: 50 000 of them cause no garbage collection', async () => {
  const bound = await spawnHolder('sluice-udp-na', 65534, scripts.udpBound('127.0.0.1'));
  const rec = new SocketRecord();
  const t = tuple(4, IPPROTO_UDP, LO4, bound.ready.port, LO4, 12345);
  let found = 0;
  const gcs = await collectionsDuring(() => {
    for (let i = 0; i < 50_000; i++) if (diag.lookup(t, rec)) found++;
  });
  assert.equal(found, 50_000);
  assert.ok(gcs <= 1, `${gcs} collections during the lookups`);
});

test('bad input and kernel errors are one clear line', () => {
  assert.throws(
    () => diag.lookup({ family: 4, protocol: IPPROTO_TCP, localAddress: LO6, localPort: 1, remoteAddress: LO6, remotePort: 2 }, new SocketRecord()),
    /IPv4 addresses must be 4 bytes/,
  );
  const SCTP = 132;
  assert.throws(
    () => diag.dump(4, SCTP),
    (err: unknown) => err instanceof HostLookupError && err.code === 'ENOENT' && /no inet_diag handler/.test(err.message) && !err.message.includes('\n'),
  );
});
