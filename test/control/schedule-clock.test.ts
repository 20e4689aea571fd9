/**
 * The daemon's schedule clock on virtual time: it reports a window's start and end once each, a few
 * ms after the minute, never sleeps more than a minute (so a stepped clock is caught), arms nothing
 * for a file without schedules, and is silent once stopped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/control/load.js';
import { MAX_SLEEP_MS, ScheduleClock, type WallClock } from '../../src/control/schedule-clock.js';
import type { SluiceConfig } from '../../src/control/schema.js';

const CONFIG = `timezone: UTC
links:
  - interface: eth0
    egress: 10mbit
classes:
  bulk:
    rate: 1mbit
    ceil: 5mbit
    schedule:
      - hours: "01:00-07:00"
        ceil: 10mbit
  default:
    rate: 1mbit
`;

/** Monday 2026-11-23 00:30 UTC. */
const MONDAY_0030_MS = Date.UTC(2026, 10, 23, 0, 30);
const MINUTE_MS = 60_000;

function load(text: string): SluiceConfig {
  const r = parseConfigText(text, 'clock.yaml');
  assert.ok(r.ok, JSON.stringify(r));
  return r.config;
}

/** A wall clock and timers that move only when told; timers run on elapsed time, which a step of the wall clock leaves alone. */
class VirtualClock implements WallClock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  private stepMs = 0;
  readonly sleepsMs: number[] = [];
  constructor(public nowMs: number) {}
  now(): Date {
    return new Date(this.nowMs + this.stepMs);
  }
  /** The wall clock jumps by `ms`, as NTP or a resume from suspend makes it. */
  step(ms: number): void {
    this.stepMs += ms;
  }
  setTimer(fn: () => void, ms: number): unknown {
    this.sleepsMs.push(ms);
    const id = ++this.ids;
    this.timers.push({ at: this.nowMs + ms, fn, id });
    return id;
  }
  clearTimer(timer: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== timer);
  }
  get pending(): number {
    return this.timers.length;
  }
  /** Moves time to `toMs`, running each timer due on the way at its own time. */
  advanceTo(toMs: number): void {
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (next === undefined || next.at > toMs) break;
      this.timers.shift();
      this.nowMs = next.at;
      next.fn();
    }
    this.nowMs = toMs;
  }
}

function started(nowMs: number, text = CONFIG): { clock: VirtualClock; changes: { atMs: number; weekMinute: number }[]; schedule: ScheduleClock } {
  const clock = new VirtualClock(nowMs);
  const changes: { atMs: number; weekMinute: number }[] = [];
  const schedule = new ScheduleClock((weekMinute) => changes.push({ atMs: clock.now().getTime(), weekMinute }), clock);
  const config = load(text);
  schedule.watch(config, schedule.weekMinute(config));
  return { clock, changes, schedule };
}

test('a window\'s start and end are each reported once, within a few ms after the minute, with that minute of the week', () => {
  const { clock, changes } = started(MONDAY_0030_MS);
  clock.advanceTo(MONDAY_0030_MS + 30 * MINUTE_MS - 1);
  assert.equal(changes.length, 0, 'nothing changes before 01:00');
  clock.advanceTo(MONDAY_0030_MS + 8 * 60 * MINUTE_MS);
  assert.equal(changes.length, 2, JSON.stringify(changes));
  const start = MONDAY_0030_MS + 30 * MINUTE_MS;
  const end = start + 6 * 60 * MINUTE_MS;
  assert.ok(changes[0].atMs >= start && changes[0].atMs < start + 100, `the window began at ${new Date(changes[0].atMs).toISOString()}`);
  assert.equal(changes[0].weekMinute, 60, 'Monday 01:00');
  assert.ok(changes[1].atMs >= end && changes[1].atMs < end + 100, `the window ended at ${new Date(changes[1].atMs).toISOString()}`);
  assert.equal(changes[1].weekMinute, 7 * 60, 'Monday 07:00');
  assert.ok(Math.max(...clock.sleepsMs) <= MAX_SLEEP_MS, `it slept ${Math.max(...clock.sleepsMs)} ms at once`);
});

test('a clock stepped forward into the window is noticed within a minute', () => {
  const { clock, changes } = started(MONDAY_0030_MS);
  clock.step(90 * MINUTE_MS); // 00:30 → 02:00
  clock.advanceTo(clock.nowMs + MINUTE_MS);
  assert.equal(changes.length, 1, JSON.stringify(changes));
  assert.ok(changes[0].weekMinute >= 120 && changes[0].weekMinute <= 121, `at week minute ${changes[0].weekMinute}`);
});

test('a file without schedules arms no timer, and a stopped clock reports nothing', () => {
  const plain = started(MONDAY_0030_MS, CONFIG.replace(/ {4}schedule:\n.*\n.*\n/, ''));
  assert.equal(plain.clock.pending, 0);
  const { clock, changes, schedule } = started(MONDAY_0030_MS);
  assert.equal(clock.pending, 1);
  schedule.stop();
  clock.advanceTo(MONDAY_0030_MS + 24 * 60 * MINUTE_MS);
  assert.equal(changes.length, 0);
});
