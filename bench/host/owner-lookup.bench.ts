/**
 * What it costs to find the process behind a new connection: sock_diag's exact lookup plus an index
 * hit (SocketOwnerIndex), and the whole OwnerLookup.resolve() with the process's attributes (cached,
 * and read from /proc every time), beside
 * the naive way measured in the same run: sock_diag's lookup plus a full /proc scan for the inode
 * (scanProcForInode, every fd of every process until it turns up).
 *
 * Setup (root): a private network namespace (unshare on the main thread, lo up), one child process
 * holding a listener and 100 connections to it (200 connected sockets), lookups round-robin over
 * both ends of those connections. The full scan's cost grows with the machine's processes and open
 * files: the run prints how many there were. Bounded: each figure runs at most 2 s or its count.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { enterPrivateNetns, heldConnections } from './setup.js';
import { OwnerLookup } from '../../src/host/owner-lookup.js';
import { SocketRecord } from '../../src/host/inet-diag-codec.js';
import { SockDiag } from '../../src/host/sock-diag.js';
import { scanProcForInode, SocketOwnerIndex } from '../../src/host/socket-owners.js';

const CONNECTIONS = 100;
const LIMIT_MS = 2000;

enterPrivateNetns('owner-lookup.bench');

const holderScript = `
const net = require('net');
const s = net.createServer(() => {});
s.listen(0, '127.0.0.1', () => {
  const port = s.address().port, pairs = [];
  for (let i = 0; i < ${CONNECTIONS}; i++) {
    const c = net.connect(port, '127.0.0.1', () => {
      pairs.push([c.localPort, port]);
      if (pairs.length === ${CONNECTIONS}) console.log(JSON.stringify(pairs));
    });
  }
});`;
const child = spawn(process.execPath, ['-e', holderScript], { stdio: ['ignore', 'pipe', 'inherit'] });

function machineSize(): { processes: number; fds: number } {
  let processes = 0;
  let fds = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    processes++;
    try {
      fds += readdirSync(`/proc/${name}/fd`).length;
    } catch {
      // exited meanwhile
    }
  }
  return { processes, fds };
}

/** µs per call of `fn(i)`, over at most `count` calls or LIMIT_MS. */
function measure(count: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(20, count); i++) fn(i);
  const t0 = performance.now();
  let n = 0;
  while (n < count && performance.now() - t0 < LIMIT_MS) fn(n++);
  return ((performance.now() - t0) * 1000) / n;
}

async function main(): Promise<void> {
  const tuples = await heldConnections(child, 10_000);
  const diag = SockDiag.open();
  const index = new SocketOwnerIndex();
  const owners = OwnerLookup.open();
  const rec = new SocketRecord();
  const pid = child.pid as number;
  let wrong = 0;

  const size = machineSize();
  const diagUs = measure(20_000, (i) => {
    if (!diag.lookup(tuples[i % tuples.length], rec)) wrong++;
  });
  const buildT0 = performance.now();
  diag.lookup(tuples[0], rec);
  if (index.find(rec.inode, rec.uid) !== pid) wrong++;
  const buildUs = (performance.now() - buildT0) * 1000;
  const indexUs = measure(20_000, (i) => {
    diag.lookup(tuples[i % tuples.length], rec);
    if (index.find(rec.inode, rec.uid) !== pid) wrong++;
  });
  const resolveUs = measure(20_000, (i) => {
    if (owners.resolve(tuples[i % tuples.length]).pid !== pid) wrong++;
  });
  const uncached = OwnerLookup.open({ processInfoTtlUs: 0 });
  const uncachedUs = measure(5_000, (i) => {
    if (uncached.resolve(tuples[i % tuples.length]).pid !== pid) wrong++;
  });
  uncached.close();
  const scanUs = measure(200, (i) => {
    diag.lookup(tuples[i % tuples.length], rec);
    if (scanProcForInode(rec.inode) !== pid) wrong++;
  });

  console.log(`machine: ${size.processes} processes, ${size.fds} open files; ${tuples.length} connected sockets held by pid ${pid}`);
  const rows: [string, string][] = [
    ['sock_diag exact lookup alone', `${diagUs.toFixed(1)} µs/lookup`],
    ['first lookup (builds the index from /proc)', `${buildUs.toFixed(0)} µs`],
    ['sock_diag + index hit (per new connection)', `${indexUs.toFixed(1)} µs/lookup`],
    ['OwnerLookup.resolve, attributes cached', `${resolveUs.toFixed(1)} µs/lookup`],
    ['OwnerLookup.resolve, attributes read anew', `${uncachedUs.toFixed(1)} µs/lookup`],
    ['baseline: sock_diag + full /proc scan', `${scanUs.toFixed(1)} µs/lookup`],
  ];
  for (const [label, figure] of rows) console.log(`${`${label}:`.padEnd(46)}${figure}`);
  console.log(
    `ratio full scan / index hit: ${(scanUs / indexUs).toFixed(0)}x; full scan / resolve: ${(scanUs / resolveUs).toFixed(0)}x cached, ${(scanUs / uncachedUs).toFixed(0)}x uncached`,
  );
  if (wrong > 0) console.log(`WRONG ANSWERS: ${wrong}`);
  diag.close();
  owners.close();
}

main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  })
  .finally(() => child.kill('SIGKILL'));
