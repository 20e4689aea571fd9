/**
 * The class tree of a resolved link as text, with the effective figures after defaults and
 * percentages — what `sluice check` prints so a person sees what their file means:
 *
 *   wan (eth0) egress 20mbit, overhead 38, mpu 84
 *     interactive   rate 2mbit    ceil 20mbit   prio 0  burst 2500B  cburst 25KB  quantum 2500B  flow   dscp EF  match: …
 *     torrents      rate 512kbit  ceil 2.4mbit  prio 6  …            inner
 *       fred        …
 *
 * Figures that are at their defaults and rarely matter (limits, CoDel) are shown only when changed.
 * Under a class with a schedule, one line per entry gives its window and the rate and ceil in force
 * then (percentages worked out at the first minute of the week the entry holds):
 *
 *     torrents          rate 512kbit  ceil 2.4mbit  …
 *       at 01:00-07:00  rate 512kbit  ceil 20mbit
 */
import { DSCP_NAMES, type SluiceConfig } from './schema.js';
import { DEFAULTS, resolveLinks, type DirectionName, type ResolvedDirection, type ResolvedLink } from './resolve.js';
import { scheduleOf, scheduleWindows, windowLabel, withSchedule } from './schedule.js';
import { table } from './text-table.js';
import { formatDuration, formatRate, formatSize } from './units.js';

const DSCP_BY_VALUE = new Map<number, string>();
for (const [name, value] of Object.entries(DSCP_NAMES)) if (!DSCP_BY_VALUE.has(value)) DSCP_BY_VALUE.set(value, name);

function header(link: ResolvedLink, dir: DirectionName): string {
  const who = link.name === link.interface ? link.name : `${link.name} (${link.interface})`;
  const direction = link[dir];
  if (direction === null) return `${who} ${dir} not shaped`;
  const parts = [`${who} ${dir} ${formatRate(direction.sched.rateBps)}`, `overhead ${link.overheadBytes}`, `mpu ${link.mpuBytes}`];
  if (link.mtuBytes !== DEFAULTS.mtuBytes) parts.push(`mtu ${link.mtuBytes}`);
  const { globalLimitPackets, globalLimitBytes } = direction.sched;
  if (globalLimitPackets !== DEFAULTS.bufferPackets || globalLimitBytes !== DEFAULTS.bufferBytes) {
    parts.push(`buffer ${globalLimitPackets}p/${formatSize(globalLimitBytes)}`);
  }
  return parts.join(', ');
}

/** A function giving, for a class path, one row per schedule entry with the figures in force in its window. */
function scheduleRows(config: SluiceConfig | undefined, linkName: string, dir: DirectionName): (classPath: string, indent: string) => string[][] {
  if (config === undefined) return () => [];
  const windows = scheduleWindows(config);
  const resolved = new Map<number, ResolvedDirection | null>();
  const directionAt = (weekMinute: number): ResolvedDirection | null => {
    if (!resolved.has(weekMinute)) {
      resolved.set(weekMinute, resolveLinks(withSchedule(config, weekMinute)).find((l) => l.name === linkName)?.[dir] ?? null);
    }
    return resolved.get(weekMinute) ?? null;
  };
  return (classPath, indent) => scheduleOf(config, classPath).map((entry, index) => {
    const label = windowLabel(entry);
    const name = `${indent}${label === 'always' ? label : `at ${label}`}`;
    const window = windows.find((w) => w.active.some((a) => a.classPath === classPath && a.index === index));
    const cls = window === undefined ? undefined : directionAt(window.weekMinute)?.sched.classes.find((c) => c.path === classPath);
    return cls === undefined ? [name, 'never in force: earlier entries cover its window'] : [name, `rate ${formatRate(cls.rateBps)}`, `ceil ${formatRate(cls.ceilBps)}`];
  });
}

function rows(direction: ResolvedDirection, schedules: (classPath: string, indent: string) => string[][]): string[][] {
  const { classes, defaultClass } = direction.sched;
  const depth: number[] = [];
  const isInner = new Set(classes.map((c) => c.parent));
  return classes.flatMap((cls, i) => {
    depth[i] = cls.parent < 0 ? 0 : depth[cls.parent] + 1;
    const info = direction.classes[i];
    const name = `${'  '.repeat(depth[i] + 1)}${cls.path.slice(cls.path.lastIndexOf('/') + 1)}`;
    const leaf = !isInner.has(i);
    const extra: string[] = [];
    if (leaf) {
      if (cls.flowCeilBps > 0) extra.push(`flow_ceil ${formatRate(cls.flowCeilBps)}`);
      if (cls.flowLimitPackets > 0) extra.push(`flow_limit ${cls.flowLimitPackets}p`);
      if (cls.limitPackets !== DEFAULTS.limitPackets || cls.limitBytes !== DEFAULTS.limitBytes) {
        extra.push(`limit ${cls.limitPackets}p/${formatSize(cls.limitBytes)}`);
      }
      const { targetUs, intervalUs, ecn } = cls.codel;
      if (targetUs === Infinity) extra.push('aqm none');
      else if (targetUs !== DEFAULTS.codelTargetUs || intervalUs !== DEFAULTS.codelIntervalUs || ecn !== DEFAULTS.ecn) {
        extra.push(`codel ${formatDuration(targetUs)}/${formatDuration(intervalUs)}${ecn ? ' ecn' : ''}`);
      }
    }
    if (info.setDscp >= 0) extra.push(`dscp ${DSCP_BY_VALUE.get(info.setDscp) ?? info.setDscp}`);
    if (info.setMark !== null) {
      const hex = (v: number): string => `0x${v.toString(16)}`;
      extra.push(`mark ${hex(info.setMark.value)}${info.setMark.mask === 0xffffffff ? '' : `/${hex(info.setMark.mask)}`}`);
    }
    if (info.drop) extra.push('DROP');
    if (info.match !== null) extra.push(`match: ${info.match.replace(/\s+/g, ' ')}`);
    else if (i === defaultClass) extra.push(info.implicit ? '(default, implicit)' : '(default)');
    else if (info.implicit) extra.push(`(the rest of ${cls.path.slice(0, cls.path.lastIndexOf('/'))}, implicit)`);
    return [[
      name, `rate ${formatRate(cls.rateBps)}`, `ceil ${formatRate(cls.ceilBps)}`, `prio ${cls.prio}`,
      `burst ${formatSize(cls.burstBytes)}`, `cburst ${formatSize(cls.cburstBytes)}`, `quantum ${formatSize(cls.quantumBytes)}`,
      leaf ? cls.fairness : 'inner', extra.join('  '),
    ], ...(info.implicit ? [] : schedules(cls.path, '  '.repeat(depth[i] + 2)))];
  });
}

/**
 * The link's class tree per direction, one line per class; given the configuration it was resolved
 * from, also one line per schedule entry.
 */
export function describeTree(link: ResolvedLink, config?: SluiceConfig): string {
  const blocks: string[] = [];
  for (const dir of ['egress', 'ingress'] as const) {
    const direction = link[dir];
    blocks.push([header(link, dir), ...(direction === null ? [] : table(rows(direction, scheduleRows(config, link.name, dir))))].join('\n'));
  }
  return blocks.join('\n\n');
}
