/**
 * `sluice run -v` (or `log.level: debug`): a few debug lines every few seconds from the worker's
 * counter snapshots — one for the queue, then a row per class with what it sent over the window
 * against what it was promised, its backlog, drops in the window and queueing delay (in json, each
 * with its figures as fields). Rates are differences between two snapshots, so they are exact over
 * the window whatever the worker's own estimate says.
 */
import type { ClassCounters, CounterSnapshot } from '../engine/snapshot.js';
import type { LogFields, Logger } from '../control/log.js';
import { formatDuration, formatRate } from '../control/units.js';
import { table } from '../control/text-table.js';

function dropsOf(c: ClassCounters | undefined): number {
  if (c === undefined) return 0;
  let n = 0;
  for (const v of Object.values(c.drops)) n += v;
  return n;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

/**
 * Owner lookups in the window, when there were any: how many, how many packets waited for one, and
 * how many flows went on without their owner (the wait ran out) or did not wait (the room was full).
 */
function ownersText(prev: CounterSnapshot | null, cur: CounterSnapshot): string {
  const o = cur.engine.owners;
  const p = prev?.engine.owners;
  const requested = o.requested - (p?.requested ?? 0);
  if (requested === 0) return '';
  const late = o.timedOut - (p?.timedOut ?? 0);
  const unwaited = o.roomFull - (p?.roomFull ?? 0);
  return `; ${requested} owner lookups, ${o.waitedPackets - (p?.waitedPackets ?? 0)} packets waited, ${late} flows went on without an owner` +
    (unwaited > 0 ? `, ${unwaited} packets did not wait (waiting room full)` : '');
}

/**
 * Packets the kernel passed unshaped (fail-open) or dropped (fail-closed) since start because the
 * queue or the socket was full; it does not count them itself. It numbers every packet it tries to
 * queue (idSequence): those it queued were received (held or given a verdict since) or wait in the
 * socket (queueTotal counts those and the held); the rest found no room. null without the counters.
 */
export function passedByKernel(s: CounterSnapshot): number | null {
  const dp = s.datapath;
  const kernel = (typeof dp.kernel === 'object' ? dp.kernel : {}) as Record<string, number>;
  if (kernel.idSequence === undefined) return null;
  return Math.max(0, kernel.idSequence - (num(dp.received) - num(dp.held)) - num(kernel.queueTotal));
}

/** One summary: the queue's line and a row per class (text columns aligned), each with its fields. */
export interface Summary {
  head: { msg: string; fields: LogFields };
  rows: { text: string; fields: LogFields }[];
}

/** The summary of the window from `prev` (null: from the start) to `cur`. */
export function summaryOf(prev: CounterSnapshot | null, cur: CounterSnapshot): Summary {
  const windowUs = prev === null ? 0 : cur.atUs - prev.atUs;
  const before = new Map<string, ClassCounters>();
  for (const c of prev?.classes ?? []) before.set(`${c.link}\0${c.direction}\0${c.path}`, c);
  const dp = cur.datapath;
  const received = num(dp.received) - num(prev?.datapath.received);
  const overflow = passedByKernel(cur);
  const passedBy = dp.failOpen === 0 ? 'dropped' : 'passed unshaped';
  const msg =
    `${(windowUs / 1e6).toFixed(1)} s: ${received} packets received, ${num(dp.held)} held, ${cur.engine.flows} flows` +
    (overflow !== null ? `, ${overflow} ${passedBy} by the kernel (queue or socket full) since start` : '') +
    ownersText(prev, cur);
  const headFields: LogFields = {
    windowUs, receivedPackets: received, heldPackets: num(dp.held), flows: cur.engine.flows,
    ...(overflow === null ? {} : { [dp.failOpen === 0 ? 'kernelDroppedPackets' : 'kernelPassedPackets']: overflow }),
  };
  const figures = cur.classes.map((c) => {
    const b = before.get(`${c.link}\0${c.direction}\0${c.path}`);
    const sentBps = Math.round(windowUs > 0 ? ((c.sentBytes - (b?.sentBytes ?? 0)) * 8e6) / windowUs : c.currentBps);
    return { c, sentBps, drops: dropsOf(c) - dropsOf(b) };
  });
  const texts = table(figures.map(({ c, sentBps, drops }) => [
    `  ${c.link} ${c.direction} ${c.path}`,
    formatRate(sentBps),
    `rate ${formatRate(c.rateBps)} ceil ${formatRate(c.ceilBps)}`,
    `backlog ${c.backlogPackets} pkt`,
    `drops ${drops}`,
    c.isLeaf ? `delay p50 ${formatDuration(Math.round(c.sojournP50Us))} p99 ${formatDuration(Math.round(c.sojournP99Us))}` : '',
  ]), [false, true, false, true, true, false]);
  const rows = figures.map(({ c, sentBps, drops }, i) => ({
    text: texts[i],
    fields: {
      link: c.link, direction: c.direction, class: c.path, sentBps, rateBps: c.rateBps, ceilBps: c.ceilBps, backlogPackets: c.backlogPackets, drops,
      ...(c.isLeaf ? { sojournP50Us: Math.round(c.sojournP50Us), sojournP99Us: Math.round(c.sojournP99Us) } : {}),
    },
  }));
  return { head: { msg, fields: headFields }, rows };
}

/**
 * Logs a summary at debug level each time at least everyUs has passed since the last one. Windows
 * run whatever the level, so that a reload turning debug on prints a window of everyUs, not one
 * since the start.
 */
export class SummaryPrinter {
  private last: CounterSnapshot | null = null;
  private printedAtUs = -Infinity;

  constructor(
    private readonly log: Logger,
    private readonly everyUs: number,
  ) {}

  offer(s: CounterSnapshot): void {
    if (this.printedAtUs === -Infinity) this.printedAtUs = s.atUs;
    if (s.atUs - this.printedAtUs >= this.everyUs) this.print(s);
    else if (this.last === null) this.last = s;
  }

  /** Logs the window from the last summary to `s` (when debug is on) and starts the next one. */
  print(s: CounterSnapshot): void {
    if (this.log.enabled('debug')) {
      const { head, rows } = summaryOf(this.last, s);
      this.log.debug(head.msg, head.fields);
      for (const r of rows) this.log.row('debug', r.text, r.fields);
    }
    this.last = s;
    this.printedAtUs = s.atUs;
  }
}
