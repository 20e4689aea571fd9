/**
 * RuleError: the one error type of the rule language. A rule is a string inside a configuration
 * file, so an error names the rule (a label such as `classes.web.match`), the position in file
 * terms, shows the rule's source line with a caret under the offending column, and says what was
 * expected — principle 5 of DESIGN.md, "errors a person can act on":
 *
 *   classes.web.match:1:10: unknown attribute 'rpot' — did you mean 'rport'?
 *     rpot in [80, 443]
 *     ^
 *
 * Positions: the caller passes where the rule starts in its file (RuleOrigin.line/column, 1-based).
 * A position on the rule's first line is shifted by both; on a later line of a multi-line rule only
 * the line is shifted, since the column where a YAML block continues is not known here.
 */

/** Where a rule came from, for error messages. */
export interface RuleOrigin {
  /** Names the rule, e.g. `classes.web.match`. */
  label: string;
  /** The configuration file, when there is one; prefixes the message as `file:line:col: label: …`. */
  file?: string;
  /** 1-based line in the file where the rule's first character is (default 1). */
  line?: number;
  /** 1-based column in the file where the rule's first character is (default 1). */
  column?: number;
}

/** What kind of mistake: lexing/grammar, an attribute name, a type mismatch, or a bad literal. */
export type RuleErrorCode = 'syntax' | 'unknown-attribute' | 'type' | 'literal';

export class RuleError extends Error {
  override readonly name = 'RuleError';
  readonly code: RuleErrorCode;
  /** The rule's label (RuleOrigin.label) and file, if any. */
  readonly label: string;
  readonly file: string | undefined;
  /** Position in file terms (origin applied), 1-based. */
  readonly line: number;
  readonly column: number;
  /** Position inside the rule source, 1-based, and the character offset. */
  readonly ruleLine: number;
  readonly ruleColumn: number;
  readonly offset: number;
  /** What would have been accepted here, e.g. "a number", "']' or ','". */
  readonly expected: string;
  /** The message without position or source excerpt. */
  readonly reason: string;

  constructor(
    code: RuleErrorCode,
    reason: string,
    expected: string,
    source: string,
    offset: number,
    origin: RuleOrigin,
  ) {
    const { line: ruleLine, column: ruleColumn, text } = locate(source, offset);
    const line = (origin.line ?? 1) + ruleLine - 1;
    const column = ruleLine === 1 ? (origin.column ?? 1) + ruleColumn - 1 : ruleColumn;
    const where = origin.file
      ? `${origin.file}:${line}:${column}: ${origin.label}`
      : `${origin.label}:${line}:${column}`;
    super(`${where}: ${reason}\n  ${text}\n  ${' '.repeat(ruleColumn - 1)}^`);
    this.code = code;
    this.label = origin.label;
    this.file = origin.file;
    this.line = line;
    this.column = column;
    this.ruleLine = ruleLine;
    this.ruleColumn = ruleColumn;
    this.offset = offset;
    this.expected = expected;
    this.reason = reason;
  }
}

/** Line and column (1-based) of a character offset, and the text of that line (tabs as spaces). */
function locate(source: string, offset: number): { line: number; column: number; text: string } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < source.length; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  let lineEnd = source.indexOf('\n', lineStart);
  if (lineEnd < 0) lineEnd = source.length;
  const text = source.slice(lineStart, lineEnd).replace(/\t/g, ' ').replace(/\r$/, '');
  return { line, column: offset - lineStart + 1, text };
}

/**
 * Internal: thrown by the lexer, parser and checker, which know the offset but not the origin;
 * compileRule turns it into a RuleError. Not an Error subclass: it never escapes compileRule, so it
 * needs no stack trace.
 */
export class RuleFault {
  constructor(
    readonly code: RuleErrorCode,
    readonly reason: string,
    readonly expected: string,
    readonly offset: number,
  ) {}
}
