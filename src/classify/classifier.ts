/**
 * The class tree classifier: which leaf class a packet goes to.
 *
 * Semantics (DESIGN.md "How a configuration is read"):
 * - Siblings are tried in the order written; the first whose rule holds wins. A class without a rule
 *   matches everything: it is the catch-all at its level, and siblings after it are unreachable.
 * - A child is tried only when its parent's rule held; the packet goes to the deepest class matched.
 * - A leaf that matches is the answer. When an inner class matched but none of its children did,
 *   the packet goes to that class's child named `default` if it has one (entered whatever its own
 *   rule says, and descended into if it is inner itself), else to the link's default leaf. Never to
 *   the inner class itself: only leaves hold queues. (Recommended for the configuration layer: give
 *   every inner class a rule-less `default` leaf, so its traffic stays under its ceiling.)
 * - When no top-level class matches, the packet goes to the link's default leaf.
 * classify() is this, evaluating every rule: the reference the split below must agree with.
 *
 * The split between flow and packet (attributes.ts explains the scopes). A rule is F (reads only
 * flow-scope attributes, or none), P (reads a packet-scope attribute) or absent.
 * - classifyFlow(ctx) walks the tree as above with every P rule taken as false, and returns an
 *   outcome number the caller caches on the flow. The walk is driven by a state machine built here:
 *   a state is "expanding class X, reached by a given path", with one transition per F/absent child
 *   and one for the fallback. The walk therefore knows which P rules it skipped, in walk order:
 *   the P siblings before each class on its path, and every P child of a class it fell back from.
 * - Outcomes: a final leaf together with that ordered list of skipped P rules (the checks). When a
 *   leaf is reached by only one list (the usual case), or by the empty list, the outcome number is
 *   the leaf's own index; other lists for the same leaf (a leaf reached by different paths, e.g. the
 *   link default through fallbacks) get numbers >= the class count. So when needsPerPacket(outcome)
 *   is false, the outcome IS the leaf.
 * - classifyPacket(ctx, outcome) evaluates the checks in order. The walk up to the first check that
 *   holds is the same for the real packet as for the flow walk (every F rule on the way has the
 *   flow's value), so at the first check that holds the real walk enters that class: the answer is
 *   the full walk from there (its subtree's rules, F and P, evaluated afresh). When none holds, the
 *   answer is the flow's leaf. With no checks it returns at once: zero rules evaluated.
 * Cost per packet: one rule per check until one holds, plus one subtree walk if one does.
 */
import type { CompiledRule, RuleTest } from './compile.js';
import type { MatchContext } from './context.js';

export interface ClassRule {
  /** Slash-separated path, e.g. `torrents/fred`; the last segment `default` marks a default child. */
  path: string;
  /** Index of the parent in the list, or -1 for a top-level class. Parents come before children. */
  parent: number;
  isLeaf: boolean;
  /** The compiled `match:`; null matches everything. */
  rule: CompiledRule | null;
}

const NO_RULE = 0;
const FLOW_RULE = 1;
const PACKET_RULE = 2;

export class Classifier {
  readonly classCount: number;
  readonly defaultLeaf: number;
  /** Whether any class has a per-packet rule (if not, classifyPacket never evaluates anything). */
  readonly hasPacketRules: boolean;
  /** Classes after a rule-less sibling: no packet can reach them (for configuration warnings). */
  readonly unreachable: readonly number[];

  private readonly tests: Array<RuleTest | null>;
  private readonly ruleKind: Uint8Array;
  private readonly isLeaf: Uint8Array;
  /** Children of class i at childList[childStart[i] .. childStart[i+1]); the root is index classCount. */
  private readonly childStart: Int32Array;
  private readonly childList: Int32Array;
  /** The child named `default` of each class (root: the link's default leaf), or -1. */
  private readonly defaultChild: Int32Array;

  /** Flow walk state machine: the class each state expands, where its transitions start, fallback. */
  private readonly stateClass: Int32Array;
  private readonly stateNextStart: Int32Array;
  /** Per child position: next state (>= 0) or ~outcome (< 0); unused for P children. */
  private readonly stateNext: Int32Array;
  private readonly stateFallback: Int32Array;

  /** Per outcome: its leaf, and its checks at checkList[checkStart[o] .. checkStart[o+1]). */
  private readonly outcomeLeaf: Int32Array;
  private readonly checkStart: Int32Array;
  private readonly checkList: Int32Array;

  constructor(classes: readonly ClassRule[], defaultLeaf: number) {
    const n = classes.length;
    validate(classes, defaultLeaf);
    this.classCount = n;
    this.defaultLeaf = defaultLeaf;
    this.tests = classes.map((c) => (c.rule ? c.rule.test : null));
    this.ruleKind = Uint8Array.from(classes, (c) => (c.rule === null ? NO_RULE : c.rule.perPacket ? PACKET_RULE : FLOW_RULE));
    this.isLeaf = Uint8Array.from(classes, (c) => (c.isLeaf ? 1 : 0));
    this.hasPacketRules = this.ruleKind.includes(PACKET_RULE);

    const kids: number[][] = Array.from({ length: n + 1 }, () => []);
    classes.forEach((c, i) => kids[c.parent < 0 ? n : c.parent].push(i));
    this.childStart = starts(kids.map((k) => k.length));
    this.childList = Int32Array.from(kids.flat());
    this.defaultChild = Int32Array.from(kids, (k, i) =>
      i === n ? defaultLeaf : (k.find((c) => classes[c].path.split('/').pop() === 'default') ?? -1),
    );
    this.unreachable = kids.flatMap((k) => {
      const catchAll = k.findIndex((c) => classes[c].rule === null);
      return catchAll < 0 ? [] : k.slice(catchAll + 1);
    });

    const machine = new MachineBuilder(kids, this.ruleKind, this.isLeaf, this.defaultChild, n);
    machine.build();
    this.stateClass = Int32Array.from(machine.states, (s) => s.cls);
    this.stateNextStart = starts(machine.states.map((s) => s.next.length));
    this.stateFallback = Int32Array.from(machine.states, (s) => s.fallback);
    this.stateNext = Int32Array.from(machine.states.flatMap((s) => s.next));

    const outcomes = machine.outcomes;
    this.outcomeLeaf = Int32Array.from(outcomes, (o, i) => (o ? o.leaf : i));
    this.checkStart = starts(Array.from(outcomes, (o) => (o ? o.checks.length : 0))); // outcomes has holes
    this.checkList = Int32Array.from(Array.from(outcomes, (o) => (o ? o.checks : [])).flat());
  }

  /** The flow-level outcome: the walk with every per-packet rule taken as false. Cache it per flow. */
  classifyFlow(ctx: MatchContext): number {
    const { stateClass, stateNextStart, stateNext, stateFallback, childStart, childList, ruleKind, tests } = this;
    let s = 0;
    while (true) {
      const cls = stateClass[s];
      let target = stateFallback[s];
      const first = childStart[cls];
      const end = childStart[cls + 1];
      for (let i = first; i < end; i++) {
        const c = childList[i];
        const kind = ruleKind[c];
        if (kind === PACKET_RULE) continue;
        if (kind === NO_RULE || (tests[c] as RuleTest)(ctx)) {
          target = stateNext[stateNextStart[s] + i - first];
          break;
        }
      }
      if (target < 0) return ~target;
      s = target;
    }
  }

  /** Whether classifyPacket can give anything but leafOf(outcome) for this flow outcome. */
  needsPerPacket(outcome: number): boolean {
    return this.checkStart[outcome + 1] > this.checkStart[outcome];
  }

  /** The leaf a flow outcome stands for when no per-packet rule holds (the outcome itself if !needsPerPacket). */
  leafOf(outcome: number): number {
    return this.outcomeLeaf[outcome];
  }

  /** The leaf for this packet of a flow whose classifyFlow gave `outcome`. */
  classifyPacket(ctx: MatchContext, outcome: number): number {
    const end = this.checkStart[outcome + 1];
    for (let i = this.checkStart[outcome]; i < end; i++) {
      const c = this.checkList[i];
      if ((this.tests[c] as RuleTest)(ctx)) return this.walkFrom(ctx, c);
    }
    return this.outcomeLeaf[outcome];
  }

  /** The leaf by evaluating every rule, with no flow caching: the reference semantics. */
  classify(ctx: MatchContext): number {
    return this.walkFrom(ctx, this.classCount);
  }

  /** The leaf reached once class `cls` (or the root, classCount) has matched. */
  private walkFrom(ctx: MatchContext, cls: number): number {
    const { childStart, childList, tests, isLeaf, defaultChild } = this;
    while (cls === this.classCount || isLeaf[cls] === 0) {
      let next = -1;
      for (let i = childStart[cls]; i < childStart[cls + 1]; i++) {
        const c = childList[i];
        const test = tests[c];
        if (test === null || test(ctx)) {
          next = c;
          break;
        }
      }
      if (next < 0) next = defaultChild[cls];
      if (next < 0) return this.defaultLeaf;
      cls = next;
    }
    return cls;
  }
}

/** Where each of a run of consecutive lists starts, given their lengths; one extra entry for the end. */
function starts(lengths: number[]): Int32Array {
  const out = new Int32Array(lengths.length + 1);
  for (let i = 0; i < lengths.length; i++) out[i + 1] = out[i] + lengths[i];
  return out;
}

function validate(classes: readonly ClassRule[], defaultLeaf: number): void {
  classes.forEach((c, i) => {
    if (c.parent >= i || c.parent < -1) throw new Error(`class ${c.path}: parent ${c.parent} must come before it`);
    if (c.parent >= 0 && classes[c.parent].isLeaf) throw new Error(`class ${c.path}: parent ${classes[c.parent].path} is a leaf`);
  });
  if (!classes[defaultLeaf]?.isLeaf) throw new Error(`default leaf ${defaultLeaf} is not a leaf class`);
}

interface State {
  cls: number;
  /** Per child position: next state or ~group (rewritten to ~outcome once outcomes are numbered). */
  next: number[];
  fallback: number;
}

interface Outcome {
  leaf: number;
  checks: number[];
}

/** Enumerates the flow walk's states and outcomes (see the header). Runs once per configuration. */
class MachineBuilder {
  readonly states: State[] = [];
  /** Indexed by outcome number; undefined where no outcome has that number. */
  outcomes: Array<Outcome | undefined> = [];
  private readonly groups: Outcome[] = [];
  private readonly groupIds = new Map<string, number>();

  constructor(
    private readonly kids: number[][],
    private readonly ruleKind: Uint8Array,
    private readonly isLeaf: Uint8Array,
    private readonly defaultChild: Int32Array,
    private readonly root: number,
  ) {}

  build(): void {
    this.expand(this.root, []);
    // Number the outcomes: each leaf's index goes to its check-free group if it has one, else to
    // its first group; any other group of the same leaf is numbered from classCount up.
    const groupOutcome = new Int32Array(this.groups.length);
    const outcomes: Array<Outcome | undefined> = new Array(this.root);
    const order = this.groups.map((_, i) => i).sort((a, b) => this.groups[a].checks.length - this.groups[b].checks.length || a - b);
    for (const g of order) {
      const leaf = this.groups[g].leaf;
      groupOutcome[g] = outcomes[leaf] === undefined ? leaf : outcomes.length;
      outcomes[groupOutcome[g]] = this.groups[g];
    }
    const remap = (t: number): number => (t < 0 ? ~groupOutcome[~t] : t);
    for (const s of this.states) {
      s.next = s.next.map(remap);
      s.fallback = remap(s.fallback);
    }
    this.outcomes = outcomes;
  }

  /** Adds the state expanding `cls` (reached with `checks` skipped so far); returns its number. */
  private expand(cls: number, checks: number[]): number {
    const id = this.states.length;
    const state: State = { cls, next: [], fallback: 0 };
    this.states.push(state);
    const skipped = [...checks];
    for (const c of this.kids[cls]) {
      if (this.ruleKind[c] === PACKET_RULE) {
        skipped.push(c);
        state.next.push(0);
      } else {
        state.next.push(this.enter(c, [...skipped]));
      }
    }
    // The root's "default child" is the link's default leaf (see the constructor).
    const fallback = this.defaultChild[cls];
    state.fallback = fallback >= 0 ? this.enter(fallback, skipped) : this.terminal(this.defaultChild[this.root], skipped);
    return id;
  }

  private enter(cls: number, checks: number[]): number {
    return this.isLeaf[cls] ? this.terminal(cls, checks) : this.expand(cls, checks);
  }

  private terminal(leaf: number, checks: number[]): number {
    const key = `${leaf}:${checks.join(',')}`;
    let g = this.groupIds.get(key);
    if (g === undefined) {
      g = this.groups.length;
      this.groups.push({ leaf, checks });
      this.groupIds.set(key, g);
    }
    return ~g;
  }
}
