/**
 * The syntax tree of one rule, as the parser reads it: no attribute is resolved and no type is known
 * yet (check.ts does that), so the grammar never changes when attributes are added. Every node keeps
 * the character offset where it starts, for error messages.
 */
import type { UnitKind } from './units.js';

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** An attribute name as written, e.g. `rport` or `tcp.syn`. */
export interface AttrRef {
  name: string;
  offset: number;
}

export type Literal =
  | { kind: 'number'; value: number; unit: UnitKind | null; text: string; offset: number }
  | { kind: 'string'; value: string; text: string; offset: number }
  | { kind: 'bool'; value: boolean; text: string; offset: number }
  /** An IPv4 (4 bytes) or IPv6 (16 bytes) address; prefixLen null when written without `/n`. */
  | { kind: 'addr'; bytes: Buffer; prefixLen: number | null; text: string; offset: number };

/** One member of an `in` set: a value, or an inclusive range `lo..hi` (hi non-null). */
export interface SetItem {
  lo: Literal;
  hi: Literal | null;
}

export type Expr =
  | { kind: 'or'; left: Expr; right: Expr; offset: number }
  | { kind: 'and'; left: Expr; right: Expr; offset: number }
  | { kind: 'not'; operand: Expr; offset: number }
  | { kind: 'const'; value: boolean; offset: number }
  /** A bare attribute used as a condition: `tcp.syn`. */
  | { kind: 'attr'; attr: AttrRef; offset: number }
  | { kind: 'compare'; attr: AttrRef; op: CompareOp; value: Literal; offset: number }
  /** `attr in [..]`, `attr in a..b`, `attr in 10.0.0.0/8`; negated for `not in`. */
  | { kind: 'in'; attr: AttrRef; negated: boolean; items: SetItem[]; offset: number }
  /** `attr ~ "regex"`. */
  | { kind: 'match'; attr: AttrRef; pattern: Literal & { kind: 'string' }; offset: number };
