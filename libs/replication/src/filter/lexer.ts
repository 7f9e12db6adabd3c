import { FilterError } from './errors';

/**
 * The SQL-ish surface of the filter language, turned into text jsep can
 * parse. jsep is a JavaScript expression parser; rather than bend it with
 * plugins, the filter is tokenized here (this is where SQL quoting, keywords
 * and forbidden characters are decided) and re-emitted in jsep's syntax,
 * with a map from every emitted character back to the filter text so that
 * jsep's error positions can be reported in the user's terms.
 */

export type TokenKind = 'ident' | 'keyword' | 'string' | 'number' | 'op' | 'lparen' | 'rparen' | 'comma';

export interface Token {
  kind: TokenKind;
  /** Keywords lowercased, strings unquoted, identifiers as written. */
  text: string;
  /** Offset of the token's first character in the filter text. */
  pos: number;
}

/** Words of the language; they cannot name a column (quote the column with backticks instead). */
export const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'like', 'is', 'null', 'true', 'false']);
const OPERATORS = ['<=', '>=', '<>', '!=', '=', '<', '>', '-'];
const IDENT_START = /[A-Za-z_$]/;
const IDENT_PART = /[A-Za-z0-9_$]/;

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new FilterError('unterminated string', start);
        if (text[i] === "'") {
          // SQL doubles a quote inside a string: 'it''s'.
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      tokens.push({ kind: 'string', text: value, pos: start });
    } else if (ch === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) throw new FilterError('unterminated `quoted` column name', i);
      tokens.push({ kind: 'ident', text: text.slice(i + 1, end), pos: i });
      i = end + 1;
    } else if (ch === '"') {
      throw new FilterError("strings are written in single quotes ('text')", i);
    } else if (/[0-9]/.test(ch)) {
      const match = /^[0-9]+(\.[0-9]+)?/.exec(text.slice(i))!;
      if (IDENT_PART.test(text[i + match[0].length] ?? '') || text[i + match[0].length] === '.') {
        throw new FilterError('malformed number', i);
      }
      tokens.push({ kind: 'number', text: match[0], pos: i });
      i += match[0].length;
    } else if (IDENT_START.test(ch)) {
      const start = i;
      while (i < text.length && IDENT_PART.test(text[i])) i++;
      const word = text.slice(start, i);
      const lower = word.toLowerCase();
      tokens.push(KEYWORDS.has(lower) ? { kind: 'keyword', text: lower, pos: start } : { kind: 'ident', text: word, pos: start });
    } else if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: ch === '(' ? 'lparen' : ch === ')' ? 'rparen' : 'comma', text: ch, pos: i });
      i++;
    } else {
      const op = OPERATORS.find((candidate) => text.startsWith(candidate, i));
      if (!op) throw new FilterError(`unexpected character ${JSON.stringify(ch)}`, i);
      tokens.push({ kind: 'op', text: op, pos: i });
      i += op.length;
    }
  }
  checkShape(tokens);
  return tokens;
}

/** Mistakes jsep would accept as JavaScript (calls, `in` without a list) are refused here, with their place. */
function checkShape(tokens: Token[]): void {
  tokens.forEach((token, n) => {
    const next = tokens[n + 1];
    if (token.kind === 'ident' && next?.kind === 'lparen') throw new FilterError(`functions are not supported (${token.text})`, token.pos);
    if (token.kind === 'keyword' && token.text === 'in' && next?.kind !== 'lparen') {
      throw new FilterError("'in' needs a parenthesized list, e.g. in ('a', 'b')", token.pos);
    }
  });
}

/** Two-word operators become one jsep operator: `not in` → `not_in`, `not like` → `not_like`, `is not` → `is_not`. */
const PAIRS: Record<string, string> = { 'not in': 'not_in', 'not like': 'not_like', 'is not': 'is_not' };

export interface JsepSource {
  text: string;
  /** Filter-text offset of each character of `text` (one extra entry for the end). */
  positions: number[];
  /** Operands (columns and literals) in source order, as jsep's leaves will appear. */
  operands: Token[];
}

export function toJsepSource(text: string, tokens: Token[]): JsepSource {
  let out = '';
  const positions: number[] = [];
  const emit = (piece: string, pos: number) => {
    for (let k = 0; k < piece.length; k++) positions.push(pos);
    out += piece;
  };
  for (let n = 0; n < tokens.length; n++) {
    const token = tokens[n];
    const next = tokens[n + 1];
    const pair = next && token.kind === 'keyword' && next.kind === 'keyword' ? PAIRS[`${token.text} ${next.text}`] : undefined;
    if (pair) {
      emit(pair, token.pos);
      n++;
    } else if (token.kind === 'string') {
      emit('"' + token.text.replace(/[\\"]/g, (c) => '\\' + c) + '"', token.pos);
    } else if (token.kind === 'ident') {
      // A quoted column name may not be a valid jsep identifier: emit a safe stand-in and look it up by position.
      emit(`$c${n}`, token.pos);
    } else {
      emit(token.text, token.pos);
    }
    emit(' ', token.pos + 1);
  }
  positions.push(text.length);
  const operands = tokens.filter((t) => t.kind === 'ident' || t.kind === 'string' || t.kind === 'number' || (t.kind === 'keyword' && ['null', 'true', 'false'].includes(t.text)));
  return { text: out, positions, operands };
}
