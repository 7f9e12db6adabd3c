/**
 * The captured shape of a source table, read from information_schema when
 * capture is installed. Every later stage (decoding images, creating and
 * writing target tables) works from this, never from a guess.
 */

/** How a column's value is carried and compared; one entry per family of MySQL types. */
export type LogicalType =
  | 'int' // tinyint, smallint, mediumint, int (signed or unsigned): JSON number
  | 'bigint' // bigint signed or unsigned: decimal string (beyond 2^53)
  | 'decimal' // decimal(p,s): decimal string, every digit kept
  | 'float' // float: the exact float32 value widened to a double
  | 'double' // double: JSON number, shortest round-trip form
  | 'date' // 'YYYY-MM-DD'
  | 'datetime' // 'YYYY-MM-DD HH:MM:SS[.ffffff]' (fsp digits), no time zone
  | 'timestamp' // 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC
  | 'time' // '[-]HH:MM:SS[.ffffff]', may exceed 24h (MySQL range ±838:59:59)
  | 'year' // number
  | 'string' // char, varchar, *text: utf8 string
  | 'binary' // binary, varbinary, *blob: Buffer
  | 'bit' // bit(n): string of n '0'/'1' characters
  | 'enum' // member name
  | 'set' // comma-separated member names, as MySQL shows them
  | 'json'; // JSON document text (kept as text so big numbers keep every digit)

export interface ColumnSpec {
  name: string;
  type: LogicalType;
  /** information_schema DATA_TYPE, e.g. 'varchar', 'mediumtext', 'tinyint'. */
  dataType: string;
  /** information_schema COLUMN_TYPE, e.g. 'bigint(20) unsigned', 'enum(\'a\',\'b\')'. */
  columnType: string;
  nullable: boolean;
  unsigned: boolean;
  /** Character length for char/varchar/binary/varbinary, width for bit. */
  length: number | null;
  precision: number | null;
  scale: number | null;
  /** Fractional-seconds precision for datetime/timestamp/time. */
  fsp: number | null;
  /** Members of an enum or set, in declaration order. */
  members: string[] | null;
  /**
   * The column's default at the source (issue #17): what SQL targets give
   * the column, so a target promoted to take writes behaves as the source
   * did. Not part of the schema hash (the triggers write full images, so a
   * default never decides a replicated value). Absent: none (or NULL).
   */
  default?: ColumnDefault;
}

/**
 * A column default as targets can carry it: a constant (`value`, as text:
 * a number as written, a string unquoted), the time of the write (`now`:
 * CURRENT_TIMESTAMP), or any other expression (MariaDB's own SQL: shown,
 * never carried to another database).
 */
export type ColumnDefault = { kind: 'value'; value: string } | { kind: 'now' } | { kind: 'expression'; sql: string };

/** Whether two defaults are the same (absent equals absent). */
export function sameDefault(a: ColumnDefault | undefined, b: ColumnDefault | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** A default as SQL people read it: 'text', 42, CURRENT_TIMESTAMP, or the expression. */
export function describeDefault(value: ColumnDefault | null | undefined): string {
  if (!value) return 'none';
  if (value.kind === 'now') return 'CURRENT_TIMESTAMP';
  if (value.kind === 'expression') return value.sql;
  return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value.value) ? value.value : `'${value.value.replace(/'/g, "''")}'`;
}

export interface TableSchema {
  /** Source table name (validated identifier). */
  table: string;
  columns: ColumnSpec[];
  /** Columns that identify a row: the primary key, or a NOT NULL unique key. */
  key: string[];
  keyKind: 'primary' | 'unique';
  /** Stable hash of the captured column list; carried by every change record. */
  hash: string;
}

/** A decoded column value. Binary is a Buffer; everything else is JSON-safe. */
export type Value = null | number | string | Buffer;
export type Row = Record<string, Value>;
