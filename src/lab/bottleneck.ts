/**
 * A slow line with a deep buffer, made by the kernel: an HTB class at `rateBps` with a plain FIFO of
 * `bufferPackets` on a lab interface — what a cable or DSL modem does to an uplink. `sluice demo`
 * puts one on the router's uplink to show the queue moving from that buffer into sluice; tests and
 * benchmarks use it as the kernel comparison (HTB with its default FIFO leaf, no AQM: this kernel has
 * no fq_codel). It lives in the lab host's namespace and goes with it.
 */
import type { Lab } from './topology.js';

export interface BottleneckOptions {
  rateBps: number;
  /** FIFO depth in packets (default 1000, the usual txqueuelen). */
  bufferPackets?: number;
}

/** Puts the bottleneck on `dev` of `host`, replacing its root qdisc. */
export async function addBottleneck(lab: Lab, host: string, dev: string, opts: BottleneckOptions): Promise<void> {
  const rate = `${Math.round(opts.rateBps)}bit`;
  const limit = String(opts.bufferPackets ?? 1000);
  await lab.exec(host, ['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '1']);
  await lab.exec(host, ['tc', 'class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', rate, 'ceil', rate]);
  await lab.exec(host, ['tc', 'qdisc', 'add', 'dev', dev, 'parent', '1:1', 'handle', '10:', 'pfifo', 'limit', limit]);
}

/** Removes whatever root qdisc `dev` has (back to the default). */
export async function removeBottleneck(lab: Lab, host: string, dev: string): Promise<void> {
  await lab.exec(host, ['tc', 'qdisc', 'del', 'dev', dev, 'root'], { check: false });
}
