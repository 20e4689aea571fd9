/**
 * Classes' schedules on virtual time. A scenario that says `at: tue 02:00` starts with the windows in
 * force at that minute of the week, and every window that begins or ends before the scenario's end
 * is swapped in at its virtual moment, as the daemon's schedule clock does on the wall clock. A
 * scenario without `at` runs the base figures: virtual time has no day of the week of its own.
 */
import { resolveLinks, type ResolvedLink } from '../control/resolve.js';
import { activeEntries, formatWeekMinute, nextChangeIn, withSchedule, type ActiveEntry } from '../control/schedule.js';
import type { SluiceConfig } from '../control/schema.js';
import type { LinksChange } from './run.js';

const US_PER_MINUTE = 60_000_000;

/** The windows in force from a moment of the run on. */
export interface WindowsFrom {
  atUs: number;
  /** `tue 02:00`. */
  weekTime: string;
  active: ActiveEntry[];
}

export interface ScheduledRun {
  /** The links at virtual time 0. */
  links: ResolvedLink[];
  /** The swaps during the run, in time order. */
  changes: LinksChange[];
  /** The windows in force at 0 and after each change. */
  windows: WindowsFrom[];
}

/** The links and their changes over `durationUs` from minute `atWeekMinute` of the week. */
export function scheduledRun(config: SluiceConfig, atWeekMinute: number, durationUs: number): ScheduledRun {
  const windowsAt = (atUs: number, weekMinute: number): WindowsFrom => ({ atUs, weekTime: formatWeekMinute(weekMinute), active: activeEntries(config, weekMinute) });
  const run: ScheduledRun = { links: resolveLinks(withSchedule(config, atWeekMinute)), changes: [], windows: [windowsAt(0, atWeekMinute)] };
  let minutes = 0;
  // Each step is a minute at least, so the loop ends at the scenario's end.
  for (;;) {
    const step = nextChangeIn(config, atWeekMinute + minutes);
    if (step === null) break;
    minutes += step;
    const atUs = minutes * US_PER_MINUTE;
    if (atUs >= durationUs) break;
    const weekMinute = atWeekMinute + minutes;
    run.changes.push({ atUs, links: resolveLinks(withSchedule(config, weekMinute)) });
    run.windows.push(windowsAt(atUs, weekMinute));
  }
  return run;
}
