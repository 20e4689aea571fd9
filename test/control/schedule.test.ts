import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem, UnitError } from '../../src/control/errors.js';
import { parseConfigText } from '../../src/control/load.js';
import { resolveLinks } from '../../src/control/resolve.js';
import {
  activeEntries, formatDays, msUntilNextChange, nextChangeIn, parseDays, parseHours, parseTimeZone, scheduleWindows,
  weekMinuteOf, withSchedule, MINUTES_PER_WEEK,
} from '../../src/control/schedule.js';
import type { SluiceConfig } from '../../src/control/schema.js';

const DAY = 1440;
/** Minute of the week: at('sat', '05:59'). */
function at(day: 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun', time: string): number {
  const [h, m] = time.split(':').map(Number);
  return ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].indexOf(day) * DAY + h * 60 + m;
}

function config(lines: string[]): SluiceConfig {
  const result = parseConfigText(['links: [{interface: eth0, name: wan, egress: 10mbit, ingress: 50mbit}]', ...lines].join('\n'), 'sluice.yaml');
  if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
  return result.config;
}

/** One class `t` (rate 1mbit, ceil 4mbit) with these schedule entries (flow-style YAML). */
function scheduled(...entries: string[]): SluiceConfig {
  return config(['classes:', '  t:', '    rate: 1mbit', '    ceil: 4mbit', '    schedule:', ...entries.map((e) => `      - ${e}`)]);
}

/** Which entry of `t` is in force at each minute given, -1 for none. */
function indexes(cfg: SluiceConfig, minutes: number[]): number[] {
  return minutes.map((m) => activeEntries(cfg, m).find((a) => a.classPath === 't')?.index ?? -1);
}

function throwsUnit(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => err instanceof UnitError && err.message === message);
}

test('days: a day, a range, a range that wraps, a list; case does not matter', () => {
  assert.equal(parseDays('mon'), 0b0000001);
  assert.equal(parseDays('mon-fri'), 0b0011111);
  assert.equal(parseDays('fri-mon'), 0b1110001);
  assert.equal(parseDays('Sat, SUN'), 0b1100000);
  assert.equal(parseDays('mon-wed,sat'), 0b0100111);
  throwsUnit(() => parseDays('monday-fri'), "'monday-fri' is not a day — write mon..sun");
  throwsUnit(() => parseDays('mon-tue-wed'), "'mon-tue-wed' is not a day — write mon..sun");
  throwsUnit(() => parseDays('mn'), "'mn' is not a day — write mon..sun — did you mean 'mon'?");
  throwsUnit(() => parseDays('mon,'), "'' is not a day — write mon..sun");
  assert.deepEqual(['mon-fri', 'sat,sun', 'fri-mon', 'mon,wed', 'mon-wed,sat', 'sun'].map((d) => formatDays(parseDays(d))),
    ['mon-fri', 'sat,sun', 'fri-mon', 'mon,wed', 'mon-wed,sat', 'sun']);
});

test('hours: HH:MM-HH:MM, wrapping midnight, 24:00 as the end of the day', () => {
  assert.deepEqual(parseHours('01:00-07:00'), { startMinute: 60, endMinute: 420 });
  assert.deepEqual(parseHours('22:00-06:00'), { startMinute: 1320, endMinute: 360 });
  assert.deepEqual(parseHours('18:30-24:00'), { startMinute: 1110, endMinute: 1440 });
  assert.deepEqual(parseHours('7:05 - 9:00'), { startMinute: 425, endMinute: 540 });
  for (const bad of ['25:00-07:00', '24:00-01:00', '10:60-11:00', '7-9', '07:00', '07:00-08:00-09:00']) {
    throwsUnit(() => parseHours(bad), `'${bad}' is not a time range — write e.g. 22:00-06:00`);
  }
  throwsUnit(() => parseHours('00:00-24:00'), "'00:00-24:00' starts and ends at the same time — for the whole day leave hours out");
  throwsUnit(() => parseHours('07:00-07:00'), "'07:00-07:00' starts and ends at the same time — for the whole day leave hours out");
});

test('time zones: IANA names as Intl spells them, with a suggestion for a typo', () => {
  assert.equal(parseTimeZone('Europe/Paris'), 'Europe/Paris');
  assert.equal(parseTimeZone('utc'), 'UTC');
  throwsUnit(() => parseTimeZone('Europe/Pariss'), "'Europe/Pariss' is not a time zone — did you mean 'Europe/Paris'?");
  throwsUnit(() => parseTimeZone('Mars/Olympus'), "'Mars/Olympus' is not a time zone — write an IANA name such as Europe/Paris or UTC");
});

test('a window holds from its start, included, to its end, excluded, on its days only', () => {
  const cfg = scheduled('{days: mon-fri, hours: "01:00-07:00", ceil: 100%}');
  assert.deepEqual(indexes(cfg, [at('mon', '00:59'), at('mon', '01:00'), at('mon', '06:59'), at('mon', '07:00'), at('fri', '03:00'), at('sat', '03:00')]),
    [-1, 0, 0, -1, 0, -1]);
  assert.deepEqual(activeEntries(cfg, at('wed', '02:00')), [{ classPath: 't', index: 0, label: 'mon-fri 01:00-07:00' }]);
});

test('hours that wrap midnight belong to the day they start on', () => {
  const cfg = scheduled('{days: fri, hours: "22:00-06:00", ceil: 100%}');
  assert.deepEqual(indexes(cfg, [at('fri', '05:00'), at('fri', '21:59'), at('fri', '22:00'), at('sat', '05:59'), at('sat', '06:00'), at('sat', '23:00')]),
    [-1, -1, 0, 0, -1, -1]);
});

test('windows wrap from Sunday into Monday, by hours and by day ranges', () => {
  const night = scheduled('{days: sun, hours: "22:00-06:00", ceil: 100%}');
  assert.deepEqual(indexes(night, [at('sun', '21:59'), at('sun', '23:59'), at('mon', '00:00'), at('mon', '05:59'), at('mon', '06:00'), at('sun', '03:00')]),
    [-1, 0, 0, 0, -1, -1]);
  const longWeekend = scheduled('{days: fri-mon, ceil: 8mbit}');
  assert.deepEqual(indexes(longWeekend, [at('thu', '23:59'), at('fri', '00:00'), at('sun', '23:59'), at('mon', '12:00'), at('tue', '00:00')]),
    [-1, 0, 0, 0, -1]);
  // A minute outside 0..10079 is taken modulo the week.
  assert.deepEqual(indexes(night, [MINUTES_PER_WEEK + 60, -60]), [0, 0]);
});

test('the first entry that holds wins; outside every window the class keeps its own figures', () => {
  const cfg = config([
    'classes:',
    '  p:',
    '    rate: 4mbit',
    '    ceil: 8mbit',
    '    schedule: [{hours: "01:00-07:00", ceil: 100%}]',
    '    classes:',
    '      t:',
    '        rate: 1mbit',
    '        ceil: 50%',
    '        schedule:',
    '          - {days: [sat, sun], hours: "01:00-03:00", rate: {egress: 2mbit}}',
    '          - {days: [sat, sun], ceil: {ingress: 3mbit}}',
  ]);
  const figures = (minute: number): string[] => resolveLinks(withSchedule(cfg, minute)).flatMap((link) => (['egress', 'ingress'] as const).map((dir) => {
    const cls = link[dir]?.sched.classes.find((c) => c.path === 'p/t');
    return `${dir} ${cls?.rateBps} ${cls?.ceilBps}`;
  }));
  // Weekday afternoon: base figures, ceil 50% of p's 8mbit.
  assert.deepEqual(figures(at('tue', '15:00')), ['egress 1000000 4000000', 'ingress 1000000 4000000']);
  // Weekday night: p's ceil is the link's, so 50% of it.
  assert.deepEqual(figures(at('tue', '02:00')), ['egress 1000000 5000000', 'ingress 1000000 25000000']);
  // Saturday 02:00: the first entry wins (egress rate only; the ingress keeps the base rate), and p's night ceil holds.
  assert.deepEqual(figures(at('sat', '02:00')), ['egress 2000000 5000000', 'ingress 1000000 25000000']);
  assert.deepEqual(activeEntries(cfg, at('sat', '02:00')), [
    { classPath: 'p', index: 0, label: '01:00-07:00' },
    { classPath: 'p/t', index: 0, label: 'sat,sun 01:00-03:00' },
  ]);
  // Saturday 04:00: the second entry (ingress ceil only).
  assert.deepEqual(figures(at('sat', '04:00')), ['egress 1000000 5000000', 'ingress 1000000 3000000']);
  assert.equal(activeEntries(cfg, at('sat', '04:00'))[1].index, 1);
  // withSchedule changes nothing else.
  const at4 = withSchedule(cfg, at('sat', '04:00'));
  assert.equal(at4.file, cfg.file);
  assert.equal(at4.links, cfg.links);
  assert.equal(at4.ruleOrigins, cfg.ruleOrigins);
  assert.equal(withSchedule(cfg, at('tue', '15:00')), cfg);
  assert.equal(at4.classes?.p.classes?.t.match, cfg.classes?.p.classes?.t.match);
});

test('the week in windows: each distinct set of entries in force once, at its first minute, agreeing with activeEntries', () => {
  const cfg = config([
    'classes:',
    '  a:',
    '    rate: 1mbit',
    '    match: dport == 1',
    '    schedule: [{days: mon-fri, hours: "22:00-06:00", ceil: 5mbit}, {days: [sat, sun], ceil: 8mbit}]',
    '  b:',
    '    rate: 1mbit',
    '    schedule: [{hours: "12:00-13:00", rate: 2mbit}]',
  ]);
  const windows = scheduleWindows(cfg);
  const key = (minute: number): string => activeEntries(cfg, minute).map((a) => `${a.classPath}[${a.index}]`).join(' ');
  assert.deepEqual(windows.map((w) => [w.weekMinute, w.active.map((a) => `${a.classPath}[${a.index}]`).join(' ')]), [
    [0, ''], // sunday night is in no weekday-night window, and sat,sun ends at midnight
    [at('mon', '12:00'), 'b[0]'],
    [at('mon', '22:00'), 'a[0]'],
    // sat 00:00-06:00 is friday night's (a[0] comes first), so a[1] starts to hold at 06:00
    [at('sat', '06:00'), 'a[1]'],
    [at('sat', '12:00'), 'a[1] b[0]'],
  ]);
  // Every minute of the week is in force with the set of one of the windows.
  const sets = new Set(windows.map((w) => key(w.weekMinute)));
  for (let minute = 0; minute < MINUTES_PER_WEEK; minute++) assert.ok(sets.has(key(minute)), `minute ${minute}: ${key(minute)}`);
});

test('nextChangeIn: minutes until the entries in force change, across the week\'s end; null when they never do', () => {
  const cfg = scheduled('{days: mon-fri, hours: "01:00-07:00", ceil: 100%}');
  assert.equal(nextChangeIn(cfg, at('mon', '00:00')), 60);
  assert.equal(nextChangeIn(cfg, at('mon', '01:00')), 360);
  assert.equal(nextChangeIn(cfg, at('mon', '06:59')), 1);
  assert.equal(nextChangeIn(cfg, at('fri', '07:00')), MINUTES_PER_WEEK + 60 - at('fri', '07:00'));
  const night = scheduled('{days: sun, hours: "22:00-06:00", ceil: 100%}');
  assert.equal(nextChangeIn(night, at('sun', '23:00')), 60 + 360);
  // Where an entry starts inside an earlier one nothing changes, so it is not a change.
  const shadowed = scheduled('{days: sat, ceil: 8mbit}', '{days: sat, hours: "10:00-11:00", ceil: 100%}');
  assert.equal(nextChangeIn(shadowed, at('sat', '09:00')), 15 * 60);
  // One entry over the whole week never changes; no schedule at all neither.
  assert.equal(nextChangeIn(scheduled('{days: mon-sun, ceil: 8mbit}'), 1234), null);
  assert.equal(nextChangeIn(config(['classes:', '  t: {rate: 1mbit}']), 0), null);
});

test('weekMinuteOf: the minute of the week in a time zone, seconds dropped, DST included', () => {
  // 2024-01-01 was a Monday.
  assert.equal(weekMinuteOf(new Date('2024-01-01T00:00:59Z'), 'UTC'), 0);
  assert.equal(weekMinuteOf(new Date('2024-01-01T00:00:00Z'), 'Asia/Tokyo'), at('mon', '09:00'));
  assert.equal(weekMinuteOf(new Date('2024-01-01T00:00:00Z'), 'America/New_York'), at('sun', '19:00'));
  assert.equal(weekMinuteOf(new Date('2024-01-01T00:00:00Z'), 'Asia/Kolkata'), at('mon', '05:30'));
  // Berlin, spring forward on Sunday 2024-03-31: 01:59 CET is followed by 03:00 CEST.
  assert.equal(weekMinuteOf(new Date('2024-03-31T00:59:00Z'), 'Europe/Berlin'), at('sun', '01:59'));
  assert.equal(weekMinuteOf(new Date('2024-03-31T01:00:00Z'), 'Europe/Berlin'), at('sun', '03:00'));
  // Fall back on Sunday 2024-10-27: 02:30 happens twice, an hour apart.
  assert.equal(weekMinuteOf(new Date('2024-10-27T00:30:00Z'), 'Europe/Berlin'), at('sun', '02:30'));
  assert.equal(weekMinuteOf(new Date('2024-10-27T01:30:00Z'), 'Europe/Berlin'), at('sun', '02:30'));
  // The host's zone when none is given (the test runner's TZ, whatever it is).
  const date = new Date('2024-05-08T12:34:00Z');
  const hostMinute = ((date.getDay() + 6) % 7) * DAY + date.getHours() * 60 + date.getMinutes();
  assert.equal(weekMinuteOf(date), hostMinute);
});

test('msUntilNextChange: real time to the next change, also across a clock change', () => {
  const zone = (tz: string, entry: string): SluiceConfig => ({ ...scheduled(entry), timezone: tz });
  const minutes = (cfg: SluiceConfig, iso: string): number | null => {
    const ms = msUntilNextChange(cfg, new Date(iso), cfg.timezone);
    return ms === null ? null : ms / 60_000;
  };
  // No clock change: the wall-clock distance, less the seconds already gone.
  assert.equal(minutes(zone('UTC', '{hours: "01:00-02:00", ceil: 100%}'), '2024-01-01T00:00:30Z'), 59.5);
  // Spring forward in Berlin (01:00Z: 02:00 CET becomes 03:00 CEST): 04:00 local is 3 hours after 00:00 CET, not 4.
  assert.equal(minutes(zone('Europe/Berlin', '{hours: "04:00-05:00", ceil: 100%}'), '2024-03-30T23:00:00Z'), 180);
  // A window starting in the skipped hour starts when the clock jumps.
  assert.equal(minutes(zone('Europe/Berlin', '{hours: "02:30-05:00", ceil: 100%}'), '2024-03-31T00:00:00Z'), 60);
  // Fall back (01:00Z: 03:00 CEST becomes 02:00 CET): 04:00 local is 5 hours after 00:00 CEST.
  assert.equal(minutes(zone('Europe/Berlin', '{hours: "04:00-05:00", ceil: 100%}'), '2024-10-26T22:00:00Z'), 300);
  assert.equal(minutes(zone('UTC', '{ceil: 100%}'), '2024-01-01T00:00:00Z'), null);
});

test('the configuration\'s timezone is read and spelt as Intl spells it', () => {
  assert.equal(config(['timezone: europe/berlin']).timezone, 'Europe/Berlin');
});
