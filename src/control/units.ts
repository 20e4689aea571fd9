/**
 * Units people write, parsed into sluice's base units and formatted back (DESIGN.md "one unit per
 * quantity"): rates in bits/s, sizes in bytes, durations in microseconds, all plain numbers.
 *
 * Rates follow tc's spellings, SI (k = 1000), case-insensitive, optional `/s`:
 *   bit, kbit, mbit, gbit, tbit         bits per second          (`2mbit`, `1.5Mbit/s`)
 *   kibit, mibit, gibit, tibit          1024-based bits per second
 *   bps, kbps, mbps, gbps, tbps         BYTES per second, as in tc (`1mbps` = 8mbit)
 * A bare number is refused: tc and people disagree on whether it means bits or bytes.
 * Sizes: a bare number is bytes; b; k/kb, m/mb, g/gb, t/tb are 1000-based; kib, mib, gib, tib are
 * 1024-based (case-insensitive, so `64kb` = `64KB` = 64000 bytes).
 * Durations: us (µs), ms, s, m (min), h, d. Percentages (`50%`): 0 < p <= 100.
 * Every parser throws UnitError with a message that says what to write instead.
 */
import { UnitError } from './errors.js';
import { closest } from './suggest.js';

/** Unit spellings (lower case) and their factor into bits/s, bytes and µs; the rule language reuses them. */
export const RATE_UNITS: Readonly<Record<string, number>> = {
  bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12,
  kibit: 1024, mibit: 1024 ** 2, gibit: 1024 ** 3, tibit: 1024 ** 4,
  bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9, tbps: 8e12,
};
export const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};
export const DURATION_UNITS: Readonly<Record<string, number>> = {
  us: 1, 'µs': 1, 'μs': 1, ms: 1e3, s: 1e6, m: 60e6, min: 60e6, h: 3600e6, d: 86400e6,
};
const RATE_UNIT_NAMES = Object.keys(RATE_UNITS);
const SIZE_UNIT_NAMES = ['B', 'KB', 'MB', 'GB', 'TB', 'KiB', 'MiB', 'GiB', 'TiB'];
const DURATION_UNIT_NAMES = ['us', 'ms', 's', 'm', 'h', 'd'];

/** A number followed by an optional unit, e.g. `2.4`, `mbit`. */
const NUMBER_AND_UNIT = /^(\d+(?:\.\d+)?|\.\d+)\s*([^\s\d.][^\s]*)?$/;

function split(text: string): { value: number; unit: string } | null {
  const m = NUMBER_AND_UNIT.exec(text.trim());
  if (m === null) return null;
  return { value: Number(m[1]), unit: m[2] ?? '' };
}

/** The number as written (`2.4` from `2.4mbits`), to build an example from. */
function numberPart(text: string): string {
  return /^\s*(\d+(?:\.\d+)?|\.\d+)/.exec(text)?.[1] ?? '2';
}

function quote(text: unknown): string {
  return `'${String(text)}'`;
}

/** The unit's multiplier, or a UnitError naming the closest known unit. */
function unitFactor(
  text: string, unit: string, units: Readonly<Record<string, number>>, names: readonly string[], what: string, example: string,
): number {
  const factor = units[unit.toLowerCase()];
  if (factor !== undefined) return factor;
  const near = closest(unit, names);
  const hint = near !== null ? `${numberPart(text)}${near}` : example;
  throw new UnitError(`${quote(text)} is not ${what} — write e.g. ${hint}`);
}

/** `2.4mbit` → 2400000 (bits/s). */
export function parseRate(text: string): number {
  const parts = split(text);
  if (parts === null) {
    if (/%\s*$/.test(text)) throw new UnitError(`${quote(text)} is a percentage; a rate is needed here — write e.g. 2mbit`);
    throw new UnitError(`${quote(text)} is not a rate — write e.g. 2mbit`);
  }
  if (parts.unit === '') {
    throw new UnitError(`${quote(text)} has no unit — write e.g. ${parts.value}bit or ${parts.value}kbit (bits per second)`);
  }
  if (parts.unit === '%') throw new UnitError(`${quote(text)} is a percentage; a rate is needed here — write e.g. 2mbit`);
  const unit = parts.unit.toLowerCase().endsWith('/s') && parts.unit.toLowerCase().includes('bit')
    ? parts.unit.slice(0, -2) : parts.unit;
  if (SIZE_UNITS[unit.toLowerCase()] !== undefined) {
    throw new UnitError(`${quote(text)} is a size, not a rate — write e.g. ${parts.value}mbit (bits/s) or ${parts.value}mbps (bytes/s)`);
  }
  return Math.round(parts.value * unitFactor(text, unit, RATE_UNITS, RATE_UNIT_NAMES, 'a rate', '2mbit'));
}

/** `64KB` → 64000, `2GiB` → 2147483648, 1500 → 1500 (bytes). */
export function parseSize(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isInteger(text) || text < 0) throw new UnitError(`${quote(text)} is not a size — write a whole number of bytes or e.g. 64KB`);
    return text;
  }
  const parts = split(text);
  if (parts === null) throw new UnitError(`${quote(text)} is not a size — write e.g. 1500, 64KB or 16MB`);
  if (RATE_UNITS[parts.unit.toLowerCase()] !== undefined) {
    throw new UnitError(`${quote(text)} is a rate, not a size — write e.g. ${parts.value}KB`);
  }
  const bytes = Math.round(parts.value * unitFactor(text, parts.unit, SIZE_UNITS, SIZE_UNIT_NAMES, 'a size', '64KB'));
  return bytes;
}

/** `5ms` → 5000, `1.5s` → 1500000, `1d` → 86400000000 (µs). */
export function parseDuration(text: string): number {
  const parts = split(text);
  if (parts === null) throw new UnitError(`${quote(text)} is not a duration — write e.g. 5ms, 30s or 5m`);
  if (parts.unit === '') throw new UnitError(`${quote(text)} has no unit — write e.g. ${parts.value}ms or ${parts.value}s`);
  return Math.round(parts.value * unitFactor(text, parts.unit, DURATION_UNITS, DURATION_UNIT_NAMES, 'a duration', '5ms'));
}

/** `50%` → 50. Must be above 0 and at most 100. */
export function parsePercent(text: string): number {
  const parts = split(text);
  if (parts === null || parts.unit !== '%') throw new UnitError(`${quote(text)} is not a percentage — write e.g. 50%`);
  if (parts.value <= 0 || parts.value > 100) {
    throw new UnitError(`${quote(text)} is not a percentage above 0% and at most 100%`);
  }
  return parts.value;
}

/** True when a rate is written in bytes per second (`2mbps`), which people often mean as bits. */
export function isByteRate(text: string): boolean {
  const parts = split(text);
  return parts !== null && /^[kmgt]?bps$/i.test(parts.unit);
}

/** At most three decimals, trailing zeros dropped: 2.4, 1.538, 25. */
function short(value: number): string {
  return String(Number(value.toFixed(3)));
}

function scaled(value: number, steps: ReadonlyArray<readonly [number, string]>, zero: string): string {
  if (value === 0) return zero;
  for (const [factor, unit] of steps) {
    if (Math.abs(value) >= factor) return `${short(value / factor)}${unit}`;
  }
  const [factor, unit] = steps[steps.length - 1];
  return `${short(value / factor)}${unit}`;
}

const RATE_STEPS = [[1e12, 'tbit'], [1e9, 'gbit'], [1e6, 'mbit'], [1e3, 'kbit'], [1, 'bit']] as const;
const SIZE_STEPS = [[1e12, 'TB'], [1e9, 'GB'], [1e6, 'MB'], [1e3, 'KB'], [1, 'B']] as const;
const BINARY_STEPS = [[1024 ** 4, 'TiB'], [1024 ** 3, 'GiB'], [1024 ** 2, 'MiB'], [1024, 'KiB']] as const;
const DURATION_STEPS = [[86400e6, 'd'], [3600e6, 'h'], [60e6, 'm'], [1e6, 's'], [1e3, 'ms'], [1, 'us']] as const;

/** 2400000 → `2.4mbit`. */
export function formatRate(rateBps: number): string {
  return scaled(rateBps, RATE_STEPS, '0bit');
}

/** 64000 → `64KB`, 65536 → `64KiB`, 1538 → `1538B`. Exact binary multiples keep their binary unit. */
export function formatSize(bytes: number): string {
  if (bytes !== 0 && bytes < 10_000 && Number.isInteger(bytes) && bytes % 1000 !== 0 && bytes % 1024 !== 0) return `${bytes}B`;
  if (bytes % 1000 !== 0) {
    for (const [factor, unit] of BINARY_STEPS) {
      if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
    }
  }
  return scaled(bytes, SIZE_STEPS, '0B');
}

/** 5000 → `5ms`, 1500000 → `1.5s`, Infinity → `never`. */
export function formatDuration(us: number): string {
  if (us === Infinity) return 'never';
  return scaled(us, DURATION_STEPS, '0us');
}
