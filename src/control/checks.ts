/**
 * Checks the schema cannot express, over a configuration whose single values are already valid:
 * duplicate links, links shaping nothing, the default class, per-direction figures missing for a
 * direction a class exists in, classes existing in no direction, then — on the resolved figures of
 * every link and direction — children's rates above their parent's, top-level rates above the
 * link's, and ceilings below rates. Problems carry the config path only; load.ts locates them.
 * Figure checks run only when the structural ones pass, since resolving needs a sound tree.
 *
 * Schedules: the figures must hold in every window, not only with the base figures. The week is
 * cut where schedule entries start and end (schedule.ts); each distinct set of entries in force is
 * resolved and checked once. A problem that only a window has is reported once, at the entry in
 * force that causes it (`classes.torrents.schedule[0].ceil`), naming the window. Entries that can
 * never be in force (earlier entries of the class cover their window) are warnings.
 */
import { MAX_DEPTH } from '../sched/classes.js';
import { formatRate } from './units.js';
import {
  configPathOf, DEFAULT_CLASS, DIRECTION_NAMES, existsIn, linkName, resolveLinks,
  type DirectionName, type ResolvedDirection,
} from './resolve.js';
import { scheduleOf, scheduleWindows, windowLabel, withSchedule, type ActiveEntry, type ScheduleWindow } from './schedule.js';
import type { ClassSpec, SluiceConfig } from './schema.js';

export interface PathProblem {
  path: string;
  message: string;
  /** When the problem is about one direction: locate `path.<direction>` if the file writes one per direction. */
  direction?: DirectionName;
}

export interface CheckResult {
  errors: PathProblem[];
  warnings: PathProblem[];
}

/** Fields that only mean something for a class's own traffic (a leaf, or an inner class's implicit default). */
const LEAF_ONLY = ['fairness', 'flow_ceil', 'flow_limit', 'limit', 'aqm'] as const;
/** Per-direction figures that must be given for each direction a class exists in, if given at all. */
const PER_DIRECTION = ['rate'] as const;

function checkLinks(config: SluiceConfig, errors: PathProblem[]): void {
  const names = new Map<string, number>();
  const interfaces = new Map<string, number>();
  config.links.forEach((link, i) => {
    const name = linkName(link);
    const sameName = names.get(name);
    if (sameName !== undefined) {
      errors.push({ path: `links[${i}].${link.name === undefined ? 'interface' : 'name'}`, message: `link name '${name}' is already used by links[${sameName}]` });
    } else names.set(name, i);
    const sameInterface = interfaces.get(link.interface);
    if (sameInterface !== undefined) {
      errors.push({ path: `links[${i}].interface`, message: `interface '${link.interface}' is already shaped by links[${sameInterface}]` });
    } else interfaces.set(link.interface, i);
    if (link.egress === undefined && link.ingress === undefined) {
      errors.push({ path: `links[${i}]`, message: 'this link shapes nothing — give egress and/or ingress rates' });
    }
  });
}

function checkTree(config: SluiceConfig, result: CheckResult): void {
  const shaped = DIRECTION_NAMES.filter((dir) => config.links.some((link) => link[dir] !== undefined));
  const visit = (entries: [string, ClassSpec][], prefix: string, parentDirs: readonly DirectionName[], depth: number): void => {
    for (const [name, spec] of entries) {
      const path = prefix === '' ? name : `${prefix}/${name}`;
      const where = configPathOf(path);
      const dirs = parentDirs.filter((dir) => existsIn(spec, dir));
      const children = Object.entries(spec.classes ?? {});
      // An inner class also gets an implicit default child, one level further down.
      if (children.length > 0 && depth === MAX_DEPTH) {
        result.errors.push({ path: `${where}.classes`, message: `classes nest at most ${MAX_DEPTH} deep: '${path}' cannot have children` });
      }
      if (dirs.length === 0) {
        result.errors.push({ path: `${where}.direction`, message: `'${path}' would exist in no direction: its parent exists only in ${parentDirs.join(' and ')}` });
      }
      for (const key of PER_DIRECTION) {
        for (const dir of dirs) {
          if (shaped.includes(dir) && spec[key][dir] === undefined) {
            result.errors.push({ path: `${where}.${key}`, message: `no ${dir} ${key}: give one, or say \`direction: ${dir === 'egress' ? 'ingress' : 'egress'}\`` });
          }
        }
      }
      if (children.some(([child]) => child === DEFAULT_CLASS)) {
        for (const key of LEAF_ONLY) {
          if (spec[key] !== undefined) {
            result.warnings.push({ path: `${where}.${key}`, message: `'${key}' is ignored here: it applies to this class's own traffic, which goes to its child 'default'` });
          }
        }
      }
      if (name === DEFAULT_CLASS) {
        if (children.length > 0) result.errors.push({ path: `${where}.classes`, message: 'a default class must be a leaf: move its children to another class' });
        if (spec.direction !== undefined && spec.direction !== 'both') {
          result.errors.push({ path: `${where}.direction`, message: 'a default class exists wherever its parent does: remove `direction`' });
        }
      }
      const later = entries.slice(entries.findIndex(([n]) => n === name) + 1).map(([n]) => n);
      if (spec.match === undefined && later.length > 0) {
        result.warnings.push({
          path: where,
          message: `'${path}' has no match, so it takes every packet that reaches it: ${later.join(', ')} after it will get none — move it last or give it a match`,
        });
      }
      if (depth < MAX_DEPTH) visit(children, path, dirs, depth + 1);
    }
  };
  visit(Object.entries(config.classes ?? {}), '', DIRECTION_NAMES, 1);
}

/** What a figure problem is about, so it is reported once however many windows repeat it. */
interface FigureProblem extends PathProblem {
  kind: 'rate' | 'ceil' | 'children' | 'top';
  /** The class the problem is about; '' for the top-level classes of a link. */
  classPath: string;
  dir: DirectionName;
  /** `links[0]|egress|ceil|torrents`: the same problem in another window has the same key. */
  key: string;
}

/** Rate sums leave out implicit default classes: their rate is what the others leave, at least 1%. */
function checkFigures(direction: ResolvedDirection, dir: DirectionName, linkLabel: string, linkPath: string, errors: FigureProblem[]): void {
  const { classes, rateBps: linkRateBps } = direction.sched;
  const add = (kind: FigureProblem['kind'], classPath: string, problem: PathProblem): void => {
    errors.push({ ...problem, kind, classPath, dir, key: `${linkPath}|${dir}|${kind}|${classPath}` });
  };
  const childSum = new Map<number, number>();
  classes.forEach((cls, i) => {
    if (!direction.classes[i].implicit) childSum.set(cls.parent, (childSum.get(cls.parent) ?? 0) + cls.rateBps);
    if (cls.rateBps < 1) {
      add('rate', cls.path, { path: `${configPathOf(cls.path)}.rate`, message: `on ${linkLabel} ${dir}, the rate comes to ${cls.rateBps} bit/s: give at least 1bit`, direction: dir });
    }
    if (cls.ceilBps < cls.rateBps) {
      const parentCeilBps = cls.parent < 0 ? linkRateBps : classes[cls.parent].ceilBps;
      const why = cls.ceilBps === parentCeilBps ? ` (the ${cls.parent < 0 ? 'link\'s rate' : 'parent\'s ceil'}, which a class cannot exceed)` : '';
      add('ceil', cls.path, {
        path: `${configPathOf(cls.path)}.${cls.ceilBps === parentCeilBps ? 'rate' : 'ceil'}`,
        message: `on ${linkLabel} ${dir}, ceil ${formatRate(cls.ceilBps)}${why} is below rate ${formatRate(cls.rateBps)}`,
        direction: dir,
      });
    }
  });
  for (const [parent, sumBps] of childSum) {
    if (parent === -1) {
      if (sumBps > linkRateBps) {
        add('top', '', { path: `${linkPath}.${dir}`, message: `the top-level classes' ${dir} rates add up to ${formatRate(sumBps)}, above ${linkLabel}'s ${formatRate(linkRateBps)}` });
      }
    } else if (sumBps > classes[parent].rateBps) {
      add('children', classes[parent].path, {
        path: `${configPathOf(classes[parent].path)}.classes`,
        message: `on ${linkLabel} ${dir}, the children's rates add up to ${formatRate(sumBps)}, above this class's rate ${formatRate(classes[parent].rateBps)}`,
      });
    }
  }
}

/** Figure problems of every link and direction of a configuration. */
function figureProblems(config: SluiceConfig): FigureProblem[] {
  const problems: FigureProblem[] = [];
  resolveLinks(config).forEach((link, i) => {
    for (const dir of DIRECTION_NAMES) {
      const direction = link[dir];
      if (direction !== null) checkFigures(direction, dir, `link ${link.name}`, `links[${i}]`, problems);
    }
  });
  return problems;
}

/** The classes whose figures can cause a problem, nearest first, with the fields that matter. */
function suspects(problem: FigureProblem, active: ReadonlyMap<string, ActiveEntry>): [string, readonly ('rate' | 'ceil')[]][] {
  const ancestors: string[] = [];
  for (let p = problem.classPath; p.includes('/');) ancestors.push(p = p.slice(0, p.lastIndexOf('/')));
  const rateOnly = ['rate'] as const;
  switch (problem.kind) {
    case 'top':
      return [...active.keys()].filter((path) => !path.includes('/')).map((path) => [path, rateOnly]);
    case 'children': {
      const children = [...active.keys()].filter((path) => path.startsWith(`${problem.classPath}/`) && !path.slice(problem.classPath.length + 1).includes('/'));
      return [...children, problem.classPath, ...ancestors].map((path) => [path, rateOnly]);
    }
    case 'rate':
      return [problem.classPath, ...ancestors].map((path) => [path, rateOnly]);
    case 'ceil':
      return [problem.classPath, ...ancestors].map((path) => [path, ['ceil', 'rate'] as const]);
  }
}

/** Where a problem that appears only in a window is reported: at the entry in force that causes it. */
function locateInWindow(problem: FigureProblem, window: ScheduleWindow, config: SluiceConfig): PathProblem {
  const active = new Map(window.active.map((a) => [a.classPath, a]));
  const written: 'rate' | 'ceil' = problem.path.endsWith('.ceil') ? 'ceil' : 'rate';
  for (const [classPath, fields] of suspects(problem, active)) {
    const entry = active.get(classPath);
    const spec = entry === undefined ? undefined : scheduleOf(config, classPath)[entry.index];
    const field = [written, ...fields].find((f) => fields.includes(f) && spec?.[f]?.[problem.dir] !== undefined);
    if (entry !== undefined && field !== undefined) {
      return {
        path: `${configPathOf(classPath)}.schedule[${entry.index}].${field}`,
        message: `${problem.message} in the window ${entry.label}`,
        direction: problem.dir,
      };
    }
  }
  const labels = window.active.map((a) => `${a.label} (${a.classPath})`).join(', ');
  return { path: problem.path, message: `${problem.message} in the window ${labels}`, direction: problem.direction };
}

/**
 * Figures must hold in every window: the base figures, then each distinct set of schedule entries
 * in force. A problem is reported once, the first time it appears (base figures first).
 */
function checkWindows(config: SluiceConfig, windows: readonly ScheduleWindow[], errors: PathProblem[]): void {
  const seen = new Set<string>();
  for (const problem of figureProblems(config)) {
    seen.add(problem.key);
    errors.push({ path: problem.path, message: problem.message, direction: problem.direction });
  }
  for (const window of windows) {
    if (window.active.length === 0) continue;
    for (const problem of figureProblems(withSchedule(config, window.weekMinute))) {
      if (seen.has(problem.key)) continue;
      const located = locateInWindow(problem, window, config);
      const key = `${problem.key}|${located.path}`;
      if (seen.has(key)) continue;
      seen.add(key);
      errors.push(located);
    }
  }
}

/** Schedule entries that never hold: earlier entries of the same class cover their whole window. */
function checkShadowed(config: SluiceConfig, windows: readonly ScheduleWindow[], warnings: PathProblem[]): void {
  const used = new Set(windows.flatMap((w) => w.active.map((a) => `${a.classPath}[${a.index}]`)));
  const visit = (classes: Record<string, ClassSpec> | undefined, prefix: string): void => {
    for (const [name, spec] of Object.entries(classes ?? {})) {
      const classPath = prefix === '' ? name : `${prefix}/${name}`;
      spec.schedule?.forEach((entry, i) => {
        if (used.has(`${classPath}[${i}]`)) return;
        warnings.push({
          path: `${configPathOf(classPath)}.schedule[${i}]`,
          message: `this entry is never in force: earlier entries cover its whole window (${windowLabel(entry)}) — move it up or remove it`,
        });
      });
      visit(spec.classes, classPath);
    }
  };
  visit(config.classes, '');
}

/** Every cross-value problem of a configuration whose single values passed the schema. */
export function checkConfig(config: SluiceConfig): CheckResult {
  const result: CheckResult = { errors: [], warnings: [] };
  checkLinks(config, result.errors);
  checkTree(config, result);
  const windows = scheduleWindows(config);
  checkShadowed(config, windows, result.warnings);
  if (result.errors.length > 0) return result;
  checkWindows(config, windows, result.errors);
  return result;
}
