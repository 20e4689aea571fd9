/**
 * Reading a configuration file: YAML (with positions) → schema → rules → cross-checks, collecting
 * every problem on the way, each located at the offending value's line and column. A file with
 * YAML syntax errors reports those alone (its structure is not known well enough to say more);
 * otherwise schema problems, rule errors and quota/stats sections not supported yet are all
 * reported together, and the cross-checks (checks.ts) run once the schema is satisfied.
 */
import { readFileSync } from 'node:fs';
import { HostLookupError } from '../host/errors.js';
import { openGeoipFile } from '../host/geoip-file.js';
import { isScalar, isMap, isSeq, LineCounter, parseDocument, type Node, type Scalar } from 'yaml';
import { compileRule } from '../classify/compile.js';
import { RuleError, type RuleOrigin } from '../classify/errors.js';
import { checkConfig } from './checks.js';
import { resolveLinks, type ResolvedLink } from './resolve.js';
import { exemptRulesFrom } from './exempt.js';
import { unreadableProblem, type ConfigProblem } from './errors.js';
import { issueProblems, valueAt } from './issues.js';
import { formatPath, SourceMap, type PathSegment } from './locate.js';
import { withSchedule } from './schedule.js';
import { configSchema, type SluiceConfig } from './schema.js';
import { formatRate, isByteRate, parseRate } from './units.js';

export { formatProblem, type ConfigProblem } from './errors.js';

export type ConfigResult =
  | { ok: true; config: SluiceConfig; warnings: ConfigProblem[] }
  | { ok: false; problems: ConfigProblem[] };

/** Sections of the sketch that a later version will read; refused now rather than ignored. */
const NOT_YET: Record<string, string> = {
  quotas: 'quotas are not supported yet by this version of sluice — remove the section (it would not be enforced)',
  stats: 'the stats section is not supported yet by this version of sluice — remove it',
};

class Collector {
  readonly errors: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];
  constructor(readonly file: string, readonly map: SourceMap) {}

  /** In file order (stable: problems at one place keep the order they were found in). */
  sorted(problems: ConfigProblem[]): ConfigProblem[] {
    return [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
  }

  at(path: readonly PathSegment[], message: string, atKey = false, warning = false): void {
    const { line, column } = this.map.locate(path, atKey);
    (warning ? this.warnings : this.errors).push({ file: this.file, line, column, path: formatPath(path), message });
  }
}

/** `classes.torrents.ceil` / `links[0].egress` → path segments. */
function parsePath(path: string): PathSegment[] {
  const out: PathSegment[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (m === null) {
      out.push(part);
      continue;
    }
    if (m[1] !== '') out.push(m[1]);
    for (const index of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(index[1]));
  }
  return out;
}

/** Every rule string in the data as read (valid or not), with its path. */
function ruleStrings(data: unknown): [PathSegment[], string][] {
  const out: [PathSegment[], string][] = [];
  const exempt = valueAt(data, ['datapath', 'exempt']);
  if (Array.isArray(exempt)) {
    exempt.forEach((rule, i) => {
      if (typeof rule === 'string') out.push([['datapath', 'exempt', i], rule]);
    });
  }
  const visit = (classes: unknown, prefix: PathSegment[]): void => {
    if (classes === null || typeof classes !== 'object' || Array.isArray(classes)) return;
    for (const [name, spec] of Object.entries(classes)) {
      const match = valueAt(spec, ['match']);
      if (typeof match === 'string') out.push([[...prefix, name, 'match'], match]);
      visit(valueAt(spec, ['classes']), [...prefix, name, 'classes']);
    }
  };
  visit(valueAt(data, ['classes']), ['classes']);
  return out;
}

/**
 * Compiles every rule, recording where each was written, and converts each exempt rule to firewall
 * exemptions (exempt.ts) so what iptables cannot express is refused here; a RuleError becomes a problem.
 */
function compileRules(data: unknown, text: string, out: Collector): Record<string, RuleOrigin> {
  const origins: Record<string, RuleOrigin> = {};
  for (const [path, source] of ruleStrings(data)) {
    const label = formatPath(path);
    const node = out.map.node(path);
    const start = node !== null && isScalar(node) ? out.map.ruleStart(node, text) : out.map.locate(path);
    const origin: RuleOrigin = { label, file: out.file, line: start.line, column: start.column };
    origins[label] = origin;
    try {
      compileRule(source, origin);
      if (path[0] === 'datapath') exemptRulesFrom([{ source, origin }]);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      out.errors.push({ file: out.file, line: err.line, column: err.column, path: label, message: err.reason });
    }
  }
  return origins;
}

/** Rates written in bytes per second (`2mbps`) are legal, as in tc, but often meant as bits. */
function warnByteRates(node: Node | null, path: PathSegment[], out: Collector): void {
  if (node === null) return;
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isScalar(pair.key)) warnByteRates(pair.value as Node | null, [...path, String(pair.key.value)], out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => warnByteRates(item as Node, [...path, i], out));
  } else if (isScalar(node)) {
    const value = (node as Scalar).value;
    if (typeof value === 'string' && isByteRate(value)) {
      const bps = parseRate(value);
      out.at(path, `'${value}' means ${formatRate(bps)} (bytes per second, as in tc); for bits per second write ${value.replace(/bps\s*$/i, 'bit')}`, false, true);
    }
  }
}

/** Parses and checks a configuration held in memory; `fileName` is used in messages only. */
export function parseConfigText(text: string, fileName: string): ConfigResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const out = new Collector(fileName, new SourceMap(doc, lines));

  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const { line, column } = out.map.position(err.pos[0]);
      out.errors.push({ file: fileName, line, column, path: '', message: `YAML: ${err.message.split('\n')[0]}` });
    }
    return { ok: false, problems: out.errors };
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) {
    return { ok: false, problems: [{ file: fileName, line: 1, column: 1, path: '', message: 'the file is empty: it needs at least `links:`' }] };
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    out.at([], 'expected a mapping with links:, classes: and datapath:');
    return { ok: false, problems: out.errors };
  }

  const fields = { ...(data as Record<string, unknown>) };
  for (const [key, message] of Object.entries(NOT_YET)) {
    if (key in fields) {
      out.at([key], message, true);
      delete fields[key];
    }
  }
  const parsed = configSchema.safeParse(fields);
  if (!parsed.success) {
    for (const p of issueProblems(parsed.error.issues, fields)) out.at(p.path, p.message, p.atKey);
  }
  const ruleOrigins = compileRules(fields, text, out);
  warnByteRates(doc.contents as Node | null, [], out);
  if (!parsed.success || out.errors.length > 0) return { ok: false, problems: out.sorted(out.errors) };

  const config: SluiceConfig = { ...parsed.data, file: fileName, ruleOrigins };
  const checked = checkConfig(config);
  for (const p of checked.errors) {
    const path = parsePath(p.path);
    const perDirection = p.direction !== undefined && out.map.node([...path, p.direction]) !== null;
    out.at(perDirection ? [...path, p.direction as string] : path, p.message);
  }
  for (const p of checked.warnings) out.at(parsePath(p.path), p.message, false, true);
  // A database the user names must open now: at start, and before a reload replaces what runs.
  if (config.geoip !== undefined) {
    try {
      openGeoipFile(config.geoip);
    } catch (err) {
      if (!(err instanceof HostLookupError)) throw err;
      out.at(['geoip'], err.message.replace(/^geoip: /, ''));
    }
  }
  if (out.errors.length > 0) return { ok: false, problems: out.sorted(out.errors) };
  return { ok: true, config, warnings: out.sorted(out.warnings) };
}

/** Link rates set at run time (`sluice set link`), by link name or interface, bits/s. */
export type LinkRates = Record<string, { egress?: number; ingress?: number }>;

/** `config` with the run-time link rates put in; unknown links are left out (the caller checks names). */
export function withLinkRates(config: SluiceConfig, rates: LinkRates): SluiceConfig {
  return {
    ...config,
    links: config.links.map((l) => {
      const set = rates[l.name ?? l.interface] ?? rates[l.interface];
      return set === undefined ? l : { ...l, ...(set.egress !== undefined ? { egress: set.egress } : {}), ...(set.ingress !== undefined ? { ingress: set.ingress } : {}) };
    }),
  };
}

/**
 * What the running daemon puts on top of the file: the link rates set at run time and the minute of
 * the week (schedule.ts) the classes' schedules are read at.
 */
export interface RunTimeSettings {
  linkRates: LinkRates;
  weekMinute: number;
}

/** The configuration as it runs: the file's, with the run-time link rates and the schedules' windows in force applied. */
export function effectiveConfig(config: SluiceConfig, runTime: RunTimeSettings): SluiceConfig {
  return withSchedule(withLinkRates(config, runTime.linkRates), runTime.weekMinute);
}

/**
 * What the shaping worker runs, as plain data that crosses threads: the resolved links and the
 * settings of its flow facts. Built and checked in the main thread, so that a reload or a schedule
 * window costs the packet path only the swap, never parsing or checking a file.
 */
export interface ShaperConfig {
  links: ResolvedLink[];
  geoip: string | undefined;
  ownerWaitUs: number | undefined;
}

/** The ShaperConfig of a loaded configuration with what is set at run time on top. */
export function shaperConfig(config: SluiceConfig, runTime: RunTimeSettings): ShaperConfig {
  return { links: resolveLinks(effectiveConfig(config, runTime)), geoip: config.geoip, ownerWaitUs: config.owner_wait };
}

/** Where the configuration is when neither -c nor SLUICE_CONFIG says. */
export const DEFAULT_CONFIG = '/etc/sluice/sluice.yaml';

/** The configuration file to use: -c, else $SLUICE_CONFIG, else DEFAULT_CONFIG. */
export function configPath(option: string | undefined): string {
  return option ?? process.env.SLUICE_CONFIG ?? DEFAULT_CONFIG;
}

/** Reads and checks a configuration file. */
export function loadConfig(path: string): ConfigResult {
  return readConfigFile(path).result;
}

/** Reads and checks a configuration file, keeping its text (`sluice run` hands the text to its worker). */
export function readConfigFile(path: string): { text: string; result: ConfigResult } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { text: '', result: { ok: false, problems: [unreadableProblem(path, 'configuration', err)] } };
  }
  return { text, result: parseConfigText(text, path) };
}
