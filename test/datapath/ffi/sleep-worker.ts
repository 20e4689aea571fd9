/**
 * Worker-thread body for libc.test.ts: loads the libc module in a worker (as the datapath will) and
 * reports one 2 ms ppoll on no descriptor, and the pid, to the parent.
 */
import { parentPort } from 'node:worker_threads';
import * as libc from '../../../src/datapath/ffi/libc.js';

const pollfd = Buffer.alloc(libc.layout.pollfdBytes);
pollfd.writeInt32LE(-1, 0);
const t0 = process.hrtime.bigint();
const r = libc.ppoll(pollfd, 1, 2000);
parentPort!.postMessage({ r, us: Number(process.hrtime.bigint() - t0) / 1000, pid: libc.getpid() });
