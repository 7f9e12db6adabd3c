import { types as pgTypes } from 'pg';
import { ColumnSpec, Value } from '@tributary/model';
import {
  normaliseDateTime,
  requireBits,
  requireBuffer,
  requireDecimal,
  requireInteger,
  requireNumber,
  requireString,
  secondsToTime,
} from '../values';

/** A value as node-postgres sends it, alone or inside an array literal. */
export type PostgresParam = string | number | boolean | Buffer | null;

/** Canonical value (libs/model) → what node-postgres sends for a column of postgresColumnType(column). */
export function toPostgresParam(column: ColumnSpec, value: Value): string | number | Buffer | null {
  if (value === null) return null;
  switch (column.type) {
    case 'int':
    case 'year':
      return requireInteger(column, value);
    case 'float':
    case 'double':
      // A float's canonical value is the float32 widened to double: real rounds it back exactly.
      return requireNumber(column, value);
    case 'bigint':
    case 'decimal':
      return requireDecimal(column, value);
    case 'timestamp':
      // The canonical text is UTC; say so, or the session zone would be assumed.
      return requireString(column, value) + '+00';
    case 'binary':
      return requireBuffer(column, value);
    case 'bit':
      return requireBits(column, value);
    case 'date':
    case 'datetime':
    case 'time':
    case 'string':
    case 'enum':
    case 'set':
    case 'json':
      return requireString(column, value);
  }
}

/**
 * One column's values as the text of a PostgreSQL array (`{"a",NULL,"b\"c"}`),
 * sent as ONE parameter and cast to postgresArrayType(column)[]: a 1000-row
 * batch is a few parameters instead of one per value. The same text form
 * node-postgres builds for a JS array (its arrayString), written here so the
 * driver gets a plain string: every element but NULL and numbers is quoted,
 * with `\` and `"` escaped, so `NULL`, `{`, `,` and spaces inside a value stay
 * data; bytes are `\\x<hex>`, which bytea reads back exactly.
 */
export function postgresArrayLiteral(values: readonly PostgresParam[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) parts[i] = arrayElement(values[i]);
  return `{${parts.join(',')}}`;
}

function arrayElement(value: PostgresParam): string {
  if (value === null) return 'NULL';
  // A JS number's text is a plain numeric literal (digits, sign, '.', 'e', '+'): safe unquoted.
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  // Inside quotes, the array parser turns \\ into \, so bytea sees \x<hex>.
  if (Buffer.isBuffer(value)) return `"\\\\x${value.toString('hex')}"`;
  return quoted(value);
}

/** `"…"` with `\` and `"` escaped; string replaceAll, as JSON text is full of quotes and a regex is twice as slow. */
function quoted(text: string): string {
  let escaped = text;
  if (escaped.includes('\\')) escaped = escaped.replaceAll('\\', '\\\\'); // first, so the next line's escapes stay single
  if (escaped.includes('"')) escaped = escaped.replaceAll('"', '\\"');
  return `"${escaped}"`;
}

/**
 * The select expression that lets fromPostgres rebuild the canonical value:
 * an interval is read as exact seconds, so its text style cannot matter.
 */
export function postgresReadExpression(column: ColumnSpec, quoted: string): string {
  return column.type === 'time' ? `EXTRACT(EPOCH FROM ${quoted}) AS ${quoted}` : quoted;
}

/** A value read with POSTGRES_TYPES (and postgresReadExpression) → the canonical form. */
export function fromPostgres(column: ColumnSpec, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  switch (column.type) {
    case 'int':
    case 'year':
    case 'double':
      return Number(raw);
    case 'float':
      // PostgreSQL prints the shortest text that round-trips the float32.
      return Math.fround(Number(raw));
    case 'datetime':
    case 'timestamp':
      return normaliseDateTime(column, String(raw));
    case 'time':
      return secondsToTime(String(raw), column.fsp);
    case 'binary':
      if (!Buffer.isBuffer(raw)) throw new Error(`column ${column.name}: expected bytea`);
      return raw;
    case 'bigint':
    case 'decimal':
    case 'date':
    case 'string':
    case 'bit':
    case 'enum':
    case 'set':
    case 'json':
      return String(raw);
  }
}

/**
 * Types read as their exact text (int8, numeric, dates, intervals, bit, json):
 * a Date or a parsed number would lose digits, zones or key order. Set per
 * client (pg's `types` option), so the process-wide pg.types stay untouched.
 */
const TEXT_OIDS = new Set([
  20, // int8
  114, // json
  1082, // date
  1083, // time
  1114, // timestamp
  1184, // timestamptz
  1186, // interval
  1266, // timetz
  1560, // bit
  1562, // varbit
  1700, // numeric
  3802, // jsonb
]);

const asText = (value: string) => value;

export const POSTGRES_TYPES = {
  getTypeParser(oid: number, format?: string): (value: string) => unknown {
    if (format === 'binary') return pgTypes.getTypeParser(oid, 'binary');
    return TEXT_OIDS.has(oid) ? asText : pgTypes.getTypeParser(oid, 'text');
  },
};
