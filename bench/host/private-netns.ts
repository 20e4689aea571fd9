/**
 * The host benchmarks' setup: root, and a private network namespace for the calling thread (and
 * the threads it starts later) with loopback up, so their connections are the only ones sock_diag
 * sees. Exits with one line when either is missing.
 */
import { spawnSync } from 'node:child_process';
import koffi from 'koffi';

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
