/**
 * The configuration file's schema (zod 4): what a person may write, with units parsed into base
 * units on the way through. It checks shape and single values only; checks that relate several
 * values (rate sums, ceil >= rate, the default class) are in checks.ts, and defaults and
 * percentages are applied in resolve.ts, so that each default is written in exactly one place.
 * The JSON Schema in schema/sluice.schema.json is generated from these definitions
 * (scripts/gen-schema.ts); the output types keep the file's key names so that a problem's path
 * (`classes.torrents.ceil`) is also the path to the value.
 *
 * Unknown keys are errors whose message suggests the closest known key. An object with several
 * unknown keys yields one message line per key, in the order of the issue's `keys`, which is how
 * load.ts splits it into one problem per key.
 */
import { z } from 'zod';
import type { RuleOrigin } from '../classify/errors.js';
import { UnitError } from './errors.js';
import { parseDays, parseHours, parseTimeZone } from './schedule.js';
import { didYouMean } from './suggest.js';
import { parseDuration, parsePercent, parseRate, parseSize } from './units.js';

/** Class and link names: no dots or slashes (they separate paths), and not number-like (object key order). */
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A rate written in bits/s, or a percentage of the parent's figure in the same direction. */
export type RateSpec = { bps: number } | { percent: number };
/** A burst written as bytes, or as a duration's worth of the rate it goes with. */
export type BurstSpec = { bytes: number } | { us: number };

/** A strict object whose unknown-key message suggests the closest known key (one line per key). */
export function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') {
        return iss.keys.map((k) => `unknown key '${k}'${didYouMean(k, known)}`).join('\n');
      }
      if (iss.code === 'invalid_type') return 'expected a mapping (key: value lines)';
      return undefined;
    },
  });
}

/** A firewall mark and the bits of it to set (iptables' MARK --set-xmark value/mask). */
export interface MarkSpec {
  value: number;
  mask: number;
}

/** `0x10`, `16` or `0x10/0xff`: a 32-bit mark, with an optional mask (default all bits). */
export function parseMark(text: string): MarkSpec {
  const m = /^\s*(0x[0-9a-f]+|\d+)\s*(?:\/\s*(0x[0-9a-f]+|\d+)\s*)?$/i.exec(text);
  const num = (t: string): number => (t.toLowerCase().startsWith('0x') ? Number.parseInt(t.slice(2), 16) : Number.parseInt(t, 10));
  const value = m ? num(m[1]) : NaN;
  const mask = m && m[2] !== undefined ? num(m[2]) : 0xffffffff;
  if (!(value >= 0 && value <= 0xffffffff && mask > 0 && mask <= 0xffffffff)) {
    throw new UnitError(`'${text}' is not a mark — write a 32-bit value such as 0x10, or value/mask such as 0x10/0xff`);
  }
  if ((value & ~mask) >>> 0 !== 0) throw new UnitError(`'${text}': the value sets bits outside its mask — write e.g. 0x10/0xff`);
  return { value, mask };
}

/** A string parsed by a unit parser; its UnitError becomes the issue's message. */
function unitString<T>(parse: (text: string) => T, expected: string) {
  return z.string({ error: `expected ${expected}` }).transform((text, ctx) => parseOrIssue(parse, text, ctx));
}

/** As unitString, also accepting a bare number (sizes: `1500`). */
export function unitValue<T>(parse: (value: string | number) => T, expected: string) {
  return z.union([z.number(), z.string()], { error: `expected ${expected}` }).transform((value, ctx) => parseOrIssue(parse, value, ctx));
}

/** `continue: true` keeps the issue from aborting, so a union reports it rather than "invalid input". */
function parseOrIssue<V, T>(parse: (value: V) => T, value: V, ctx: z.core.$RefinementCtx<V>): T {
  try {
    return parse(value);
  } catch (err) {
    if (!(err instanceof UnitError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message, input: value, continue: true });
    return z.NEVER;
  }
}

/** A rate in bits/s; zero (`0kbit`) is refused. */
export function positiveRate(text: string): number {
  const bps = parseRate(text);
  if (bps <= 0) throw new UnitError(`'${text}' is not a rate above 0 — write e.g. 2mbit`);
  return bps;
}

function rateOrPercent(text: string): RateSpec {
  return /%\s*$/.test(text) ? { percent: parsePercent(text) } : { bps: positiveRate(text) };
}

/** Durations in a burst are short (us, ms, s); anything else (`25KB`, `1500`, `5m` = 5 MB) is a size. */
function burst(text: string | number): BurstSpec {
  if (typeof text === 'number') return { bytes: parseSize(text) };
  const unit = (/[a-zµμ]*$/i.exec(text.trim())?.[0] ?? '').toLowerCase();
  return ['us', 'µs', 'μs', 'ms', 's'].includes(unit) ? { us: parseDuration(text) } : { bytes: parseSize(text) };
}

/** DSCP code points by name (RFC 2474, 2597, 3246, 8622). */
export const DSCP_NAMES: Readonly<Record<string, number>> = (() => {
  const names: Record<string, number> = { EF: 46, LE: 1, DF: 0, BE: 0, VA: 44 };
  for (let cs = 0; cs <= 7; cs++) names[`CS${cs}`] = cs * 8;
  for (let c = 1; c <= 4; c++) for (let d = 1; d <= 3; d++) names[`AF${c}${d}`] = c * 8 + d * 2;
  return names;
})();

function dscpName(text: string): number {
  const value = DSCP_NAMES[text.trim().toUpperCase()];
  if (value !== undefined) return value;
  throw new UnitError(`'${text}' is not a DSCP name${didYouMean(text, Object.keys(DSCP_NAMES))} (EF, AF11..AF43, CS0..CS7, LE, or a number 0..63)`);
}

function queueRange(text: string): { first: number; last: number } {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(text);
  if (m === null) throw new UnitError(`'${text}' is not a queue range — write e.g. 3 or 3-4`);
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (first > last || last > 65535) throw new UnitError(`'${text}' is not a queue range: first <= last <= 65535`);
  return { first, last };
}

const RATE_OR_PERCENT = 'a rate such as 2mbit or a percentage such as 50%';
const BURST = 'a size such as 25KB or a duration such as 10ms';
const rateSchema = unitString(positiveRate, 'a rate such as 20mbit');
const rateOrPercentSchema = unitString(rateOrPercent, RATE_OR_PERCENT);
const sizeSchema = unitValue(parseSize, 'a size such as 1500 or 64KB');
const burstSchema = unitValue(burst, BURST);
const durationSchema = unitString(parseDuration, 'a duration such as 5ms');

/** A value, or one per direction: `2mbit` or `{egress: 2mbit, ingress: 10mbit}`. Output: per direction. */
function perDirection<T, I>(value: z.ZodType<T, I>, expected: string) {
  return z.union([
    value.transform((v) => ({ egress: v, ingress: v }) as { egress?: T; ingress?: T }),
    strict({ egress: value.optional(), ingress: value.optional() }),
  ], { error: `expected ${expected}, or one per direction: {egress: ..., ingress: ...}` });
}

/** owner_wait: packets of a new connection are held this long at most, so it stays short. */
function ownerWait(text: string): number {
  const us = parseDuration(text);
  if (us > 100_000) throw new Error(`'${text}' is too long: a new connection's packets wait this long for their owner; at most 100ms`);
  return us;
}
const countSchema = z.int({ error: 'expected a whole number' }).positive();
const limitObject = strict({
  packets: countSchema.optional().describe('packets, default 1000'),
  bytes: sizeSchema.optional().describe('bytes, default 4MB'),
});

const aqmSchema = z.union([
  z.literal('none'),
  strict({
    codel: strict({
      target: durationSchema.optional().describe('acceptable standing delay, default 5ms'),
      interval: durationSchema.optional().describe('window, default 100ms'),
    }).optional(),
    ecn: z.boolean().optional().describe('mark instead of drop, default true'),
  }),
], { error: 'expected `none` or {codel: {target, interval}, ecn}' });

const DAYS = 'a day (mon), a range (mon-fri) or a list [sat, sun]';
const daysSchema = z.union([
  unitString(parseDays, DAYS),
  z.array(unitString(parseDays, DAYS)).min(1, 'give at least one day, or leave days out for every day')
    .transform((masks) => masks.reduce((all, mask) => all | mask, 0)),
], { error: `expected ${DAYS}` });

/** One time window of a class: when it holds, and the figures that replace the class's then. */
const scheduleEntrySchema = strict({
  days: daysSchema.optional().describe('mon..sun, a range such as mon-fri (fri-mon wraps) or a list [sat, sun]; default every day'),
  hours: unitString(parseHours, 'a time range such as 22:00-06:00').optional()
    .describe('HH:MM-HH:MM local time, end excluded; 22:00-06:00 wraps midnight (the part after it belongs to the day it started); default the whole day'),
  rate: perDirection(rateOrPercentSchema, RATE_OR_PERCENT).optional().describe('the rate in this window, as the class\'s rate'),
  ceil: perDirection(rateOrPercentSchema, RATE_OR_PERCENT).optional().describe('the ceil in this window, as the class\'s ceil'),
}).refine((entry) => entry.rate !== undefined || entry.ceil !== undefined, 'a schedule entry changes rate and/or ceil: give one');

const FAIRNESS = ['flow', 'src-host', 'dst-host', 'hosts', 'none'] as const;
const DIRECTIONS = ['egress', 'ingress', 'both'] as const;

const classShape = {
  rate: perDirection(rateOrPercentSchema, RATE_OR_PERCENT).describe('guaranteed rate, or % of the parent\'s rate; per direction allowed'),
  ceil: perDirection(rateOrPercentSchema, RATE_OR_PERCENT).optional().describe('most it may borrow up to, or % of the parent\'s ceil; default the parent\'s ceil'),
  burst: perDirection(burstSchema, BURST).optional().describe('a size, or a duration of the rate; default 10ms, at least one MTU'),
  cburst: perDirection(burstSchema, BURST).optional().describe('a size, or a duration of the ceil; default 10ms, at least one MTU'),
  prio: z.int().min(0).max(7).optional().describe('0 (first) .. 7, default 4'),
  weight: z.number().positive().max(1000).optional().describe('share of excess among equal prio: quantum = weight x MTU on the wire'),
  fairness: z.enum(FAIRNESS).optional().describe('how a leaf splits into sub-queues, default flow'),
  flow_ceil: perDirection(rateOrPercentSchema, RATE_OR_PERCENT).optional().describe('cap per sub-queue, or % of the class\'s ceil'),
  flow_limit: z.int().min(0).optional().describe('packets per sub-queue, default 0 (only the class limit)'),
  limit: z.union([countSchema, limitObject], { error: 'expected a number of packets or {packets, bytes}' })
    .transform((v): { packets?: number; bytes?: number } => (typeof v === 'number' ? { packets: v } : v)).optional()
    .describe('class queue limit: packets, or {packets, bytes}; default 1000 packets, 4MB'),
  aqm: aqmSchema.optional().describe('CoDel settings, or `none`'),
  match: z.string().min(1).optional().describe('rule: when the packet belongs here'),
  set_dscp: z.union([z.int().min(0).max(63), unitString(dscpName, 'a DSCP name such as EF')], { error: 'expected a DSCP name or a number 0..63' })
    .optional().describe('DSCP written on release: EF, AF11..AF43, CS0..CS7, LE, or 0..63'),
  set_mark: z.union([z.int().min(0).max(0xffffffff), unitString(parseMark, 'a mark such as 0x10 or 0x10/0xff')], { error: 'expected a mark such as 0x10 or 0x10/0xff' })
    .transform((v): MarkSpec => (typeof v === 'number' ? { value: v, mask: 0xffffffff } : v))
    .optional().describe('firewall mark written on release: value, or value/mask to change only the mask bits (marks of VPNs and containers survive)'),
  drop: z.boolean().optional().describe('drop every packet that lands in this class (blocking)'),
  direction: z.enum(DIRECTIONS).optional().describe('where the class exists, default both'),
  schedule: z.array(scheduleEntrySchema, { error: 'expected a list of entries such as - {hours: 01:00-07:00, ceil: 100%}' })
    .min(1, 'give at least one entry, or remove schedule').optional()
    .describe('time windows in which rate and/or ceil differ; the first entry that holds wins, otherwise rate and ceil above apply'),
  get classes() {
    return classMapSchema.optional().describe('children, tried in order when this class matches');
  },
};

const classSchema = strict(classShape);
export const classNameSchema = z.string().regex(NAME_PATTERN, 'a class name starts with a letter or _ and holds only letters, digits, _ and -');
const classMapSchema: z.ZodRecord<typeof classNameSchema, typeof classSchema> = z.record(classNameSchema, classSchema)
  .meta({ id: 'classes' });

const linkSchema = strict({
  interface: z.string().regex(/^[^\s/:]{1,15}$/, 'an interface name is 1 to 15 characters without spaces, / or :').describe('network interface'),
  name: z.string().regex(NAME_PATTERN, 'a link name starts with a letter or _ and holds only letters, digits, _ and -').optional()
    .describe('name in status and stats, default the interface'),
  egress: rateSchema.optional().describe('rate out; omitted: egress not shaped'),
  ingress: rateSchema.optional().describe('rate in; omitted: ingress not shaped'),
  overhead: z.int().min(-64).max(256).optional().describe('bytes the wire adds per IP packet, default 0'),
  mpu: z.int().min(0).max(2048).optional().describe('smallest packet on the wire, bytes, default 0'),
  mtu: z.int().min(68).max(65535).optional().describe('largest IP packet, bytes, default 1500'),
  buffer: strict({
    packets: countSchema.optional().describe('default 10000'),
    bytes: sizeSchema.optional().describe('default 16MB'),
  }).optional().describe('one limit for the whole link direction'),
});

const datapathSchema = strict({
  kind: z.enum(['nfqueue', 'bridge', 'tun', 'sim']).optional().describe('default nfqueue'),
  queues: z.union([
    z.int().min(0).max(65535).transform((n) => ({ first: n, last: n })),
    unitString(queueRange, 'a queue number or a range such as 3-4'),
  ], { error: 'expected a queue number or a range such as 3-4' }).optional().describe('NFQUEUE number or range, default 0'),
  fail: z.enum(['open', 'closed']).optional().describe('what traffic does when sluice is down, default open'),
  firewall: z.enum(['iptables', 'none']).optional().describe('who installs the queueing rules, default iptables'),
  bypass_mark: z.int().min(1).max(0xffffffff).optional().describe('packets with this mark are never queued'),
  exempt: z.array(z.string().min(1)).optional().describe('rules for packets never queued'),
});

/** Log levels, most severe first: a level logs itself and everything above it. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const logSchema = strict({
  level: z.enum(LOG_LEVELS).optional().describe('least severe level written, default info; `sluice run -v` makes it debug, -q warn'),
  format: z.enum(['text', 'json']).optional().describe('text: one line per event (with a syslog priority prefix under journald); json: one object per line. Default text'),
});

export const configSchema = strict({
  datapath: datapathSchema.optional(),
  log: logSchema.optional().describe('what the daemon writes to stdout and stderr'),
  geoip: z.string().min(1).optional().describe('MaxMind-format country database (.mmdb) for cc and country; default the one shipped with sluice'),
  timezone: unitString(parseTimeZone, 'an IANA time zone such as Europe/Paris').optional()
    .describe('time zone of the hours in class schedules (IANA name, e.g. Europe/Paris); default the host\'s'),
  owner_wait: unitString(ownerWait, 'a duration such as 5ms').optional().describe("how long a new connection's first packets may wait while its owning process is looked up, default 5ms"),
  links: z.array(linkSchema).min(1, 'at least one link is needed'),
  classes: classMapSchema.optional().describe('the class tree, applied to every link and direction; order is match order'),
});

/** One class as written, units parsed. */
export type ClassSpec = z.output<typeof classSchema>;
/** One schedule entry as written: days as a mask (bit 0 = Monday), hours in minutes of the day. */
export type ScheduleEntrySpec = z.output<typeof scheduleEntrySchema>;
export type LinkSpec = z.output<typeof linkSchema>;
export type DatapathSpec = z.output<typeof datapathSchema>;
/** The file's contents after the schema: keys as written, units in base units. */
export type ConfigFile = z.output<typeof configSchema>;

/**
 * A loaded configuration: the file's contents plus where each rule string was written, keyed by
 * its config path (`classes.torrents.match`, `datapath.exempt[0]`); built by load.ts.
 */
export type SluiceConfig = ConfigFile & { file: string; ruleOrigins: Record<string, RuleOrigin> };

/** The JSON Schema editors use to check and complete sluice.yaml (what people write: io 'input'). */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...rest } = schema;
  return { $schema, title: 'sluice configuration', ...rest };
}

/** The text of schema/sluice.schema.json, as scripts/gen-schema.ts writes it. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
