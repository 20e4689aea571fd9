/**
 * From a path in the configuration (`['classes', 'torrents', 'ceil']`) to where it is written in
 * the YAML file, so every problem names a line and column. A scalar is located at its value; a
 * mapping or list at the key that holds it (its first line is often a child); a path that does not
 * exist (a missing key) at the deepest key that does.
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Scalar } from 'yaml';

export type PathSegment = string | number;

export interface Position {
  line: number;
  column: number;
}

/** `classes.torrents.ceil`, `links[0].egress`, `datapath.exempt[1]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

export class SourceMap {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  position(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** The node at `path`, or null. */
  node(path: readonly PathSegment[]): Node | null {
    const { node, complete } = this.walk(path);
    return complete ? node : null;
  }

  /** Where the value at `path` is written; with `atKey`, where its key is written. */
  locate(path: readonly PathSegment[], atKey = false): Position {
    const { node, anchor, complete } = this.walk(path);
    if (complete && !atKey && node !== null && isScalar(node) && node.range) return this.position(node.range[0]);
    return this.position(anchor);
  }

  /** Where a rule's first character is: inside the quotes, or on the first line of a block scalar. */
  ruleStart(node: Scalar, source: string): Position {
    const start = node.range?.[0] ?? 0;
    if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') return this.position(start + 1);
    if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
      let offset = source.indexOf('\n', start) + 1;
      while (offset > 0 && (source[offset] === ' ' || source[offset] === '\n')) offset++;
      return this.position(offset);
    }
    return this.position(start);
  }

  private walk(path: readonly PathSegment[]): { node: Node | null; anchor: number; complete: boolean } {
    let node = (this.doc.contents as Node | null) ?? null;
    let anchor = node?.range?.[0] ?? 0;
    for (const seg of path) {
      if (node !== null && isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value === seg || String(p.key.value) === String(seg) : false));
        if (pair === undefined) return { node, anchor, complete: false };
        anchor = (pair.key as Node).range?.[0] ?? anchor;
        node = (pair.value as Node | null) ?? null;
      } else if (node !== null && isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        node = node.items[seg] as Node;
        anchor = node.range?.[0] ?? anchor;
      } else {
        return { node, anchor, complete: false };
      }
    }
    return { node, anchor, complete: true };
  }
}
