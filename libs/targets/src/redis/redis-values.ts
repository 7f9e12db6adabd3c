import { ColumnSpec, Row, TargetTableSpec, Value } from '@tributary/model';
import { TargetOptionError } from '../errors';

/**
 * How rows become Redis keys and values. Every value is stored as the text
 * of its canonical form (see LogicalType): numbers in JavaScript's shortest
 * round-trip form, BIGINT and DECIMAL as their digits, binary as base64,
 * JSON as its document text. Text keeps every digit through Lua, which has
 * only doubles.
 */

const PLACEHOLDER = /\{([^{}]*)\}/g;
const KNOWN = new Set(['table', 'pk']);

/** Checks a key template: only {table} and {pk}, both present (else rows of different tables or keys collide). */
export function validateKeyTemplate(template: string): string {
  const seen = new Set<string>();
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (!KNOWN.has(match[1])) throw new TargetOptionError(`redis target: keyTemplate has unknown placeholder {${match[1]}} (known: {table}, {pk})`);
    seen.add(match[1]);
  }
  if (template.replace(PLACEHOLDER, '').match(/[{}]/)) throw new TargetOptionError('redis target: keyTemplate has an unbalanced brace');
  for (const name of KNOWN) {
    if (!seen.has(name)) throw new TargetOptionError(`redis target: keyTemplate must contain {${name}}`);
  }
  return template;
}

/**
 * The row's key: `{pk}` is the key values in key-column order joined by ':',
 * each with '\' and ':' escaped by a backslash, so distinct keys never render
 * alike ('a:b' + 'c' vs 'a' + 'b:c').
 */
export function renderKey(prefix: string, template: string, table: TargetTableSpec, key: Row): string {
  const pk = table.key.map((name) => valueText(key[name] ?? null).replace(/\\/g, '\\\\').replace(/:/g, '\\:')).join(':');
  return prefix + template.replace(PLACEHOLDER, (_, name: string) => (name === 'table' ? table.name : pk));
}

/** A value as stored: its canonical text, or null. */
export function toRedisText(value: Value): string | null {
  return value === null ? null : valueText(value);
}

/** A stored text back in its canonical form for the column's type. */
export function fromRedisText(column: ColumnSpec, text: string | null | undefined): Value {
  if (text === null || text === undefined) return null;
  switch (column.type) {
    case 'int':
    case 'year':
    case 'float':
    case 'double':
      return Number(text);
    case 'binary':
      return Buffer.from(text, 'base64');
    default:
      return text;
  }
}

function valueText(value: Value): string {
  if (value === null) return '';
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return String(value);
}

/** The row as stored: every spec column, as text or null. */
export function encodeRow(table: TargetTableSpec, row: Row): Record<string, string | null> {
  const stored: Record<string, string | null> = {};
  for (const column of table.columns) stored[column.name] = toRedisText(row[column.name] ?? null);
  return stored;
}
