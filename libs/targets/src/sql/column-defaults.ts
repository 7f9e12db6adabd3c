import { ColumnDefault, ColumnSpec } from '@tributary/model';
import { mysqlString, sqliteColumnType } from './type-mapping';

/**
 * A source column's default (ColumnSpec.default, issue #17) as a SQL
 * target's DEFAULT, so a target promoted to take writes fills a column left
 * out of an INSERT as the source did. Pure: the target's DDL puts the text
 * this gives after DEFAULT, so everything in it is quoted here or checked
 * to be a number (invariant 10: nothing of the source reaches DDL unchecked).
 *
 * A default the dialect cannot say with the same meaning gets none (the
 * column's default is then NULL): never a guess that would fill new rows
 * with a wrong value, never one that would make the CREATE TABLE fail.
 */
export type DefaultDialect = 'postgres' | 'mysql' | 'sqlite';

/** A number as MariaDB writes a numeric default (the same shape describeDefault shows bare). */
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** The expression after DEFAULT for `value` in a column of `column`'s type, or null for no default. */
export function defaultSql(dialect: DefaultDialect, column: ColumnSpec | undefined, value: ColumnDefault | null | undefined): string | null {
  if (!column || !value) return null;
  if (value.kind === 'now') return column.type === 'datetime' || column.type === 'timestamp' ? nowSql(dialect, column) : null;
  // An `expression` is MariaDB's own SQL (uuid(), b'1', (a + 1)): another database would read it otherwise, or not
  // at all. Specs are stored as JSON, so anything else that is not a constant's text is no default we know either.
  if (value.kind !== 'value' || typeof value.value !== 'string') return null;
  return constantSql(dialect, column, value.value);
}

/** A constant (ColumnDefault `value`) by the column's logical type. */
function constantSql(dialect: DefaultDialect, column: ColumnSpec, value: string): string | null {
  switch (column.type) {
    case 'int':
    case 'bigint':
    case 'decimal':
    case 'float':
    case 'double':
    case 'year':
      return NUMBER.test(value) ? numberSql(dialect, column, value) : null;
    case 'string':
    case 'enum':
    case 'set':
    case 'json':
    case 'date':
    case 'datetime':
    case 'time':
      return stringSql(dialect, column, value);
    case 'timestamp':
      // A constant TIMESTAMP default is written in the time zone of the session that set it, which is not known here.
    case 'binary':
      // Bytes have no literal the three dialects read alike (x'..', '\x..'::bytea).
    case 'bit':
      // b'..' at the source, B'..' in PostgreSQL, text in SQLite: not carried.
      return null;
  }
}

/** ` DEFAULT <sql>` for a column of a CREATE TABLE or ADD COLUMN, or nothing. */
export function defaultClause(dialect: DefaultDialect, column: ColumnSpec): string {
  const sql = defaultSql(dialect, column, column.default);
  return sql === null ? '' : ` DEFAULT ${sql}`;
}

/**
 * `ALTER COLUMN c SET DEFAULT <sql>`, or `DROP DEFAULT` when the change
 * drops it or sets one the dialect cannot say (the old one would be wrong
 * now): one action of a PostgreSQL or MySQL ALTER TABLE. `spec`: the column
 * whose type reads the value (none: not known, dropped).
 */
export function alterDefaultAction(dialect: 'postgres' | 'mysql', quote: (name: string) => string, change: { column: string; default: ColumnDefault | null; spec?: ColumnSpec }): string {
  const sql = defaultSql(dialect, change.spec, change.default);
  return `ALTER COLUMN ${quote(change.column)} ${sql === null ? 'DROP DEFAULT' : `SET DEFAULT ${sql}`}`;
}

/** The time of the write, at the column's precision where MySQL wants it said (datetime(6) DEFAULT CURRENT_TIMESTAMP fails on MySQL 8). */
function nowSql(dialect: DefaultDialect, column: ColumnSpec): string {
  const fsp = column.fsp ?? 0;
  // SQLite's CURRENT_TIMESTAMP is UTC text, whole seconds; PostgreSQL rounds it to the column's precision.
  return dialect === 'mysql' && Number.isInteger(fsp) && fsp > 0 && fsp <= 6 ? `CURRENT_TIMESTAMP(${fsp})` : 'CURRENT_TIMESTAMP';
}

/** A numeric default, bare; as text where SQLite keeps the column as TEXT (DECIMAL, unsigned BIGINT), so every digit stays as written. */
function numberSql(dialect: DefaultDialect, column: ColumnSpec, value: string): string {
  return dialect === 'sqlite' && sqliteColumnType(column) === 'TEXT' ? sqliteString(value) : value;
}

function stringSql(dialect: DefaultDialect, column: ColumnSpec, value: string): string | null {
  // PostgreSQL text cannot hold NUL, and SQL text may end at one: no default rather than a cut one.
  if (value.includes('\0')) return null;
  if (dialect === 'postgres') return postgresAccepts(column, value) ? postgresString(value) : null;
  if (dialect === 'mysql') {
    // TEXT and JSON columns take a constant default only as an expression on MySQL 8 (MariaDB takes either).
    const literal = mysqlString(value);
    return column.type === 'json' || (column.type === 'string' && /text$/i.test(column.dataType)) ? `(${literal})` : literal;
  }
  return sqliteString(value);
}

/**
 * Whether PostgreSQL takes the value as a default of the column's type:
 * it checks a date, interval or JSON default when the table is made, so
 * one it refuses (MySQL's zero dates, '0000-00-00') would stop the table
 * from being created at all.
 */
function postgresAccepts(column: ColumnSpec, value: string): boolean {
  switch (column.type) {
    case 'date':
    case 'datetime':
      return isCalendarDate(value);
    case 'time':
      return /^-?\d+:\d{2}:\d{2}(\.\d{1,6})?$/.test(value);
    case 'json':
      return isJson(value);
    default:
      return true;
  }
}

/** 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS[.ffffff]', a day the calendar has, year 1 or later. */
function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})( ([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?)?$/.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function isJson(value: string): boolean {
  try {
    JSON.parse(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * A PostgreSQL string literal: quotes doubled. A value with a backslash or
 * `?` is written as an escape string (E'..'): its backslashes doubled mean
 * the same whatever standard_conforming_strings says, and `?` as \x3f,
 * because knex turns every `?` of a statement into a $n placeholder, even
 * inside a literal (and eats backslashes before one).
 */
export function postgresString(value: string): string {
  if (!/[\\?]/.test(value)) return `'${value.replace(/'/g, "''")}'`;
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/\?/g, '\\x3f')}'`;
}

/** A SQLite string literal: quotes doubled (a backslash is an ordinary character there). */
export function sqliteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
