/**
 * The running daemon's schedule clock: it notices when a class's time window (schedule.ts) begins or
 * ends and says so, so the daemon swaps the new figures in without anyone reloading the file.
 *
 * It sleeps until the next change msUntilNextChange() predicts (a few ms past it, since timers may
 * fire early), then reads the wall clock again and reports only when the set of entries in force
 * really changed. It never sleeps longer than a minute: a clock stepped by NTP, a time zone's rules
 * or a suspended machine are caught within that. A configuration without schedules arms no timer.
 * The wall clock and timers are injected, so tests run it on virtual time.
 */
import { activeEntries, msUntilNextChange, weekMinuteOf, type ActiveEntry } from './schedule.js';
import type { SluiceConfig } from './schema.js';

export interface WallClock {
  now(): Date;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

export const SYSTEM_CLOCK: WallClock = {
  now: () => new Date(),
  setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** The longest sleep between two looks at the clock. */
export const MAX_SLEEP_MS = 60_000;
/** How far past a predicted change the clock wakes. */
const PAST_CHANGE_MS = 5;

/** Which entries are in force, as one comparable string. */
function key(active: readonly ActiveEntry[]): string {
  return active.map((a) => `${a.classPath}#${a.index}`).join(' ');
}

export class ScheduleClock {
  private config: SluiceConfig | null = null;
  private applied = '';
  private timer: unknown = null;

  /** onChange gets the minute of the week whose windows are now in force. */
  constructor(private readonly onChange: (weekMinute: number) => void, private readonly clock: WallClock = SYSTEM_CLOCK) {}

  /** The minute of the week it is now in `config`'s time zone. */
  weekMinute(config: SluiceConfig): number {
    return weekMinuteOf(this.clock.now(), config.timezone);
  }

  /** Watches `config`, which runs with the windows in force at `weekMinute`; replaces what was watched. */
  watch(config: SluiceConfig, weekMinute: number): void {
    this.stop();
    this.config = config;
    this.applied = key(activeEntries(config, weekMinute));
    this.arm();
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private arm(): void {
    const config = this.config as SluiceConfig;
    const ms = msUntilNextChange(config, this.clock.now(), config.timezone);
    if (ms === null) return;
    this.timer = this.clock.setTimer(() => this.tick(), Math.min(Math.max(ms, 0) + PAST_CHANGE_MS, MAX_SLEEP_MS));
  }

  private tick(): void {
    this.timer = null;
    const config = this.config as SluiceConfig;
    const weekMinute = this.weekMinute(config);
    const now = key(activeEntries(config, weekMinute));
    if (now !== this.applied) {
      this.applied = now;
      this.onChange(weekMinute);
    }
    this.arm();
  }
}
