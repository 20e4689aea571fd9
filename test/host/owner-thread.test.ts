/**
 * OwnerResolver and its owner thread, with real sockets of this test process on loopback (in a
 * private network namespace, which the thread inherits) and the real sock_diag: TCP (IPv4 and IPv6)
 * and UDP connections resolve to this process; a connection no socket has is answered "not found";
 * maxOutstanding refuses and counts; answers come once each, in request order, to a caller that never
 * yields to its event loop (every poll here runs in a synchronous loop), also inside a worker thread
 * like the packet thread; the wake eventfd is written after an answer; a fatal thread error answers
 * every waiting request as unknown; two resolvers run at once; close() ends the thread (a child
 * process that used one exits by itself).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import * as libc from '../../src/datapath/ffi/libc.js';
import { EAGAIN } from '../../src/datapath/errno.js';
import { IPPROTO_TCP, IPPROTO_UDP, type SocketTuple } from '../../src/host/sock-diag.js';
import { encodeOwnerRequest, REQUEST_LENGTH, TupleScratch } from '../../src/host/owner-thread/messages.js';
import { OwnerResolver, type OwnerAnswer } from '../../src/host/owner-thread/resolver.js';
import { parseAddress } from '../../src/packet/addr.js';
import { enterPrivateNetns } from './host-netns.js';

/** Room for a thread's start (tsx compiles its modules) and its first lookup (which builds the /proc index). */
const ANSWER_WITHIN_MS = 15_000;
const LO4 = parseAddress('127.0.0.1') as Buffer;
const LO6 = parseAddress('::1') as Buffer;

const servers: Server[] = [];
const sockets: (Socket | UdpSocket)[] = [];
let shared: OwnerResolver;

interface Got {
  flow: number;
  generation: number;
  owner: OwnerAnswer['owner'];
}

/** A TCP connection within this process: [client end, server end] tuples. */
async function tcpPair(host: string): Promise<[SocketTuple, SocketTuple]> {
  const server = createServer((s) => sockets.push(s));
  servers.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  const serverPort = (server.address() as AddressInfo).port;
  const accepted = once(server, 'connection');
  const client = connect(serverPort, host);
  sockets.push(client);
  await once(client, 'connect');
  await accepted;
  const a = host.includes(':') ? LO6 : LO4;
  const family = host.includes(':') ? 6 : 4;
  const clientPort = client.localPort as number;
  return [
    { family, protocol: IPPROTO_TCP, localAddress: a, localPort: clientPort, remoteAddress: a, remotePort: serverPort },
    { family, protocol: IPPROTO_TCP, localAddress: a, localPort: serverPort, remoteAddress: a, remotePort: clientPort },
  ];
}

function nobody(localPort: number): SocketTuple {
  return { family: 4, protocol: IPPROTO_TCP, localAddress: LO4, localPort, remoteAddress: LO4, remotePort: 2 };
}

/** Polls in a synchronous loop, never yielding, until `want` answers arrived or the deadline passed. */
function collect(r: OwnerResolver, want: number, withinMs = ANSWER_WITHIN_MS): Got[] {
  const got: Got[] = [];
  const onAnswer = (a: OwnerAnswer): void => void got.push({ flow: a.flow, generation: a.generation, owner: a.owner });
  const deadline = performance.now() + withinMs;
  while (got.length < want && performance.now() < deadline) r.poll(onAnswer);
  return got;
}

function assertThisProcess(owner: OwnerAnswer['owner'], what: string): void {
  assert.equal(owner.found, true, `${what}: socket found`);
  assert.equal(owner.known, true, `${what}: process known`);
  assert.equal(owner.pid, process.pid, `${what}: pid`);
  assert.equal(owner.uid, process.getuid?.(), `${what}: uid`);
  assert.equal(owner.cmd, 'node', `${what}: cmd`);
  assert.ok(owner.inode > 0, `${what}: inode`);
}

before(() => {
  enterPrivateNetns();
  // A new socket of a process already indexed is found by a rescan, at most one per fullScanIntervalUs
  // (socket-owners.ts): without the interval every test's new sockets are known at once.
  shared = OwnerResolver.start({ fullScanIntervalUs: 0 });
});

after(async () => {
  await shared?.close();
  for (const s of sockets) 'destroy' in s ? s.destroy() : s.close();
  for (const s of servers) s.close();
});

test('a request carries the tuple, not the buffer its addresses are views of', () => {
  const packet = Buffer.alloc(65536);
  const v6 = Buffer.from('20010db8ff00000000000000000000fe', 'hex');
  v6.copy(packet, 100);
  const t: SocketTuple = { family: 6, protocol: IPPROTO_UDP, localAddress: packet.subarray(100, 116), localPort: 65535, remoteAddress: LO6, remotePort: 53 };
  const m = encodeOwnerRequest(0xffff_fffe, 0x8000_0001, t);
  assert.equal(m.length, REQUEST_LENGTH);
  assert.deepEqual(m.slice(0, 6), [0xffff_fffe, 0x8000_0001, 6, IPPROTO_UDP, 65535, 53]);
  const back = new TupleScratch().decode(m);
  assert.deepEqual([back.family, back.protocol, back.localPort, back.remotePort], [6, IPPROTO_UDP, 65535, 53]);
  assert.deepEqual(Buffer.from(back.localAddress), v6);
  assert.deepEqual(Buffer.from(back.remoteAddress), LO6);
  const v4 = new TupleScratch().decode(encodeOwnerRequest(1, 2, { ...t, family: 4, localAddress: Buffer.from([255, 1, 128, 7]), remoteAddress: LO4 }));
  assert.deepEqual([v4.family, Buffer.from(v4.localAddress), Buffer.from(v4.remoteAddress)], [4, Buffer.from([255, 1, 128, 7]), LO4]);
});

test('both ends of a TCP connection of this process resolve to its pid, uid and cmd (IPv4 and IPv6)', async () => {
  const [client4, server4] = await tcpPair('127.0.0.1');
  const [client6, server6] = await tcpPair('::1');
  assert.equal(shared.request(10, 1, client4), true);
  assert.equal(shared.request(11, 2, server4), true);
  assert.equal(shared.request(12, 3, client6), true);
  assert.equal(shared.request(13, 4, server6), true);
  const got = collect(shared, 4);
  assert.equal(got.length, 4, `answers: ${got.length} of 4 (error: ${shared.error})`);
  assert.deepEqual(got.map((g) => [g.flow, g.generation]), [[10, 1], [11, 2], [12, 3], [13, 4]]);
  got.forEach((g, i) => assertThisProcess(g.owner, ['client4', 'server4', 'client6', 'server6'][i]));
  assert.notEqual(got[0].owner.inode, got[1].owner.inode, 'two sockets, two inodes');
  assert.ok(shared.stats.lookupMaxUs > 0 && shared.stats.lookupSumUs >= shared.stats.lookupMaxUs);
});

test('a UDP socket of this process resolves to it', async () => {
  const udp = createSocket('udp4');
  sockets.push(udp);
  udp.bind(0, '127.0.0.1');
  await once(udp, 'listening');
  const t: SocketTuple = { family: 4, protocol: IPPROTO_UDP, localAddress: LO4, localPort: udp.address().port, remoteAddress: LO4, remotePort: 9 };
  assert.equal(shared.request(20, 0, t), true);
  const got = collect(shared, 1);
  assert.equal(got.length, 1, `no answer (error: ${shared.error})`);
  assertThisProcess(got[0].owner, 'udp');
});

test('a connection no socket has is answered: found false, known false', () => {
  const before = { ...shared.stats };
  assert.equal(shared.request(30, 9, nobody(1)), true);
  const got = collect(shared, 1);
  assert.equal(got.length, 1, 'answered, not dropped');
  assert.deepEqual([got[0].flow, got[0].owner.found, got[0].owner.known, got[0].owner.pid, got[0].owner.cmd], [30, false, false, -1, '']);
  assert.equal(shared.stats.answered, before.answered + 1);
  assert.equal(shared.stats.failed, 0);
  assert.equal(shared.outstanding, 0);
});

test('poll() calls back each answer once, in request order, to a caller that never yields', async () => {
  const [client, server] = await tcpPair('127.0.0.1');
  let yielded = false;
  setImmediate(() => (yielded = true));
  const count = 60;
  for (let i = 0; i < count; i++) assert.equal(shared.request(1000 + i, i * 3, i % 3 === 0 ? nobody(i + 1) : i % 3 === 1 ? client : server), true);
  assert.equal(shared.outstanding, count);
  const got = collect(shared, count);
  const extra = collect(shared, 1, 200);
  assert.equal(yielded, false, 'the event loop did not turn while the answers were collected');
  assert.equal(got.length, count, `answers: ${got.length} of ${count}`);
  assert.equal(extra.length, 0, 'no answer twice');
  assert.deepEqual(got.map((g) => g.flow), Array.from({ length: count }, (_, i) => 1000 + i));
  assert.deepEqual(got.map((g) => g.generation), Array.from({ length: count }, (_, i) => i * 3));
  const inodes = [0, got[1].owner.inode, got[2].owner.inode];
  assert.ok(inodes[1] > 0 && inodes[2] > 0 && inodes[1] !== inodes[2]);
  got.forEach((g, i) => assert.deepEqual([g.owner.found, g.owner.known, g.owner.inode], [i % 3 !== 0, i % 3 !== 0, inodes[i % 3]], `answer ${i}`));
  assert.equal(shared.outstanding, 0);
  assert.equal(shared.stats.requested, shared.stats.answered);
});

test('request() beyond maxOutstanding returns false and counts refused; a second resolver runs beside the first', async () => {
  const [client] = await tcpPair('127.0.0.1');
  const small = OwnerResolver.start({ maxOutstanding: 3 });
  try {
    for (let i = 0; i < 3; i++) assert.equal(small.request(i, 0, client), true);
    assert.equal(small.request(3, 0, client), false);
    assert.equal(small.request(4, 0, client), false);
    assert.deepEqual([small.outstanding, small.stats.requested, small.stats.refused], [3, 3, 2]);
    assert.equal(shared.request(77, 0, client), true, 'the first resolver is not limited by the second');
    const mine = collect(small, 3);
    const theirs = collect(shared, 1);
    assert.deepEqual(mine.map((g) => g.flow), [0, 1, 2]);
    assert.deepEqual(theirs.map((g) => g.flow), [77]);
    for (const g of [...mine, ...theirs]) assertThisProcess(g.owner, `flow ${g.flow}`);
    assert.equal(small.outstanding, 0);
    assert.equal(small.request(5, 0, client), true, 'room again once answered');
    assert.equal(collect(small, 1).length, 1);
  } finally {
    await small.close();
  }
  assert.equal(small.request(6, 0, client), false, 'closed');
  assert.throws(() => OwnerResolver.start({ maxOutstanding: 0 }), /maxOutstanding 0/);
});

test('the owner thread writes the wake eventfd after an answer', async () => {
  const [client] = await tcpPair('127.0.0.1');
  const efd = libc.eventfd(0, libc.EFD_CLOEXEC | libc.EFD_NONBLOCK);
  assert.ok(efd >= 0);
  const r = OwnerResolver.start({ wakeFd: efd });
  try {
    const pollfd = Buffer.alloc(libc.layout.pollfdBytes);
    pollfd.writeInt32LE(efd, 0);
    pollfd.writeInt16LE(libc.POLLIN, 4);
    assert.equal(r.poll(() => assert.fail('nothing asked yet')), 0);
    assert.equal(r.request(1, 1, client), true);
    assert.equal(libc.ppoll(pollfd, 1, ANSWER_WITHIN_MS * 1000), 1, 'woken');
    const count = Buffer.alloc(8);
    assert.equal(libc.read(efd, count, 8), 8);
    assert.equal(count.readBigUInt64LE(0), 1n, 'one answer, one wake-up');
    const got = collect(r, 1, 1000);
    assert.equal(got.length, 1, 'the answer is there when the wake-up is');
    assertThisProcess(got[0].owner, 'woken answer');
    assert.equal(libc.read(efd, count, 8), -EAGAIN, 'nothing more');
  } finally {
    await r.close();
    libc.close(efd);
  }
});

test('a fatal thread error is one line; waiting requests are answered unknown, later ones refused', async () => {
  const [client] = await tcpPair('127.0.0.1');
  const badFd = 1_000_000;
  const r = OwnerResolver.start({ wakeFd: badFd });
  try {
    for (let i = 0; i < 3; i++) assert.equal(r.request(40 + i, 5, client), true);
    const got = collect(r, 3);
    assert.deepEqual(got.map((g) => g.flow), [40, 41, 42], 'every request answered, in order');
    assertThisProcess(got[0].owner, 'answered before the failure');
    for (const g of got.slice(1)) assert.deepEqual([g.owner.found, g.owner.known, g.owner.pid], [false, false, -1]);
    assert.match(r.error ?? '', /^owner thread: cannot wake the packet thread through fd 1000000: .*\(EBADF\)$/);
    assert.deepEqual([r.stats.requested, r.stats.answered, r.stats.failed, r.outstanding], [3, 1, 2, 0]);
    assert.equal(r.request(43, 5, client), false);
    assert.equal(r.stats.refused, 0, 'refused counts only the maxOutstanding limit');
  } finally {
    await r.close();
  }
});

test('the resolver works inside a worker thread that never yields (like the packet thread)', async () => {
  const [client] = await tcpPair('127.0.0.1');
  const resolver = JSON.stringify(new URL('../../src/host/owner-thread/resolver.ts', import.meta.url).href);
  const body = `
    const { workerData, parentPort } = await import('node:worker_threads');
    const { OwnerResolver } = await import(${resolver});
    const r = OwnerResolver.start();
    const t = { ...workerData, localAddress: new Uint8Array(workerData.localAddress), remoteAddress: new Uint8Array(workerData.remoteAddress) };
    r.request(7, 8, t);
    let got = null;
    for (const deadline = performance.now() + ${ANSWER_WITHIN_MS}; got === null && performance.now() < deadline;) {
      r.poll((a) => { got = { flow: a.flow, generation: a.generation, owner: a.owner }; });
    }
    parentPort.postMessage({ got, error: r.error });
    await r.close();`;
  const w = new Worker(`import('tsx/esm/api').then(async ({ register }) => { register(); ${body} })`, {
    eval: true,
    workerData: { ...client, localAddress: [...client.localAddress], remoteAddress: [...client.remoteAddress] },
  });
  const [msg] = (await once(w, 'message')) as [{ got: Got | null; error: string | null }];
  const [code] = (await once(w, 'exit')) as [number];
  assert.equal(msg.error, null);
  assert.ok(msg.got !== null, 'answered inside the worker');
  assert.deepEqual([msg.got.flow, msg.got.generation], [7, 8]);
  assertThisProcess(msg.got.owner, 'from a worker');
  assert.equal(code, 0, 'the worker exited after close()');
});

test('close() ends the thread: a process that used a resolver exits by itself', async () => {
  const resolver = JSON.stringify(new URL('../../src/host/owner-thread/resolver.ts', import.meta.url).href);
  const script = `
    const { OwnerResolver } = await import(${resolver});
    const r = OwnerResolver.start();
    const lo = new Uint8Array([127, 0, 0, 1]);
    r.request(1, 1, { family: 4, protocol: 6, localAddress: lo, localPort: 1, remoteAddress: lo, remotePort: 2 });
    let n = 0;
    for (const deadline = performance.now() + ${ANSWER_WITHIN_MS}; n === 0 && performance.now() < deadline;) n = r.poll(() => {});
    await r.close();
    console.log(JSON.stringify({ n, error: r.error, after: r.request(2, 2, { family: 4, protocol: 6, localAddress: lo, localPort: 1, remoteAddress: lo, remotePort: 2 }) }));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (err += String(d)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  assert.equal(signal, null, `the process did not exit by itself within 30 s: ${out} ${err}`);
  assert.equal(code, 0, err);
  assert.deepEqual(JSON.parse(out.trim()), { n: 1, error: null, after: false });
});
