import { ColumnDefault } from '@tributary/model';

const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;
const NOW = /^current_timestamp(\(\d*\))?$/i;

/**
 * A column's default from information_schema.COLUMNS.COLUMN_DEFAULT as
 * MariaDB (10.2.7 and later) writes it: SQL NULL or the text NULL for none,
 * a string literal quoted (quotes doubled, backslashes escaped), a number
 * as written, `current_timestamp()` (with its precision), or an expression.
 * Pure.
 */
export function parseColumnDefault(text: string | null): ColumnDefault | undefined {
  if (text === null || text === 'NULL') return undefined;
  if (text.length >= 2 && text.startsWith("'") && text.endsWith("'")) return { kind: 'value', value: unquote(text.slice(1, -1)) };
  if (NUMBER.test(text)) return { kind: 'value', value: text };
  if (NOW.test(text)) return { kind: 'now' };
  return { kind: 'expression', sql: text };
}

const ESCAPES: Record<string, string> = { '0': '\0', n: '\n', r: '\r', t: '\t', b: '\b', Z: '\x1a' };

/** The text inside a MariaDB string literal: '' is a quote, \x an escape (unknown escapes are the character itself). */
function unquote(inner: string): string {
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i];
    if (ch === "'" && inner[i + 1] === "'") {
      out += "'";
      i++;
    } else if (ch === '\\' && i + 1 < inner.length) {
      const next = inner[++i];
      out += ESCAPES[next] ?? next;
    } else {
      out += ch;
    }
  }
  return out;
}
