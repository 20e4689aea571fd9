/**
 * The scenario file: what traffic to simulate against a configuration, written in YAML with the
 * same units as the configuration (`10s`, `20ms`, `2mbit`, `1500`, `10MB`). Validated with zod;
 * every problem is reported as a ConfigProblem (file, line, column, path, message), formatted like
 * the configuration's with formatProblem.
 *
 *   duration: 10s          # virtual time to simulate
 *   rtt: 20ms              # default propagation round trip (sluice is next to the local side)
 *   warmup: 1s             # optional: counters start after this much time
 *   ecn: true              # TCP sources send ECN-capable packets (default false)
 *   at: tue 02:00          # optional: the moment of the week it starts at, for classes' schedules
 *   sources:
 *     - name: bulk
 *       kind: tcp          # tcp | constant | onoff | interactive
 *       src: 192.168.1.10  # sender of the data packets (local for egress, remote for ingress)
 *       sport: 40000
 *       dst: 203.0.113.5
 *       dport: 443
 *       direction: egress  # direction of the data: egress (upload) or ingress (download)
 *       count: 8           # 8 flows, local ports 40000..40007
 *       hosts: 1           # or N local hosts, local address incremented (many-hosts scenarios)
 *       owner: {user: fred, cmd: curl}   # the local program, for rules on processes (uid, cmd, unit, ...)
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { unreadableProblem, type ConfigProblem } from '../control/errors.js';
import { formatPath, SourceMap, type PathSegment } from '../control/locate.js';
import { parseWeekMinute } from '../control/schedule.js';
import { DSCP_NAMES, positiveRate, strict, unitValue } from '../control/schema.js';
import { parseDuration, parseSize } from '../control/units.js';
import { parseAddress } from '../packet/addr.js';

const SOURCE_KINDS = ['tcp', 'constant', 'onoff', 'interactive'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

const duration = unitValue((v) => parseDuration(String(v)), 'a duration such as 10s');
const rate = unitValue((v) => positiveRate(String(v)), 'a rate such as 2mbit');
const size = unitValue(parseSize, 'a size such as 1500 or 10MB');
const port = z.int({ error: 'expected a port number' }).min(0).max(65535);
const address = z.string({ error: 'expected an IP address' }).refine((s) => parseAddress(s) !== null, 'expected an IPv4 or IPv6 address');
const dscp = z.union([
  z.int().min(0).max(63),
  z.string().refine((s) => DSCP_NAMES[s.toUpperCase()] !== undefined, 'expected a DSCP name (EF, AF11..AF43, CS0..CS7, LE) or 0..63')
    .transform((s) => DSCP_NAMES[s.toUpperCase()]),
], { error: 'expected a DSCP name or a number 0..63' });

const sourceSchema = strict({
  name: z.string().min(1, 'a source needs a name'),
  kind: z.enum(SOURCE_KINDS, { error: `expected one of ${SOURCE_KINDS.join(', ')}` }),
  link: z.string().optional(),
  direction: z.enum(['egress', 'ingress'], { error: 'expected egress or ingress' }).optional(),
  proto: z.enum(['tcp', 'udp', 'icmp'], { error: 'expected tcp, udp or icmp' }).optional(),
  src: address,
  sport: port.optional(),
  dst: address,
  dport: port.optional(),
  start: duration.optional(),
  stop: duration.optional(),
  rtt: duration.optional(),
  dscp: dscp.optional(),
  ecn: z.boolean().optional(),
  count: z.int().min(1).max(10_000).optional(),
  hosts: z.int().min(1).max(10_000).optional(),
  // tcp
  mss: z.int().min(100).max(9000).optional(),
  rwnd: size.optional(),
  bytes: size.optional(),
  // constant, onoff
  rate: rate.optional(),
  size: z.int({ error: 'expected a packet size in bytes' }).min(28).max(9000).optional(),
  on: duration.optional(),
  off: duration.optional(),
  // the process that owns the flow's local socket: what sluice's owner lookup would find
  owner: strict({
    user: z.string().min(1).optional(),
    uid: z.int().min(0).optional(),
    group: z.string().min(1).optional(),
    gid: z.int().min(0).optional(),
    pid: z.int().min(1).optional(),
    cmd: z.string().min(1).optional(),
    exe: z.string().min(1).optional(),
    args: z.string().optional(),
    cgroup: z.string().min(1).optional(),
    unit: z.string().min(1).optional(),
  }).optional(),
  // interactive
  interval: duration.optional(),
  response: z.int({ error: 'expected a packet size in bytes' }).min(28).max(9000).optional(),
});

const scenarioSchema = strict({
  duration: duration,
  rtt: duration.optional(),
  warmup: duration.optional(),
  ecn: z.boolean().optional(),
  at: unitValue((v) => parseWeekMinute(String(v)), 'a day and a time such as tue 02:00').optional(),
  sources: z.array(sourceSchema).min(1, 'a scenario needs at least one source'),
});

export type SourceSpec = z.output<typeof sourceSchema>;
export interface Scenario {
  /** Virtual time simulated, µs. */
  durationUs: number;
  /** Default propagation round trip, µs. */
  rttUs: number;
  /** Counters start after this, µs. */
  warmupUs: number;
  /** TCP sources are ECN-capable. */
  ecn: boolean;
  /** The minute of the week (control/schedule.ts) virtual time 0 falls on; null: schedules not applied. */
  atWeekMinute: number | null;
  sources: SourceSpec[];
}

export type ScenarioResult = { ok: true; scenario: Scenario } | { ok: false; problems: ConfigProblem[] };

const DEFAULT_RTT_US = 20_000;

/** Reads and validates a scenario file. */
export function loadScenario(file: string): ScenarioResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, problems: [unreadableProblem(file, 'scenario', err)] };
  }
  return parseScenario(text, file);
}

/** Validates scenario text; `file` names it in problems. */
export function parseScenario(text: string, file = 'scenario'): ScenarioResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const at = lines.linePos(e.pos[0]);
        return { file, line: at.line, column: at.col, path: '', message: e.message.split('\n')[0] };
      }),
    };
  }
  const map = new SourceMap(doc, lines);
  const problemAt = (path: PathSegment[], message: string): ConfigProblem => {
    const at = map.locate(path);
    return { file, line: at.line, column: at.column, path: formatPath(path), message };
  };
  const parsed = scenarioSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    // strict() writes one line per unknown key; a scenario problem keeps them on one line.
    return { ok: false, problems: parsed.error.issues.map((issue) => problemAt(issue.path as PathSegment[], issue.message.split('\n').join('; '))) };
  }
  const s = parsed.data;
  const problems: ConfigProblem[] = [];
  s.sources.forEach((src, i) => {
    const need = (key: keyof SourceSpec, why: string): void => {
      if (src[key] === undefined) problems.push(problemAt(['sources', i], `${src.kind} source '${src.name}' needs '${key}' (${why})`));
    };
    if (src.kind === 'constant' || src.kind === 'onoff') need('rate', 'e.g. rate: 1mbit');
    if (src.kind === 'onoff') {
      need('on', 'e.g. on: 1s');
      need('off', 'e.g. off: 2s');
    }
    if (src.kind === 'interactive') need('interval', 'e.g. interval: 100ms');
    if (src.kind === 'tcp' && src.proto !== undefined && src.proto !== 'tcp') {
      problems.push(problemAt(['sources', i, 'proto'], 'a tcp source sends tcp'));
    }
    if (src.kind !== 'tcp' && src.proto === 'tcp') {
      problems.push(problemAt(['sources', i, 'proto'], `a ${src.kind} source sends udp or icmp; use kind: tcp for tcp`));
    }
    if ((parseAddress(src.src)?.length ?? 0) !== (parseAddress(src.dst)?.length ?? 0)) {
      problems.push(problemAt(['sources', i, 'dst'], 'src and dst must both be IPv4 or both IPv6'));
    }
  });
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    scenario: {
      durationUs: s.duration,
      rttUs: s.rtt ?? DEFAULT_RTT_US,
      warmupUs: s.warmup ?? 0,
      ecn: s.ecn ?? false,
      atWeekMinute: s.at ?? null,
      sources: s.sources,
    },
  };
}
