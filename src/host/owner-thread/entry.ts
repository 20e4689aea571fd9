/**
 * The owner thread: OwnerLookup in a thread of its own, so that its I/O (sock_diag, and /proc scans
 * that take 10-20 ms when the inode index misses) never stalls the packet thread. It answers the
 * requests of one OwnerResolver (resolver.ts) in arrival order, one `[flow, generation, lookupUs,
 * owner]` reply each, and after each reply writes the wake eventfd, if it was given one, so that a
 * packet thread asleep in ppoll collects the answer at once.
 *
 * It opens sock_diag in the network namespace it inherited from the thread that spawned it. A fatal
 * error (sock_diag cannot be opened or refuses a request, the wake descriptor cannot be written) is
 * posted as one line; the thread then closes everything and exits, answering nothing more.
 */
import { workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import * as libc from '../../datapath/ffi/libc.js';
import { describeErrno } from '../../datapath/ffi/errno.js';
import { EAGAIN } from '../../datapath/errno.js';
import { OwnerLookup } from '../owner-lookup.js';
import { CLOSE, TupleScratch, type OwnerRequest, type OwnerReply, type OwnerThreadSettings } from './messages.js';

const settings = workerData as OwnerThreadSettings;
const port = settings.port;
const wakeFd = settings.wakeFd;
const one = Buffer.alloc(8);
one.writeUInt32LE(1, 0);
const scratch = new TupleScratch();
let lookup: OwnerLookup | null = null;

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/** Closes sock_diag and the channel; with nothing left to wait on, the thread exits. */
function shutdown(): void {
  lookup?.close();
  lookup = null;
  port.close();
}

/** Writes the wake eventfd; the failure line, or null. A full counter (EAGAIN) already means "wake up". */
function wake(): string | null {
  if (wakeFd < 0) return null;
  const r = libc.write(wakeFd, one, 8);
  return r >= 0 || r === -EAGAIN ? null : `owner thread: cannot wake the packet thread through fd ${wakeFd}: ${describeErrno(r)}`;
}

function fail(line: string): void {
  port.postMessage(line);
  wake();
  shutdown();
}

function serve(m: OwnerRequest | typeof CLOSE): void {
  if (lookup === null) return;
  if (m === CLOSE) return shutdown();
  const t = scratch.decode(m);
  const t0 = performance.now();
  let reply: OwnerReply;
  try {
    reply = [m[0], m[1], 0, lookup.resolve(t)];
  } catch (err) {
    return fail(`owner lookup: ${oneLine(err)}`);
  }
  reply[2] = (performance.now() - t0) * 1000;
  port.postMessage(reply);
  const woken = wake();
  if (woken !== null) fail(woken);
}

/** An inode no socket has (sockfs inodes start at 1). */
const NO_INODE = 0;

try {
  lookup = OwnerLookup.open(settings.lookup);
  // Build the inode index now (a miss scans every process), so the first connection's owner comes
  // back in microseconds instead of waiting behind that scan. Requests queue meanwhile.
  lookup.index.find(NO_INODE);
  port.on('message', serve);
} catch (err) {
  fail(`owner lookup: ${oneLine(err)}`);
}
