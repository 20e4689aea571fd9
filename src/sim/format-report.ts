/**
 * A simulation report as aligned text tables with human units: one table of classes per link
 * direction, then one table of flows. The JSON form is the SimReport itself.
 */
import { table } from '../control/text-table.js';
import { formatDuration, formatRate } from '../control/units.js';
import type { SimReport } from './report.js';

/** A rate rounded to the kbit/s, for reports and headlines: `19.874mbit`. */
export function roundedRate(bps: number): string {
  return formatRate(Math.round(bps / 1000) * 1000);
}

function delay(us: number | null): string {
  if (us === null) return '-';
  if (us < 1000) return `${Math.round(us)}us`;
  if (us < 1e6) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  return `${(us / 1e6).toFixed(2)}s`;
}

function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export function formatReport(report: SimReport): string {
  const out: string[] = [];
  const warm = report.durationUs - report.measuredUs;
  out.push(`simulated ${formatDuration(report.durationUs)}${warm > 0 ? ` (measured after ${formatDuration(warm)} warm-up)` : ''}`);
  for (const link of report.links) {
    for (const d of link.directions) {
      out.push('', `${link.name} ${d.direction} ${formatRate(d.rateBps)}: ${roundedRate(d.throughputBps)} sent (${percent(d.throughputBps / d.rateBps)})`);
      const rows = d.classes.map((c) => {
        const depth = c.path.split('/').length - 1;
        const drops = Object.entries(c.drops).filter(([, n]) => n > 0).map(([why, n]) => `${n} ${why}`).join(', ');
        return [
          `${'  '.repeat(depth)}${c.path.split('/').pop() ?? c.path}`, formatRate(c.rateBps), formatRate(c.ceilBps), String(c.prio),
          roundedRate(c.throughputBps), percent(c.shareOfRate), delay(c.delayP50Us ?? c.schedDelayP50Us), delay(c.delayP99Us ?? c.schedDelayP99Us),
          drops === '' ? '0' : drops, String(c.ecnMarks), String(c.flows), c.jain === null ? '-' : c.jain.toFixed(3),
        ];
      });
      out.push(...table([
        ['class', 'rate', 'ceil', 'prio', 'throughput', 'of rate', 'delay p50', 'p99', 'drops', 'ecn', 'flows', 'jain'],
        ...rows,
      ], [false, true, true, true, true, true, true, true, false, true, true, true]).map((l) => `  ${l}`));
    }
  }
  if (report.flows.length > 0) {
    out.push('', 'flows');
    const rows = report.flows.map((f) => [
      f.name, f.kind, `${f.link} ${f.direction}`, f.class === '' ? '(unshaped)' : f.class, roundedRate(f.throughputBps),
      delay(f.delayP50Us), delay(f.delayP99Us), delay(f.rttP50Us), delay(f.rttP99Us), String(f.drops), String(f.ecnMarks),
      f.completedUs === null ? '-' : formatDuration(Math.round(f.completedUs / 1000) * 1000),
    ]);
    out.push(...table([
      ['flow', 'kind', 'link', 'class', 'throughput', 'delay p50', 'p99', 'rtt p50', 'p99', 'drops', 'ecn', 'done at'],
      ...rows,
    ], [false, false, false, false, true, true, true, true, true, true, true, true]).map((l) => `  ${l}`));
  }
  if (report.unparsable > 0) out.push('', `unparsable packets: ${report.unparsable}`);
  return out.join('\n');
}
