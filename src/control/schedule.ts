/**
 * Time windows: a class's rate and ceil may change by day of week and time of day (`schedule:`).
 *
 * How windows are read:
 * - Time is a minute of the week: 0 = Monday 00:00 .. 10079 = Sunday 23:59, in local wall-clock
 *   time of the configuration's `timezone:` (an IANA name), else of the host. Resolution: a minute.
 * - An entry holds on its `days` (a day, a range, a list; default every day) during its `hours`
 *   (HH:MM-HH:MM, start included, end excluded; default the whole day). Hours may wrap midnight:
 *   `22:00-06:00` on fri holds from fri 22:00 to sat 06:00 — the part after midnight belongs to the
 *   day the window started — and on sun it runs into Monday morning. Day ranges wrap too: fri-mon.
 * - A class's entries are tried in order and the first that holds wins; when none holds, the
 *   class's own rate and ceil apply. An entry replaces only what it writes (rate, ceil, per
 *   direction); its percentages are of the parent's figure in force at that minute.
 * - Clock changes: wall-clock time rules. The hour skipped in spring never happens (a window that
 *   starts in it starts when the clock jumps); the hour repeated in autumn is lived twice.
 * Pure: times come in as numbers or Dates; the caller reads the clock.
 */
import { UnitError } from './errors.js';
import type { ClassSpec, RateSpec, ScheduleEntrySpec, SluiceConfig } from './schema.js';
import { didYouMean } from './suggest.js';

const MINUTES_PER_DAY = 1440;
export const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;
/** Monday first: a day's index is its bit in a days mask. */
const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const EVERY_DAY = 0x7f;
/** 1970-01-01, where epoch minutes start, was a Thursday. */
const EPOCH_WEEK_MINUTE = 3 * MINUTES_PER_DAY;

/** Hours of an entry in minutes after local midnight; endMinute < startMinute wraps past midnight. */
export interface HoursSpec {
  startMinute: number;
  endMinute: number;
}

/** A schedule entry in force: which class, which entry, and its window as a person reads it. */
export interface ActiveEntry {
  /** Slash-separated class path, as in status (`torrents/fred`). */
  classPath: string;
  /** Index in the class's `schedule` list. */
  index: number;
  /** `mon-fri 01:00-07:00`, `sat,sun`, `22:00-06:00`, `always`. */
  label: string;
}

/** One stretch of the week with the same entries in force, and those entries. */
export interface ScheduleWindow {
  /** First minute of the week at which this set of entries is in force. */
  weekMinute: number;
  active: ActiveEntry[];
}

// --- Parsing what people write --------------------------------------------------------------

function dayIndex(name: string): number {
  return (DAY_NAMES as readonly string[]).indexOf(name.trim().toLowerCase());
}

/** `mon`, `mon-fri`, `fri-mon` (wraps), `sat, sun` → a mask, bit 0 = Monday. */
export function parseDays(text: string): number {
  let mask = 0;
  for (const part of text.split(',')) {
    const ends = part.split('-').map(dayIndex);
    if (ends.length > 2 || ends.some((d) => d < 0) || part.trim() === '') {
      throw new UnitError(`'${part.trim()}' is not a day — write mon..sun${ends.length === 1 ? didYouMean(part.trim(), DAY_NAMES) : ''}`);
    }
    const [first, last = first] = ends;
    for (let d = first; ; d = (d + 1) % 7) {
      mask |= 1 << d;
      if (d === last) break;
    }
  }
  return mask;
}

function minuteOfDay(text: string, allowEndOfDay: boolean): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (m === null) return NaN;
  const minute = Number(m[1]) * 60 + Number(m[2]);
  if (Number(m[2]) > 59) return NaN;
  return minute < MINUTES_PER_DAY || (allowEndOfDay && minute === MINUTES_PER_DAY) ? minute : NaN;
}

/** `01:00-07:00`, `22:00-06:00` (wraps midnight), `18:00-24:00`. */
export function parseHours(text: string): HoursSpec {
  const parts = text.split('-');
  const startMinute = parts.length === 2 ? minuteOfDay(parts[0], false) : NaN;
  const endMinute = parts.length === 2 ? minuteOfDay(parts[1], true) : NaN;
  if (Number.isNaN(startMinute) || Number.isNaN(endMinute)) {
    throw new UnitError(`'${text}' is not a time range — write e.g. 22:00-06:00`);
  }
  if (startMinute === endMinute % MINUTES_PER_DAY) {
    throw new UnitError(`'${text}' starts and ends at the same time — for the whole day leave hours out`);
  }
  return { startMinute, endMinute };
}

/** `tue 02:00`: a day and a time of day → the minute of the week (a moment, as a simulation starts at). */
export function parseWeekMinute(text: string): number {
  const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(text);
  const day = m === null ? -1 : dayIndex(m[1]);
  const minute = m === null ? NaN : minuteOfDay(m[2], false);
  if (day < 0 || Number.isNaN(minute)) throw new UnitError(`'${text}' is not a moment of the week — write a day and a time, e.g. tue 02:00`);
  return day * MINUTES_PER_DAY + minute;
}

/** A minute of the week as parseWeekMinute reads it: `tue 02:00`. */
export function formatWeekMinute(weekMinute: number): string {
  const minute = normalize(weekMinute);
  return `${DAY_NAMES[Math.floor(minute / MINUTES_PER_DAY)]} ${clock(minute % MINUTES_PER_DAY)}`;
}

/** An IANA time zone name, as Intl spells it (`utc` → `UTC`). */
export function parseTimeZone(text: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone;
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    const hint = didYouMean(text, Intl.supportedValuesOf('timeZone'));
    throw new UnitError(`'${text}' is not a time zone${hint === '' ? ' — write an IANA name such as Europe/Paris or UTC' : hint}`);
  }
}

// --- Labels ---------------------------------------------------------------------------------

/** A days mask as runs: `mon-fri`, `sat,sun`, `fri-mon`, `mon,wed`. */
export function formatDays(mask: number): string {
  const has = (d: number): boolean => (mask & (1 << ((d + 7) % 7))) !== 0;
  const runs: string[] = [];
  for (let first = 0; first < 7; first++) {
    if (!has(first) || has(first - 1)) continue;
    let length = 1;
    while (length < 7 && has(first + length)) length++;
    const last = (first + length - 1) % 7;
    runs.push(length === 1 ? DAY_NAMES[first] : length === 2 ? `${DAY_NAMES[first]},${DAY_NAMES[last]}` : `${DAY_NAMES[first]}-${DAY_NAMES[last]}`);
  }
  return runs.join(',');
}

function clock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

/** An entry's window as a person reads it: `mon-fri 01:00-07:00`, `sat,sun`, `always`. */
export function windowLabel(entry: ScheduleEntrySpec): string {
  const parts: string[] = [];
  if (entry.days !== undefined && entry.days !== EVERY_DAY) parts.push(formatDays(entry.days));
  if (entry.hours !== undefined) parts.push(`${clock(entry.hours.startMinute)}-${clock(entry.hours.endMinute)}`);
  return parts.length === 0 ? 'always' : parts.join(' ');
}

// --- Windows as minutes of the week ---------------------------------------------------------

/** Half-open [start, end) minutes of the week, sorted, disjoint, not touching. */
type Intervals = [number, number][];

/** Where an entry holds in the week. At most 8 intervals (7 days, one split at the week's end). */
function entryIntervals(entry: ScheduleEntrySpec): Intervals {
  const days = entry.days ?? EVERY_DAY;
  const { startMinute, endMinute } = entry.hours ?? { startMinute: 0, endMinute: MINUTES_PER_DAY };
  const lengthMinutes = endMinute > startMinute ? endMinute - startMinute : endMinute + MINUTES_PER_DAY - startMinute;
  const raw: Intervals = [];
  for (let d = 0; d < 7; d++) {
    if ((days & (1 << d)) === 0) continue;
    const start = d * MINUTES_PER_DAY + startMinute;
    const end = start + lengthMinutes;
    if (end <= MINUTES_PER_WEEK) raw.push([start, end]);
    else raw.push([start, MINUTES_PER_WEEK], [0, end - MINUTES_PER_WEEK]);
  }
  raw.sort((a, b) => a[0] - b[0]);
  const merged: Intervals = [];
  for (const [start, end] of raw) {
    const last = merged[merged.length - 1];
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

/** Whether an entry holds at a minute of the week (0..10079): what its intervals say, without building them. */
function entryHolds(entry: ScheduleEntrySpec, weekMinute: number): boolean {
  const days = entry.days ?? EVERY_DAY;
  const day = Math.floor(weekMinute / MINUTES_PER_DAY);
  const minute = weekMinute - day * MINUTES_PER_DAY;
  const on = (d: number): boolean => (days & (1 << ((d + 7) % 7))) !== 0;
  if (entry.hours === undefined) return on(day);
  const { startMinute, endMinute } = entry.hours;
  if (startMinute < endMinute) return on(day) && minute >= startMinute && minute < endMinute;
  // Wrapping midnight: the evening of this day, or the morning after one of its days.
  return (on(day) && minute >= startMinute) || (on(day - 1) && minute < endMinute);
}

interface ScheduledClass {
  classPath: string;
  entries: ScheduleEntrySpec[];
  intervals: Intervals[];
}

/** Every class with a schedule, in tree order. */
function scheduledClasses(config: SluiceConfig): ScheduledClass[] {
  const out: ScheduledClass[] = [];
  const visit = (classes: Record<string, ClassSpec> | undefined, prefix: string): void => {
    for (const [name, spec] of Object.entries(classes ?? {})) {
      const classPath = prefix === '' ? name : `${prefix}/${name}`;
      if (spec.schedule !== undefined) out.push({ classPath, entries: spec.schedule, intervals: spec.schedule.map(entryIntervals) });
      visit(spec.classes, classPath);
    }
  };
  visit(config.classes, '');
  return out;
}

/** The schedule of the class at a slash-separated path; empty when it has none or does not exist. */
export function scheduleOf(config: SluiceConfig, classPath: string): ScheduleEntrySpec[] {
  let spec: ClassSpec | undefined;
  let classes = config.classes;
  for (const name of classPath.split('/')) {
    spec = classes?.[name];
    classes = spec?.classes;
  }
  return spec?.schedule ?? [];
}

function activeIndex(cls: ScheduledClass, weekMinute: number): number {
  return cls.entries.findIndex((entry) => entryHolds(entry, weekMinute));
}

function normalize(weekMinute: number): number {
  return ((Math.floor(weekMinute) % MINUTES_PER_WEEK) + MINUTES_PER_WEEK) % MINUTES_PER_WEEK;
}

/** The schedule entries in force at a minute of the week, in tree order. */
export function activeEntries(config: SluiceConfig, weekMinute: number): ActiveEntry[] {
  const minute = normalize(weekMinute);
  const out: ActiveEntry[] = [];
  for (const cls of scheduledClasses(config)) {
    const index = activeIndex(cls, minute);
    if (index >= 0) out.push({ classPath: cls.classPath, index, label: windowLabel(cls.entries[index]) });
  }
  return out;
}

type PerDirection<T> = { egress?: T; ingress?: T };

/** `base` with the directions `over` writes replaced. */
function overlay<T>(base: PerDirection<T> | undefined, over: PerDirection<T>): PerDirection<T> {
  return { ...base, ...(over.egress !== undefined ? { egress: over.egress } : {}), ...(over.ingress !== undefined ? { ingress: over.ingress } : {}) };
}

/**
 * The configuration as it is at a minute of the week: each class's rate and ceil replaced by its
 * entry in force, if any (as load.ts withLinkRates does for link rates). Feed it to resolveLinks.
 * What no entry changes keeps its identity: with no entry in force, `config` itself comes back.
 */
export function withSchedule(config: SluiceConfig, weekMinute: number): SluiceConfig {
  const minute = normalize(weekMinute);
  const apply = (classes: Record<string, ClassSpec> | undefined): Record<string, ClassSpec> | undefined => {
    if (classes === undefined) return undefined;
    let changed = false;
    const out: Record<string, ClassSpec> = {};
    for (const [name, spec] of Object.entries(classes)) {
      const entry = spec.schedule?.find((e) => entryHolds(e, minute));
      const children = apply(spec.classes);
      out[name] = entry === undefined && children === spec.classes ? spec : {
        ...spec,
        ...(entry?.rate !== undefined ? { rate: overlay<RateSpec>(spec.rate, entry.rate) } : {}),
        ...(entry?.ceil !== undefined ? { ceil: overlay<RateSpec>(spec.ceil, entry.ceil) } : {}),
        ...(children !== spec.classes ? { classes: children } : {}),
      };
      changed ||= out[name] !== spec;
    }
    return changed ? out : classes;
  };
  const classes = apply(config.classes);
  return classes === config.classes ? config : { ...config, classes };
}

/** Minutes of the week where some entry starts or stops holding, sorted (a window across the week's seam has none at 0). */
function boundaries(classes: readonly ScheduledClass[]): number[] {
  const points = new Set<number>();
  for (const cls of classes) {
    cls.intervals.forEach((intervals, i) => {
      for (const [start, end] of intervals) {
        for (const point of [start, end % MINUTES_PER_WEEK]) {
          if (entryHolds(cls.entries[i], point) !== entryHolds(cls.entries[i], normalize(point - 1))) points.add(point);
        }
      }
    });
  }
  return [...points].sort((a, b) => a - b);
}

/** Which entry of each scheduled class is in force (-1: none), as a comparable key. */
function activeKey(classes: readonly ScheduledClass[], weekMinute: number): string {
  return classes.map((cls) => activeIndex(cls, weekMinute)).join(',');
}

/**
 * Minutes from `weekMinute` until the entries in force next change (1..10080), or null when the
 * configuration has no schedule or its entries in force never change. Local wall-clock minutes:
 * across a clock change the real wait differs by the shift — msUntilNextChange accounts for it.
 */
export function nextChangeIn(config: SluiceConfig, weekMinute: number): number | null {
  const classes = scheduledClasses(config);
  const points = boundaries(classes);
  const minute = normalize(weekMinute);
  const after = points.findIndex((p) => p > minute);
  const start = after < 0 ? 0 : after;
  for (let k = 0; k < points.length; k++) {
    const point = points[(start + k) % points.length];
    if (activeKey(classes, point) !== activeKey(classes, normalize(point - 1))) {
      return point > minute ? point - minute : point + MINUTES_PER_WEEK - minute;
    }
  }
  return null;
}

/**
 * The distinct sets of entries in force over the week, each at the first minute it holds (from
 * Monday 00:00); the set with no entry in force is included when it occurs. Cost: one pass per
 * entry over the minutes of its window (typed-array fills), then one read per class per boundary.
 */
export function scheduleWindows(config: SluiceConfig): ScheduleWindow[] {
  const classes = scheduledClasses(config);
  // Per class, the entry in force at each minute: painted last entry first, so the first wins.
  const painted = classes.map((cls) => {
    const week = new Int16Array(MINUTES_PER_WEEK).fill(-1);
    for (let i = cls.intervals.length - 1; i >= 0; i--) for (const [start, end] of cls.intervals[i]) week.fill(i, start, end);
    return week;
  });
  const starts = boundaries(classes);
  if (starts[0] !== 0) starts.unshift(0);
  const seen = new Set<string>();
  const out: ScheduleWindow[] = [];
  for (const weekMinute of starts) {
    const key = painted.map((week) => week[weekMinute]).join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    const active: ActiveEntry[] = [];
    painted.forEach((week, c) => {
      const index = week[weekMinute];
      if (index >= 0) active.push({ classPath: classes[c].classPath, index, label: windowLabel(classes[c].entries[index]) });
    });
    out.push({ weekMinute, active });
  }
  return out;
}

// --- Wall-clock time ------------------------------------------------------------------------

const formats = new Map<string, Intl.DateTimeFormat>();

/** Minutes since the epoch as the wall clock of `timeZone` (host's when undefined) reads at `ms`. */
function localEpochMinute(ms: number, timeZone: string | undefined): number {
  let format = formats.get(timeZone ?? '');
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
    });
    formats.set(timeZone ?? '', format);
  }
  const part: Record<string, number> = {};
  for (const p of format.formatToParts(ms)) if (p.type !== 'literal') part[p.type] = Number(p.value);
  return Date.UTC(part.year, part.month - 1, part.day, part.hour, part.minute) / 60_000;
}

/** The minute of the week a Date falls on in a time zone (the host's when undefined). */
export function weekMinuteOf(date: Date, timeZone?: string): number {
  return normalize(localEpochMinute(date.getTime(), timeZone) + EPOCH_WEEK_MINUTE);
}

/**
 * Real milliseconds from `now` until the entries in force next change, or null when they never do;
 * a timer set to it and then re-reading the clock applies each window on time, clock changes included.
 */
export function msUntilNextChange(config: SluiceConfig, now: Date, timeZone?: string): number | null {
  const minutes = nextChangeIn(config, weekMinuteOf(now, timeZone));
  if (minutes === null) return null;
  const offset = (minute: number): number => localEpochMinute(minute * 60_000, timeZone) - minute;
  const nowMinute = Math.floor(now.getTime() / 60_000);
  const offsetNow = offset(nowMinute);
  let target = nowMinute + minutes;
  const offsetThen = offset(target);
  if (offsetThen !== offsetNow) {
    // The clock changes on the way: the wall-clock time wanted comes that much earlier or later…
    const shifted = target - (offsetThen - offsetNow);
    if (offset(shifted) === offsetThen) target = shifted;
    else {
      // …unless the clock skips it: then the window starts when the clock jumps.
      let lo = nowMinute;
      let hi = target;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (offset(mid) === offsetNow) lo = mid;
        else hi = mid;
      }
      target = hi;
    }
  }
  return target * 60_000 - now.getTime();
}
