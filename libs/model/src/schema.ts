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
