/**
 * A private network namespace and socket-holding child processes for the src/host tests.
 *
 * enterPrivateNetns() moves this test process's main thread into a new network namespace (unshare
 * through koffi, as test/datapath/nfqueue-netns.ts does) and brings its lo up: the sockets the
 * children open, and the sock_diag socket the test opens, all live there, so dumps list only this
 * test's sockets and no port collides with anyone's. The namespace vanishes with the process.
 * /proc is global, so the owner index sees the children from here.
 *
 * spawnHolder() starts `node -e SCRIPT` as another user (setpriv --reuid --regid --clear-groups),
 * through a symlink named `name` in a private directory, so the child's argv[0] (cmd) is `name` while
 * its exe is the real node binary. The script prints one JSON line once its sockets are open; the
 * child then holds them until it is killed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import koffi from 'koffi';

const CLONE_NEWNET = 0x40000000;
let entered = false;

export function assertRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('the src/host tests need root (a network namespace, processes of other users, other processes\' /proc/PID/fd): run them as root, as CI does');
  }
}

export function enterPrivateNetns(): void {
  assertRoot();
  if (entered) return;
  const unshare = koffi.load('libc.so.6').func('int unshare(int flags)');
  if (unshare(CLONE_NEWNET) !== 0) throw new Error(`unshare(CLONE_NEWNET) failed: errno ${koffi.errno()}`);
  entered = true;
  const r = spawnSync('ip', ['link', 'set', 'lo', 'up'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip link set lo up failed: ${r.stderr}`);
}

export interface Holder {
  child: ChildProcess;
  pid: number;
  /** The JSON line the script printed once ready. */
  ready: Record<string, number>;
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-host-'));
chmodSync(dir, 0o755);
const holders: ChildProcess[] = [];

/** Starts SCRIPT under node as uid/gid `uid`, named `name`; resolves when it printed its JSON line (10 s at most). */
export function spawnHolder(name: string, uid: number, script: string): Promise<Holder> {
  const link = join(dir, name);
  try {
    symlinkSync(process.execPath, link);
  } catch {
    // Already made by an earlier holder of the same name.
  }
  const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', link, '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  holders.push(child);
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not get ready within 10 s: ${stderr}`)), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ child, pid: child.pid as number, ready: JSON.parse(line) as Record<string, number> });
    });
  });
}

/** Kills a holder and waits for it to be gone. */
export async function stopHolder(h: Holder): Promise<void> {
  if (h.child.exitCode !== null || h.child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => h.child.once('exit', () => resolve()));
  h.child.kill('SIGKILL');
  await gone;
}

/** Kills every holder still running and removes the symlink directory; for `after()`. */
export async function stopAll(): Promise<void> {
  for (const child of holders) {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await gone;
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Scripts for holders (plain JavaScript run by node -e). */
export const scripts = {
  /** A TCP listener on HOST:0 that keeps every accepted connection; prints {port}. */
  tcpServer: (host: string) =>
    `const s=require('net').createServer(c=>{c.on('error',()=>{})});s.listen(0,'${host}',()=>console.log(JSON.stringify({port:s.address().port})))`,
  /** A TCP client connected to HOST:PORT; prints {port} (its local port). */
  tcpClient: (host: string, port: number) =>
    `const c=require('net').connect(${port},'${host}',()=>console.log(JSON.stringify({port:c.localPort})));c.on('error',e=>{console.error(e.message);process.exit(1)})`,
  /** An unconnected UDP socket bound to HOST:0; prints {port}. */
  udpBound: (host: string) =>
    `const s=require('dgram').createSocket('udp4');s.bind(0,'${host}',()=>console.log(JSON.stringify({port:s.address().port})))`,
  /** An unconnected IPv6 UDP socket bound to HOST:0 (dual-stack when HOST is ::); prints {port}. */
  udp6Bound: (host: string) =>
    `const s=require('dgram').createSocket('udp6');s.bind(0,'${host}',()=>console.log(JSON.stringify({port:s.address().port})))`,
  /** A UDP socket connected to HOST:PORT; prints {port} (its local port). */
  udpConnected: (host: string, port: number) =>
    `const s=require('dgram').createSocket('udp4');s.connect(${port},'${host}',()=>console.log(JSON.stringify({port:s.address().port})))`,
};

/** Calls `read` every 10 ms until `done` holds for its result or `timeoutMs` passes; returns the last result. */
export async function eventually<T>(read: () => T, done: (value: T) => boolean, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    value = read();
  }
  return value;
}
