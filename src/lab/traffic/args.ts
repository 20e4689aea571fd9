/**
 * What each traffic-agent role is told: one JSON object per run, checked here (zod) before the role
 * starts, so that a mistake is one line on stderr and exit 1 rather than a half-started measurement.
 * The API (index.ts) builds these objects; a person can write them by hand too:
 *
 *   node agent.js udp-rate '{"host":"10.200.1.2","port":5302,"rateBps":20000000,"payloadBytes":1200,"durationMs":5000}'
 *
 * Units are the project's: bits/s, bytes, and milliseconds for the durations a person sets (the
 * round trips measured come back in microseconds). Every role is bounded: clients by durationMs,
 * servers by lifetimeMs (they also stop early on SIGTERM or SIGINT, printing their result).
 */
import { isIP } from 'node:net';
import { z } from 'zod';

/** Longest run any role accepts: 10 minutes. */
export const MAX_DURATION_MS = 600_000;

/** Payload offsets of the run tag and sequence number in udp-rate and rr datagrams (big-endian u32). */
export const TAG_OFFSET = 0;
export const SEQ_OFFSET = 4;
/** The smallest payload that holds the tag and the sequence number. */
export const MIN_TAGGED_BYTES = 8;
/** Size of one request and of its echo in the request/response probe. */
export const RR_MESSAGE_BYTES = 16;

const family = z.union([z.literal(4), z.literal(6)]).default(4);
const port = z.int().min(1).max(65535);
const durationMs = z.number().positive().max(MAX_DURATION_MS);
const host = z.string().refine((s) => isIP(s) !== 0, 'expected an IPv4 or IPv6 address');
/** A run tag: datagrams carrying another tag (strays, a flood) are not counted. */
const tag = z.int().min(1).max(0xffff_ffff);

const server = { port, family, lifetimeMs: durationMs };
const client = { host, port, family, durationMs };

const schemas = {
  'tcp-sink': z.strictObject({ ...server }),
  'tcp-bulk': z.strictObject({
    ...client,
    streams: z.int().min(1).max(64).default(1),
    /** Bytes handed to write() at a time (one buffer, reused). */
    writeBytes: z.int().min(1024).max(16 << 20).default(1 << 20),
    /** After durationMs, how long a graceful close may take before the streams are reset. */
    lingerMs: z.number().min(0).max(60_000).default(2000),
  }),
  'udp-sink': z.strictObject({ ...server, tag }),
  'udp-rate': z.strictObject({
    ...client,
    tag,
    rateBps: z.number().positive().max(100e9),
    payloadBytes: z.int().min(MIN_TAGGED_BYTES).max(65_507),
  }),
  'rr-server': z.strictObject({ ...server, tag, proto: z.enum(['udp', 'tcp']).default('udp') }),
  'rr-probe': z.strictObject({
    ...client,
    tag,
    proto: z.enum(['udp', 'tcp']).default('udp'),
    intervalMs: z.number().min(0.1).max(60_000),
    /** A reply later than this is counted lost (and the run waits this long for the last ones). */
    timeoutMs: z.number().positive().max(60_000).default(1000),
  }),
  'udp-flood': z.strictObject({
    host,
    family,
    durationMs,
    packetsPerSecond: z.number().positive().max(2_000_000),
    payloadBytes: z.int().min(0).max(1472).default(64),
    /** Source sockets (source ports) the packets are spread over. */
    sockets: z.int().min(1).max(256).default(16),
    /** Destination ports are drawn uniformly from [portLow, portHigh]. */
    portLow: port.default(20_000),
    portHigh: port.default(60_000),
  }).refine((a) => a.portLow <= a.portHigh, 'portLow must not exceed portHigh'),
} as const;

export type Role = keyof typeof schemas;
export const ROLES = Object.keys(schemas) as Role[];

export type TcpSinkArgs = z.output<(typeof schemas)['tcp-sink']>;
export type TcpBulkArgs = z.output<(typeof schemas)['tcp-bulk']>;
export type UdpSinkArgs = z.output<(typeof schemas)['udp-sink']>;
export type UdpRateArgs = z.output<(typeof schemas)['udp-rate']>;
export type RrServerArgs = z.output<(typeof schemas)['rr-server']>;
export type RrProbeArgs = z.output<(typeof schemas)['rr-probe']>;
export type UdpFloodArgs = z.output<(typeof schemas)['udp-flood']>;

/** What a caller may pass for a role: the checked object before defaults are filled in. */
export type RoleInput<R extends Role> = z.input<(typeof schemas)[R]>;
export type RoleArgs<R extends Role> = z.output<(typeof schemas)[R]>;

export function isRole(name: string): name is Role {
  return Object.hasOwn(schemas, name);
}

/** Parses and checks a role's JSON argument; throws one line naming every problem. */
export function parseRoleArgs<R extends Role>(role: R, json: string): RoleArgs<R> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error(`${role}: the argument is not JSON: ${json.slice(0, 80)}`);
  }
  const parsed = schemas[role].safeParse(value);
  if (parsed.success) return parsed.data as RoleArgs<R>;
  const problems = parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message));
  throw new Error(`${role}: ${problems.join('; ')}`);
}
