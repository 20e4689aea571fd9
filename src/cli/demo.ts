/**
 * `sluice demo`: the main job on a fresh machine, as root — builds a lab of three network namespaces,
 * runs sluice on its router and drives competing traffic through it for about 30 seconds
 * (src/lab/demo.ts), then prints what each class got against what examples/lab-demo.yaml promised,
 * and the call's round trip without and with sluice. `sluice demo --simulate` runs the simulator's
 * demos instead (simulated-demo.ts), which need no root.
 */
import { formatDuration, formatRate } from '../control/units.js';
import { table } from '../control/text-table.js';
import { DEMO_CONFIG, LINE_RATE_BPS, MODEM_BUFFER_PACKETS, runLabDemo, type DemoPhase, type DemoResult } from '../lab/demo.js';
import type { LatencyResult } from '../lab/traffic/index.js';
import type { ClassConfig } from '../sched/types.js';
import type { Io } from './io.js';
import { loadConfigOrFail } from './load.js';

export const NEED_ROOT_FOR_DEMO =
  'sluice demo builds network namespaces and runs sluice in them, which needs root: run it as root (sudo npx sluice demo), or try `sluice demo --simulate`, which needs nothing';

export interface DemoCommandOptions {
  isRoot?: boolean;
  /** Shorter phases, for tests (ms). */
  mixedMs?: number;
  aloneMs?: number;
}

function rate(bps: number | undefined): string {
  return bps === undefined ? '' : formatRate(Math.round(bps / 10_000) * 10_000);
}

function ms(us: number): string {
  return formatDuration(Math.round(us / 100) * 100);
}

function promised(k: ClassConfig, linkBps: number): string {
  const parts = [formatRate(k.rateBps)];
  if (k.ceilBps !== k.rateBps) parts.push(`ceil ${formatRate(k.ceilBps)}`);
  if (k.flowCeilBps > 0 && k.flowCeilBps < linkBps) parts.push(`${formatRate(k.flowCeilBps)} per flow`);
  parts.push(`prio ${k.prio}`);
  return parts.join(', ');
}

function callCell(call: LatencyResult | null): string {
  return call === null ? '' : `call p50 ${ms(call.p50Us)}`;
}

function flowRange(p: DemoPhase): string {
  if (p.torrentFlowsBps.length === 0) return '';
  return `${rate(Math.min(...p.torrentFlowsBps))}..${rate(Math.max(...p.torrentFlowsBps))}`;
}

function callLine(name: string, c: LatencyResult | null): string {
  if (c === null) return '';
  return `${name} p50 ${ms(c.p50Us)}, p99 ${ms(c.p99Us)}, ${c.lost} of ${c.sent} lost`;
}

/** The table and the lines under it. */
export function formatDemo(result: DemoResult, classes: readonly ClassConfig[], linkBps: number): string[] {
  const byPath = new Map(classes.map((k) => [k.path, k]));
  const [without, withSluice, alone] = result.phases;
  const head = ['class', 'promised', without.title, withSluice.title, alone.title];
  const row = (path: string, cells: (p: DemoPhase) => string): string[] => {
    const k = byPath.get(path);
    return [path, k === undefined ? '' : promised(k, linkBps), ...result.phases.map(cells)];
  };
  const rows = [
    head,
    row('interactive', (p) => callCell(p.call)),
    row('web', (p) => rate(p.goodputBps.web)),
    row('torrent', (p) => rate(p.goodputBps.torrent)),
    ['  per connection', '', ...result.phases.map(flowRange)],
  ];
  const lines = table(rows);
  lines.push('');
  lines.push(`the call's round trip: idle p50 ${ms(result.idle.p50Us)}; ${callLine('without sluice', without.call)}; ${callLine('with sluice', withSluice.call)}`);
  lines.push('Rates are TCP goodput at the receiver over the steady part of each phase; sluice counts IP bytes');
  lines.push('on the wire, about 3.5% more than the payload of full-size TCP segments.');
  return lines;
}

export async function demoCommand(io: Io, opts: DemoCommandOptions = {}): Promise<number> {
  if (!(opts.isRoot ?? process.getuid?.() === 0)) {
    io.err(`sluice: ${NEED_ROOT_FOR_DEMO}\n`);
    return 2;
  }
  const { links } = loadConfigOrFail(DEMO_CONFIG);
  const egress = links[0].egress;
  if (egress === null) throw new Error(`${DEMO_CONFIG}: the demo's link has no egress rate`);
  const classes = egress.sched.classes;
  io.out(
    `sluice demo: client — router — server, each a network namespace; the router's uplink is a ${formatRate(LINE_RATE_BPS)}/s line\n` +
      `with a ${MODEM_BUFFER_PACKETS}-packet buffer (a modem). sluice shapes it at ${formatRate(egress.sched.rateBps)}/s with examples/lab-demo.yaml.\n\n`,
  );
  let result: DemoResult;
  try {
    result = await runLabDemo({ mixedMs: opts.mixedMs, aloneMs: opts.aloneMs, progress: (line) => io.out(`${line}\n`) });
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    io.err(`sluice: the demo failed: ${first}\n`);
    return 2;
  }
  io.out('\n');
  for (const line of formatDemo(result, classes, egress.sched.rateBps)) io.out(`${line}\n`);
  return 0;
}
