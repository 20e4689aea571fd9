/**
 * A realistic class tree with mixed rules, of any size from 19 to 100 classes, for the benchmarks
 * that measure what classification costs: bench/classify/classes100.bench.ts (100 classes, the
 * classifier alone and the engine) and bench/datapath/throughput.bench.ts (about 30 classes, sluice
 * on a real queue).
 *
 * The tree: nine top-level groups, then the top-level `default`. Each group has a parent rule, its
 * own special leaves, leaves made from a pattern (`n0`, `n1`, ...: port ranges, port lists, prefix
 * lists for IPv4 and IPv6) and a `default` child; the size decides how many children each group
 * keeps (specials first, then pattern leaves, `default` always). The rules are what real files say
 * (sketch-config.yaml): the first class is `interactive`, whose rule reads per-packet attributes
 * (`dport == 53 or tcp.syn or tcp.pure_ack`, as in the sketch), so every flow has one per-packet
 * check; a few groups hold per-packet leaves (`tcp.pure_ack or length < 128`, `dscp == "ef"`,
 * `flow.bytes > 10MB`); everything else is flow-level (ports, ranges, prefixes, protocol).
 *
 * The figures (rates) are percentages of the parent, so the tree fits any link; on a link far faster
 * than its traffic nothing is delayed and a benchmark measures classification, not shaping.
 */

/** One class, in tree order (a parent before its children, siblings in file order). */
export interface RuleClass {
  /** Slash-separated: `web/n3`. */
  readonly path: string;
  /** Index of the parent in the list, or -1 at the top. */
  readonly parent: number;
  readonly isLeaf: boolean;
  /** The `match:` rule, or null (the `default` classes). */
  readonly match: string | null;
}

interface Group {
  name: string;
  match: string;
  specials: ReadonlyArray<readonly [name: string, match: string]>;
  /** The rule of pattern leaf k (k < 10). */
  pattern: (k: number) => string;
}

/** The groups, in the order they are tried. Pattern leaves never overlap one another. */
const GROUPS: readonly Group[] = [
  {
    name: 'interactive',
    match: 'proto == "icmp" or proto == "icmpv6" or dport == 53 or tcp.syn or tcp.pure_ack or rport in [22, 123, 853]',
    specials: [
      ['small', 'tcp.pure_ack or length < 128'],
      ['ping', 'proto == "icmp" or proto == "icmpv6"'],
      ['dns', 'dport == 53 or rport == 853'],
    ],
    pattern: (k) => `laddr in [192.168.${k}.0/24, fd00:0:0:${k}::/64]`,
  },
  {
    name: 'voice',
    match: 'proto == "udp" and rport in 16384..32767',
    specials: [['ef', 'dscp == "ef"']],
    pattern: (k) => `rport in ${16384 + 1024 * k}..${16384 + 1024 * k + 1023}`,
  },
  {
    name: 'web',
    match: 'proto == "tcp" and rport in [80, 443, 8080, 8443]',
    specials: [['bulk', 'flow.bytes > 10MB']],
    pattern: (k) => `raddr in [198.18.${k}.0/24, 2001:db8:${k}::/48]`,
  },
  {
    name: 'quic',
    match: 'proto == "udp" and rport == 443',
    specials: [],
    pattern: (k) => `raddr in [198.19.${k}.0/24, 2001:db8:1${k}::/48]`,
  },
  {
    name: 'games',
    match: 'rport in 27000..27999 or rport in [3074, 3478, 3479]',
    specials: [],
    pattern: (k) => `rport in ${27000 + 100 * k}..${27099 + 100 * k}`,
  },
  {
    name: 'torrents',
    match: 'lport in 61000..63000 or rport in 6881..6999',
    specials: [['lan', 'raddr in [10.0.0.0/8, 192.168.0.0/16, fc00::/7]']],
    pattern: (k) => `lport in ${61000 + 200 * k}..${61199 + 200 * k}`,
  },
  {
    name: 'vpn',
    match: 'proto == 50 or rport in [500, 1194, 4500, 51820]',
    specials: [],
    pattern: (k) => `raddr in [203.0.113.${16 * k}/28, 2001:db8:2${k}::/48]`,
  },
  {
    name: 'backup',
    match: 'raddr in [100.64.0.0/10, 2001:db8:ba00::/40]',
    specials: [['bulk', 'flow.bytes > 100MB']],
    pattern: (k) => `rport in [${9100 + k}, ${9200 + k}]`,
  },
  {
    name: 'mail',
    match: 'rport in [25, 110, 143, 465, 587, 993, 995]',
    specials: [],
    pattern: (k) => `raddr in [192.0.2.${16 * k}/28, 2001:db8:3${k}::/48]`,
  },
];

const MAX_CHILDREN = 10;
export const MIN_CLASSES = 2 * GROUPS.length + 1;
export const MAX_CLASSES = (MAX_CHILDREN + 1) * GROUPS.length + 1;

/** The tree with `classCount` classes in all (MIN_CLASSES..MAX_CLASSES), the children shared out evenly. */
export function mixedClasses(classCount: number): RuleClass[] {
  if (!Number.isInteger(classCount) || classCount < MIN_CLASSES || classCount > MAX_CLASSES) {
    throw new Error(`mixedClasses: ${classCount} classes: want an integer in ${MIN_CLASSES}..${MAX_CLASSES}`);
  }
  const children = classCount - GROUPS.length - 1;
  const out: RuleClass[] = [];
  GROUPS.forEach((g, gi) => {
    const parent = out.length;
    out.push({ path: g.name, parent: -1, isLeaf: false, match: g.match });
    const kept = Math.floor(children / GROUPS.length) + (gi < children % GROUPS.length ? 1 : 0) - 1;
    for (let i = 0; i < kept; i++) {
      const special = i < g.specials.length ? g.specials[i] : null;
      const k = i - g.specials.length;
      out.push(special === null
        ? { path: `${g.name}/n${k}`, parent, isLeaf: true, match: g.pattern(k) }
        : { path: `${g.name}/${special[0]}`, parent, isLeaf: true, match: special[1] });
    }
    out.push({ path: `${g.name}/default`, parent, isLeaf: true, match: null });
  });
  out.push({ path: 'default', parent: -1, isLeaf: true, match: null });
  return out;
}

/** The tree as the `classes:` section of a configuration file; every rate a share of its parent. */
export function classesYaml(classes: readonly RuleClass[]): string[] {
  const lines = ['classes:'];
  const siblings = (parent: number) => classes.filter((c) => c.parent === parent).length;
  const write = (parent: number, indent: string): void => {
    const share = Math.floor(100 / siblings(parent));
    classes.forEach((c, i) => {
      if (c.parent !== parent) return;
      lines.push(`${indent}${c.path.split('/').pop()}:`, `${indent}  rate: ${share}%`);
      if (c.match !== null) lines.push(`${indent}  match: '${c.match}'`);
      if (c.isLeaf) return;
      lines.push(`${indent}  classes:`);
      write(i, `${indent}    `);
    });
  };
  write(-1, '  ');
  return lines;
}
