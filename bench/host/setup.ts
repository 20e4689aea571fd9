/**
 * The host benchmarks' setup: root, and a private network namespace for the calling thread (and
 * the threads it starts later) with loopback up, so their connections are the only ones sock_diag
 * sees (exits with one line when either is missing); and the tuples of the connections a holder
 * process reports once it has made them.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import koffi from 'koffi';
import { IPPROTO_TCP, type SocketTuple } from '../../src/host/sock-diag.js';
import { parseAddress } from '../../src/packet/addr.js';

const CLONE_NEWNET = 0x40000000;

export function enterPrivateNetns(bench: string): void {
  if (process.getuid?.() !== 0) {
    console.error(`${bench} needs root (a network namespace, every process's /proc/PID/fd)`);
    process.exit(1);
  }
  if (koffi.load('libc.so.6').func('int unshare(int flags)')(CLONE_NEWNET) !== 0) {
    console.error(`unshare(CLONE_NEWNET) failed: errno ${koffi.errno()}`);
    process.exit(1);
  }
  if (spawnSync('ip', ['link', 'set', 'lo', 'up']).status !== 0) {
    console.error('ip link set lo up failed');
    process.exit(1);
  }
}

/**
 * Both ends of every loopback TCP connection `holder` made, once it prints them as one JSON line of
 * [clientPort, serverPort] pairs.
 */
export async function heldConnections(holder: ChildProcess, timeoutMs: number): Promise<SocketTuple[]> {
  const pairs: [number, number][] = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the socket holder did not get ready in ${timeoutMs / 1000} s`)), timeoutMs);
    createInterface({ input: holder.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
  });
  const lo = parseAddress('127.0.0.1') as Buffer;
  const tuples: SocketTuple[] = [];
  for (const [clientPort, serverPort] of pairs) {
    tuples.push({ family: 4, protocol: IPPROTO_TCP, localAddress: lo, localPort: clientPort, remoteAddress: lo, remotePort: serverPort });
    tuples.push({ family: 4, protocol: IPPROTO_TCP, localAddress: lo, localPort: serverPort, remoteAddress: lo, remotePort: clientPort });
  }
  return tuples;
}
