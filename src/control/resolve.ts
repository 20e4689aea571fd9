/**
 * Resolution: a loaded configuration becomes, per link and direction, the plain numeric
 * LinkSchedConfig the scheduler takes, plus what the engine needs besides (rule text, DSCP).
 * Pure: no I/O, nothing the packet path runs. Every default is applied here and only here.
 *
 * Formulas (rates bits/s, sizes bytes, times µs; one direction of one link):
 *   wireMtu         = mtu + max(overhead, 0)       the largest packet on the wire (= sched mtuBytes)
 *   parent          = the parent class, or the link (rate = ceil = the link's rate) at the top
 *   rate            = bps as written, or percent/100 × parent.rate
 *   ceil            = bps as written, or percent/100 × parent.ceil; default parent.ceil;
 *                     never above parent.ceil (clamped)
 *   burst           = bytes as written, or rate × duration / 8; default 10 ms of rate;
 *                     never below wireMtu (rounded up to whole bytes)
 *   cburst          = as burst, of ceil
 *   quantum         = weight × wireMtu when weight is given; otherwise rate-proportional:
 *                     10 ms of rate (rate / 800), clamped to [wireMtu, 200000]
 *   prio            = 4; fairness = flow (leaves), none (inner classes)
 *   flowCeil        = bps, or percent/100 × the class's ceil; at most ceil; 0 = none (inner: 0)
 *   codel           = target 5 ms, interval 100 ms, ecn true; `aqm: none` → target Infinity
 *   limit           = 1000 packets, 4 MB (a bare number is packets); flowLimit 0
 *   buffer          = 10000 packets, 16 MB per link direction; maxSubqueues 65536
 *   setDscp         = as written, else inherited from the nearest ancestor that sets one, else -1
 *   setMark, drop   = likewise inherited: a child of a dropping class drops too
 * Classes come in tree order (a parent before its children, siblings in file order). A class that
 * does not exist in a direction (`direction:`) is skipped there with its subtree, so whether a
 * class is a leaf may differ per direction.
 *
 * Default classes. A packet is classified by walking the tree: at each level the first class whose
 * match holds is entered (a class without `match` holds for every packet that reaches it); a leaf
 * ends the walk. So that the walk always ends at a leaf, every level has a catch-all leaf last:
 *   - at the top, the class named `default`, or else an implicit leaf `default` appended with
 *     rate = max(link rate − sum of top-level rates, 1% of the link rate), ceil = link rate, prio 7;
 *   - under an inner class P, its child named `default`, or else an implicit leaf `P/default`
 *     appended with rate = max(P.rate − sum of P's children's rates, 1% of P.rate), ceil = P.ceil,
 *     P's prio, and P's leaf settings (fairness, flow_ceil, flow_limit, limit, aqm): what P says
 *     about its own traffic applies to the traffic no child claims (the sketch's `torrents`).
 * Implicit classes have match null and are flagged `implicit`.
 */
import type { RuleOrigin } from '../classify/errors.js';
import type { ClassConfig, CodelConfig, LinkSchedConfig } from '../sched/types.js';
import { ConfigError } from './errors.js';
import type { BurstSpec, ClassSpec, LinkSpec, MarkSpec, RateSpec, SluiceConfig } from './schema.js';

export type DirectionName = 'egress' | 'ingress';
export const DIRECTION_NAMES: readonly DirectionName[] = ['egress', 'ingress'];

export interface ResolvedClass {
  /** Slash-separated class path, as ClassConfig.path. */
  path: string;
  /** Rule source, or null for a class every packet reaching it matches (e.g. the default). */
  match: string | null;
  matchOrigin: RuleOrigin | null;
  /** DSCP written when a packet of this class is released, or -1 for none. */
  setDscp: number;
  /** Mark written when a packet of this class is released (only the mask bits), or null. */
  setMark: MarkSpec | null;
  /** Every packet that lands in this class is dropped (`drop: true`). */
  drop: boolean;
  /** Added by sluice as a catch-all (see "Default classes" above), not written in the file. */
  implicit: boolean;
}

/** What a class does to its packets besides queueing them; children inherit it. */
type Actions = Pick<ResolvedClass, 'setDscp' | 'setMark' | 'drop'>;
const NO_ACTIONS: Actions = { setDscp: -1, setMark: null, drop: false };

export interface ResolvedDirection {
  sched: LinkSchedConfig;
  /** Parallel to sched.classes. */
  classes: ResolvedClass[];
}

export interface ResolvedLink {
  name: string;
  interface: string;
  overheadBytes: number;
  mpuBytes: number;
  mtuBytes: number;
  egress: ResolvedDirection | null;
  ingress: ResolvedDirection | null;
}

export const DEFAULTS = {
  prio: 4,
  implicitDefaultPrio: 7,
  burstUs: 10_000,
  quantumMaxBytes: 200_000,
  codelTargetUs: 5_000,
  codelIntervalUs: 100_000,
  ecn: true,
  limitPackets: 1000,
  limitBytes: 4_000_000,
  bufferPackets: 10_000,
  bufferBytes: 16_000_000,
  maxSubqueues: 65_536,
  mtuBytes: 1500,
  implicitDefaultMinShare: 0.01,
} as const;

/** The top-level class that takes unclaimed traffic. */
export const DEFAULT_CLASS = 'default';

/** `torrents/fred` → `classes.torrents.classes.fred`, the class's path in the file. */
export function configPathOf(classPath: string): string {
  return classPath.split('/').map((name) => `classes.${name}`).join('.');
}

/** Whether a class as written exists in a direction. */
export function existsIn(spec: ClassSpec, dir: DirectionName): boolean {
  return spec.direction === undefined || spec.direction === 'both' || spec.direction === dir;
}

/** The children of a class that exist in a direction, in file order. */
function childrenIn(spec: ClassSpec, dir: DirectionName): [string, ClassSpec][] {
  return Object.entries(spec.classes ?? {}).filter(([, child]) => existsIn(child, dir));
}

function figure(spec: RateSpec, parentBps: number): number {
  return 'percent' in spec ? Math.round((spec.percent / 100) * parentBps) : spec.bps;
}

function burstBytes(spec: BurstSpec | undefined, rateBps: number, wireMtuBytes: number): number {
  const bytes = spec === undefined ? (rateBps * DEFAULTS.burstUs) / 8e6 : 'bytes' in spec ? spec.bytes : (rateBps * spec.us) / 8e6;
  return Math.max(Math.ceil(bytes), wireMtuBytes);
}

function quantumBytes(weight: number | undefined, rateBps: number, wireMtuBytes: number): number {
  if (weight !== undefined) return Math.max(1, Math.round(weight * wireMtuBytes));
  const tenMsBytes = Math.round((rateBps * DEFAULTS.burstUs) / 8e6);
  return Math.min(Math.max(tenMsBytes, wireMtuBytes), Math.max(DEFAULTS.quantumMaxBytes, wireMtuBytes));
}

function codel(spec: ClassSpec): CodelConfig {
  if (spec.aqm === 'none') return { targetUs: Infinity, intervalUs: DEFAULTS.codelIntervalUs, ecn: false };
  return {
    targetUs: spec.aqm?.codel?.target ?? DEFAULTS.codelTargetUs,
    intervalUs: spec.aqm?.codel?.interval ?? DEFAULTS.codelIntervalUs,
    ecn: spec.aqm?.ecn ?? DEFAULTS.ecn,
  };
}

/** The figures of one class in one direction, given its parent's. */
function classFigures(
  spec: ClassSpec, dir: DirectionName, path: string, parent: number, parentRateBps: number, parentCeilBps: number,
  isLeaf: boolean, wireMtuBytes: number,
): ClassConfig {
  const rateSpec = spec.rate[dir];
  if (rateSpec === undefined) {
    throw new ConfigError([{ file: '', line: 0, column: 0, path: `${configPathOf(path)}.rate`, message: `no ${dir} rate` }]);
  }
  const rateBps = figure(rateSpec, parentRateBps);
  const ceilSpec = spec.ceil?.[dir];
  const ceilBps = Math.min(ceilSpec === undefined ? parentCeilBps : figure(ceilSpec, parentCeilBps), parentCeilBps);
  const flowCeilSpec = spec.flow_ceil?.[dir];
  return {
    path,
    parent,
    rateBps,
    ceilBps,
    burstBytes: burstBytes(spec.burst?.[dir], rateBps, wireMtuBytes),
    cburstBytes: burstBytes(spec.cburst?.[dir], ceilBps, wireMtuBytes),
    prio: spec.prio ?? DEFAULTS.prio,
    quantumBytes: quantumBytes(spec.weight, rateBps, wireMtuBytes),
    fairness: isLeaf ? spec.fairness ?? 'flow' : 'none',
    flowCeilBps: isLeaf && flowCeilSpec !== undefined ? Math.min(figure(flowCeilSpec, ceilBps), ceilBps) : 0,
    codel: codel(spec),
    limitPackets: spec.limit?.packets ?? DEFAULTS.limitPackets,
    limitBytes: spec.limit?.bytes ?? DEFAULTS.limitBytes,
    flowLimitPackets: spec.flow_limit ?? 0,
  };
}

function resolveDirection(config: SluiceConfig, link: LinkSpec, dir: DirectionName, linkRateBps: number): ResolvedDirection {
  const wireMtuBytes = (link.mtu ?? DEFAULTS.mtuBytes) + Math.max(link.overhead ?? 0, 0);
  const classes: ClassConfig[] = [];
  const resolved: ResolvedClass[] = [];

  const push = (cls: ClassConfig, info: ResolvedClass): number => {
    classes.push(cls);
    resolved.push(info);
    return classes.length - 1;
  };
  /** The catch-all leaf of a level that has no class named `default`. */
  const implicitDefault = (
    leafSettings: ClassSpec, prio: number, parent: number, parentRateBps: number, parentCeilBps: number, prefix: string, actions: Actions,
  ): void => {
    const claimedBps = classes.reduce((sum, c) => (c.parent === parent ? sum + c.rateBps : sum), 0);
    const rateBps = Math.max(parentRateBps - claimedBps, Math.ceil(parentRateBps * DEFAULTS.implicitDefaultMinShare));
    const spec: ClassSpec = { ...leafSettings, rate: { [dir]: { bps: rateBps } }, prio, ceil: undefined, burst: undefined, cburst: undefined, classes: undefined };
    const path = prefix === '' ? DEFAULT_CLASS : `${prefix}/${DEFAULT_CLASS}`;
    const cls = classFigures(spec, dir, path, parent, parentRateBps, parentCeilBps, true, wireMtuBytes);
    push(cls, { path, match: null, matchOrigin: null, ...actions, implicit: true });
  };
  const visit = (
    entries: [string, ClassSpec][], parent: number, parentRateBps: number, parentCeilBps: number, prefix: string, inherited: Actions,
  ): void => {
    for (const [name, spec] of entries) {
      const path = prefix === '' ? name : `${prefix}/${name}`;
      const children = childrenIn(spec, dir);
      const cls = classFigures(spec, dir, path, parent, parentRateBps, parentCeilBps, children.length === 0, wireMtuBytes);
      const matchPath = `${configPathOf(path)}.match`;
      const actions: Actions = {
        setDscp: spec.set_dscp ?? inherited.setDscp,
        setMark: spec.set_mark ?? inherited.setMark,
        drop: spec.drop ?? inherited.drop,
      };
      const index = push(cls, {
        path,
        match: spec.match ?? null,
        matchOrigin: spec.match === undefined ? null : config.ruleOrigins[matchPath] ?? { label: matchPath, file: config.file },
        ...actions,
        implicit: false,
      });
      if (children.length === 0) continue;
      visit(children, index, cls.rateBps, cls.ceilBps, path, actions);
      if (!children.some(([child]) => child === DEFAULT_CLASS)) {
        implicitDefault(spec, cls.prio, index, cls.rateBps, cls.ceilBps, path, actions);
      }
    }
  };
  const top = Object.entries(config.classes ?? {}).filter(([, spec]) => existsIn(spec, dir));
  visit(top, -1, linkRateBps, linkRateBps, '', NO_ACTIONS);
  if (!top.some(([name]) => name === DEFAULT_CLASS)) {
    implicitDefault({ rate: {} }, DEFAULTS.implicitDefaultPrio, -1, linkRateBps, linkRateBps, '', NO_ACTIONS);
  }
  const defaultClass = classes.findIndex((c) => c.parent === -1 && c.path === DEFAULT_CLASS);

  return {
    sched: {
      rateBps: linkRateBps,
      mtuBytes: wireMtuBytes,
      classes,
      defaultClass,
      globalLimitPackets: link.buffer?.packets ?? DEFAULTS.bufferPackets,
      globalLimitBytes: link.buffer?.bytes ?? DEFAULTS.bufferBytes,
      maxSubqueues: DEFAULTS.maxSubqueues,
    },
    classes: resolved,
  };
}

/** The name a link goes by: `name`, or its interface. */
export function linkName(link: LinkSpec): string {
  return link.name ?? link.interface;
}

/**
 * Every link's scheduler configuration per direction. Expects a configuration that passed
 * load.ts's checks; on one that did not, it may throw ConfigError.
 */
export function resolveLinks(config: SluiceConfig): ResolvedLink[] {
  return config.links.map((link) => ({
    name: linkName(link),
    interface: link.interface,
    overheadBytes: link.overhead ?? 0,
    mpuBytes: link.mpu ?? 0,
    mtuBytes: link.mtu ?? DEFAULTS.mtuBytes,
    egress: link.egress === undefined ? null : resolveDirection(config, link, 'egress', link.egress),
    ingress: link.ingress === undefined ? null : resolveDirection(config, link, 'ingress', link.ingress),
  }));
}
