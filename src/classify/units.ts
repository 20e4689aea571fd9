/**
 * Unit suffixes on number literals in rules (`10MB`, `400kbit`, `5s`), turned into sluice's base
 * units (DESIGN.md principle 4): sizes in bytes, rates in bits per second, durations in
 * microseconds. Decimal prefixes are powers of 1000 (`KB`, `mbit`), binary ones powers of 1024
 * (`KiB`). Units are matched case-insensitively except where case carries meaning: none of the
 * accepted spellings differ only by case, so `10mb` is ten megabytes and `10mbit` ten megabits
 * (rates are always spelled with `bit`, so there is no bytes-or-bits guessing).
 */

import { DURATION_UNITS, RATE_UNITS, SIZE_UNITS } from '../control/units.js';

/** Which quantity a unit measures; the checker compares it with an attribute's unit. */
export type UnitKind = 'size' | 'rate' | 'duration';

interface Unit {
  kind: UnitKind;
  /** Multiplier into the base unit (bytes, bits/s, µs). */
  scale: number;
}

/**
 * The spellings are the configuration's (control/units.ts), less those a rule cannot read without
 * guessing: bare size letters (`5m` is five minutes in a rule) and rates in bytes per second
 * (`bps` family), since in a rule a rate is always spelled with `bit`.
 */
const UNITS: ReadonlyMap<string, Unit> = new Map<string, Unit>([
  ...Object.entries(SIZE_UNITS)
    .filter(([name]) => name.endsWith('b'))
    .map(([name, scale]): [string, Unit] => [name, { kind: 'size', scale }]),
  ...Object.entries(RATE_UNITS)
    .filter(([name]) => name.endsWith('bit'))
    .map(([name, scale]): [string, Unit] => [name, { kind: 'rate', scale }]),
  ...Object.entries(DURATION_UNITS).map(([name, scale]): [string, Unit] => [name, { kind: 'duration', scale }]),
]);

/** The spellings accepted, for error messages. */
export const UNIT_SPELLINGS = 'B, KB, MB, GB, TB, KiB…TiB, bit, kbit, mbit, gbit, us, ms, s, m, h, d';

/** Resolves a unit suffix; null when it is not one. */
export function lookupUnit(suffix: string): Unit | null {
  return UNITS.get(suffix.toLowerCase()) ?? null;
}

/** `value` in `suffix` units as a base-unit number, rounded to a whole byte, bit/s or µs. */
export function applyUnit(value: number, unit: Unit): number {
  return Math.round(value * unit.scale);
}
