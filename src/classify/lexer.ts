/**
 * Lexer for the rule language: turns a rule's text into tokens. Runs once per configuration, not
 * per packet, so it favours clear errors over speed.
 *
 * Tokens: names (`rport`, `tcp.syn`, `flow.bytes` — dotted, so new attribute families need no
 * grammar change), the keywords and/or/not/in/true/false, strings ("…" or '…' with \" \\ \n \t \r
 * \0 \xHH \uHHHH escapes), integers, hex (0x58), decimals with an optional unit (`1.5mbit`, `10MB`,
 * `5s` → base units, units.ts), IPv4/IPv6 addresses with an optional `/prefix`, the operators
 * == != < <= > >= ~ and the punctuation ( ) [ ] , .. — and `#` comments to the end of the line.
 *
 * IPv6 addresses begin like names or numbers (`fe80::1`, `2001:db8::/32`); a ':' appears nowhere
 * else in the language, so a run of hex digits, ':' and '.' containing a ':' is an address.
 */
import type { Literal } from './ast.js';
import { RuleFault } from './errors.js';
import { UNIT_SPELLINGS, applyUnit, lookupUnit, type UnitKind } from './units.js';
import { formatAddress, parseAddress } from '../packet/addr.js';

export type TokenKind =
  | 'name'
  | 'literal'
  | 'and'
  | 'or'
  | 'not'
  | 'in'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '~'
  | '('
  | ')'
  | '['
  | ']'
  | ','
  | '..'
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** Source text of the token ('' at the end). */
  text: string;
  offset: number;
  /** Set when kind is 'literal'. */
  literal: Literal | null;
}

const KEYWORDS: ReadonlyMap<string, TokenKind> = new Map<string, TokenKind>([
  ['and', 'and'],
  ['or', 'or'],
  ['not', 'not'],
  ['in', 'in'],
]);

const OPERATORS: readonly TokenKind[] = ['==', '!=', '<=', '>=', '..', '<', '>', '~', '(', ')', '[', ']', ','];

/** Operators from other languages, and what to write instead. */
const FOREIGN: ReadonlyArray<readonly [string, string]> = [
  ['&&', "'and'"],
  ['||', "'or'"],
  ['=~', "'~'"],
  ['=', "'=='"],
  ['!', "'not' or '!='"],
];

const NAME = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;
const IPV6_RUN = /[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/y;
const IPV4 = /\d+\.\d+\.\d+\.\d+/y;
const HEX = /0[xX][0-9A-Fa-f]+/y;
const DECIMAL = /\d+(?:\.\d+)?/y;
const SUFFIX = /[A-Za-zµ]+/y;
const PREFIX = /\/(\d+)/y;
const NAME_CHAR = /[A-Za-z0-9_]/;

function sticky(re: RegExp, src: string, at: number): string | null {
  re.lastIndex = at;
  const m = re.exec(src);
  return m ? m[0] : null;
}

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (true) {
    i = skipBlank(src, i);
    if (i >= src.length) break;
    const tok = next(src, i);
    out.push(tok);
    i = tok.offset + tok.text.length;
  }
  out.push({ kind: 'eof', text: '', offset: src.length, literal: null });
  return out;
}

function skipBlank(src: string, i: number): number {
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
    else if (c === '#') while (i < src.length && src[i] !== '\n') i++;
    else break;
  }
  return i;
}

function next(src: string, at: number): Token {
  const c = src[at];
  if (c === '"' || c === "'") return stringToken(src, at);

  const v6 = sticky(IPV6_RUN, src, at);
  if (v6 === ':') throw new RuleFault('syntax', "unexpected ':' (compare with '==', as in rport == 80)", 'an operator', at);
  if (v6 !== null) return addrToken(src, at, v6);
  if (c >= '0' && c <= '9') {
    const v4 = sticky(IPV4, src, at);
    if (v4 !== null) return addrToken(src, at, v4);
    return numberToken(src, at);
  }

  const name = sticky(NAME, src, at);
  if (name !== null) {
    const kw = KEYWORDS.get(name);
    if (kw) return { kind: kw, text: name, offset: at, literal: null };
    if (name === 'true' || name === 'false') {
      const literal: Literal = { kind: 'bool', value: name === 'true', text: name, offset: at };
      return { kind: 'literal', text: name, offset: at, literal };
    }
    return { kind: 'name', text: name, offset: at, literal: null };
  }

  for (const op of OPERATORS) {
    if (src.startsWith(op, at)) return { kind: op, text: op, offset: at, literal: null };
  }
  for (const [foreign, instead] of FOREIGN) {
    if (src.startsWith(foreign, at)) {
      throw new RuleFault('syntax', `'${foreign}' is not an operator here; write ${instead}`, instead, at);
    }
  }
  throw new RuleFault('syntax', `unexpected character '${c}'`, 'an attribute, a value or an operator', at);
}

/** Rejects a literal glued to more name characters, as in `80x` or `1.2.3.4abc`. */
function endOfLiteral(src: string, end: number, what: string, start: number): void {
  if (end < src.length && NAME_CHAR.test(src[end])) {
    throw new RuleFault('literal', `malformed ${what} '${src.slice(start, end + 1)}…'`, what, start);
  }
}

function addrToken(src: string, at: number, text: string): Token {
  const bytes = parseAddress(text);
  const family = text.includes(':') ? 'IPv6 address' : 'IPv4 address';
  if (bytes === null) throw new RuleFault('literal', `malformed ${family} '${text}'`, `an ${family}`, at);
  let end = at + text.length;
  let prefixLen: number | null = null;
  const prefix = sticky(PREFIX, src, end);
  if (prefix !== null) {
    prefixLen = Number(prefix.slice(1));
    const max = bytes.length * 8;
    if (prefixLen > max) {
      throw new RuleFault('literal', `prefix length /${prefixLen} is longer than ${max}`, `a prefix length 0..${max}`, end);
    }
    end += prefix.length;
    const network = maskTo(bytes, prefixLen);
    if (!network.equals(bytes)) {
      const fixed = `${formatAddress(network, 0, bytes.length === 4 ? 4 : 16)}/${prefixLen}`;
      throw new RuleFault('literal', `${text}/${prefixLen} has bits set after the prefix — did you mean ${fixed}?`, 'a network address', at);
    }
  }
  endOfLiteral(src, end, family, at);
  const whole = src.slice(at, end);
  const literal: Literal = { kind: 'addr', bytes, prefixLen, text: whole, offset: at };
  return { kind: 'literal', text: whole, offset: at, literal };
}

/** A copy of `bytes` with every bit after the first `prefixLen` cleared. */
function maskTo(bytes: Buffer, prefixLen: number): Buffer {
  const out = Buffer.from(bytes);
  for (let bit = prefixLen; bit < out.length * 8; bit++) out[bit >> 3] &= ~(0x80 >> (bit & 7));
  return out;
}

function numberToken(src: string, at: number): Token {
  const hex = sticky(HEX, src, at);
  if (hex !== null) {
    endOfLiteral(src, at + hex.length, 'hex number', at);
    const literal: Literal = { kind: 'number', value: parseInt(hex.slice(2), 16), unit: null, text: hex, offset: at };
    return { kind: 'literal', text: hex, offset: at, literal };
  }
  const digits = sticky(DECIMAL, src, at) as string;
  let value = Number(digits);
  let end = at + digits.length;
  let unitKind: UnitKind | null = null;
  const suffix = sticky(SUFFIX, src, end);
  if (suffix !== null) {
    const unit = lookupUnit(suffix);
    if (unit === null) {
      throw new RuleFault('literal', `unknown unit '${suffix}'`, `one of ${UNIT_SPELLINGS}`, end);
    }
    value = applyUnit(value, unit);
    unitKind = unit.kind;
    end += suffix.length;
  }
  endOfLiteral(src, end, 'number', at);
  const text = src.slice(at, end);
  const literal: Literal = { kind: 'number', value, unit: unitKind, text, offset: at };
  return { kind: 'literal', text, offset: at, literal };
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', '"': '"', "'": "'" };

function stringToken(src: string, at: number): Token {
  const quote = src[at];
  let value = '';
  let i = at + 1;
  while (true) {
    if (i >= src.length || src[i] === '\n') {
      throw new RuleFault('syntax', 'unterminated string', `a closing ${quote}`, at);
    }
    const c = src[i];
    if (c === quote) break;
    if (c !== '\\') {
      value += c;
      i++;
      continue;
    }
    const e = src[i + 1] ?? '';
    if (e in ESCAPES) {
      value += ESCAPES[e];
      i += 2;
    } else if (e === 'x' || e === 'u') {
      const len = e === 'x' ? 2 : 4;
      const hex = src.slice(i + 2, i + 2 + len);
      if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) {
        throw new RuleFault('literal', `bad escape '\\${e}${hex}'`, `\\${e} and ${len} hex digits`, i);
      }
      value += String.fromCharCode(parseInt(hex, 16));
      i += 2 + len;
    } else {
      throw new RuleFault('literal', `unknown escape '\\${e}'`, 'one of \\" \\\' \\\\ \\n \\t \\r \\0 \\xHH \\uHHHH', i);
    }
  }
  const text = src.slice(at, i + 1);
  const literal: Literal = { kind: 'string', value, text, offset: at };
  return { kind: 'literal', text, offset: at, literal };
}
