/**
 * Unit suffixes on number literals in rules (`10MB`, `400kbit`, `5s`), turned into sluice's base
 * units (DESIGN.md principle 4): sizes in bytes, rates in bits per second, durations in
 * microseconds. Decimal prefixes are powers of 1000 (`KB`, `mbit`), binary ones powers of 1024
 * (`KiB`). Units are matched case-insensitively except where case carries meaning: none of the
 * accepted spellings differ only by case, so `10mb` is ten megabytes and `10mbit` ten megabits
 * (rates are always spelled with `bit`, so there is no bytes-or-bits guessing).
 */

/** Which quantity a unit measures; the checker compares it with an attribute's unit. */
export type UnitKind = 'size' | 'rate' | 'duration';

interface Unit {
  kind: UnitKind;
  /** Multiplier into the base unit (bytes, bits/s, µs). */
  scale: number;
}

const UNITS: ReadonlyMap<string, Unit> = new Map<string, Unit>([
  ['b', { kind: 'size', scale: 1 }],
  ['kb', { kind: 'size', scale: 1e3 }],
  ['mb', { kind: 'size', scale: 1e6 }],
  ['gb', { kind: 'size', scale: 1e9 }],
  ['tb', { kind: 'size', scale: 1e12 }],
  ['kib', { kind: 'size', scale: 1024 }],
  ['mib', { kind: 'size', scale: 1024 ** 2 }],
  ['gib', { kind: 'size', scale: 1024 ** 3 }],
  ['tib', { kind: 'size', scale: 1024 ** 4 }],
  ['bit', { kind: 'rate', scale: 1 }],
  ['kbit', { kind: 'rate', scale: 1e3 }],
  ['mbit', { kind: 'rate', scale: 1e6 }],
  ['gbit', { kind: 'rate', scale: 1e9 }],
  ['tbit', { kind: 'rate', scale: 1e12 }],
  ['us', { kind: 'duration', scale: 1 }],
  ['µs', { kind: 'duration', scale: 1 }],
  ['ms', { kind: 'duration', scale: 1e3 }],
  ['s', { kind: 'duration', scale: 1e6 }],
  ['m', { kind: 'duration', scale: 60e6 }],
  ['h', { kind: 'duration', scale: 3600e6 }],
  ['d', { kind: 'duration', scale: 86400e6 }],
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
