import { ColumnSpec } from '@tributary/model';
import { TargetConfigError } from '../errors';

/**
 * DDL column types per SQL dialect, from the captured ColumnSpec. The
 * choices are made so that every canonical value round-trips exactly
 * (docs in each branch say why where it is not obvious).
 */

/** MySQL integer types by range, signed and unsigned, mapped to the narrowest PostgreSQL type that holds it. */
const POSTGRES_INTS: Record<string, [signed: string, unsigned: string]> = {
  tinyint: ['smallint', 'smallint'],
  smallint: ['smallint', 'integer'],
  mediumint: ['integer', 'integer'],
  int: ['integer', 'bigint'],
  integer: ['integer', 'bigint'],
};

export function postgresColumnType(column: ColumnSpec): string {
  switch (column.type) {
    case 'int': {
      const pair = POSTGRES_INTS[column.dataType.toLowerCase()];
      // An int family we do not know by name: bigint holds every MySQL int below BIGINT.
      return pair ? pair[column.unsigned ? 1 : 0] : 'bigint';
    }
    case 'bigint':
      return column.unsigned ? 'numeric(20,0)' : 'bigint';
    case 'decimal':
      return column.precision !== null ? `numeric(${int(column.precision)},${int(column.scale ?? 0)})` : 'numeric';
    case 'float':
      return 'real';
    case 'double':
      return 'double precision';
    case 'date':
      return 'date';
    case 'datetime':
      return `timestamp(${fsp(column)}) without time zone`;
    case 'timestamp':
      // Values are UTC (the codec converts from the epoch), so they are instants.
      return `timestamp(${fsp(column)}) with time zone`;
    case 'time':
      // MySQL TIME is a duration (±838:59:59), not a time of day: PG time cannot hold it.
      return `interval(${fsp(column)})`;
    case 'year':
      return 'smallint';
    case 'string':
      // varchar for CHAR too: PG char(n) pads with spaces and returns them,
      // where MySQL strips them; varchar keeps the value as captured.
      return column.length !== null && isCharLike(column) ? `varchar(${int(column.length)})` : 'text';
    case 'binary':
      return 'bytea';
    case 'bit':
      return `bit(${int(column.length ?? 1)})`;
    case 'enum':
    case 'set':
      // Members can change at the source without us; text accepts any of them.
      return 'text';
    case 'json':
      // jsonb keeps every digit of a number (numeric), but reorders keys and drops duplicates.
      return 'jsonb';
  }
}

/**
 * The element type of the array a column's values travel in (`unnest($1::<type>[], …)`).
 * Always the column's type WITHOUT its typmod, so the INSERT's assignment cast
 * applies the typmod exactly as it does for a plain bind parameter: an explicit
 * cast would silently cut `varchar(5)` to five characters and pad or cut
 * `bit(n)`, where the assignment refuses the row. `bit` alone means `bit(1)`
 * in a cast, hence `varbit`; the assignment to `bit(n)` checks the width.
 */
export function postgresArrayType(column: ColumnSpec): string {
  switch (column.type) {
    case 'int':
      return postgresColumnType(column); // smallint / integer / bigint: no typmod
    case 'bigint':
      return column.unsigned ? 'numeric' : 'bigint';
    case 'decimal':
      return 'numeric';
    case 'float':
      return 'real';
    case 'double':
      return 'double precision';
    case 'date':
      return 'date';
    case 'datetime':
      return 'timestamp';
    case 'timestamp':
      return 'timestamptz';
    case 'time':
      return 'interval';
    case 'year':
      return 'smallint';
    case 'string':
    case 'enum':
    case 'set':
      return 'text';
    case 'binary':
      return 'bytea';
    case 'bit':
      return 'varbit';
    case 'json':
      return 'jsonb';
  }
}

/**
 * The element type for matching key values against a key column (DELETE).
 * As postgresArrayType, except `bit(n)`: `bit = varbit` would cast the column
 * and lose its index. The explicit cast cannot pad or cut anything here:
 * requireBits has checked the value is exactly n bits.
 */
export function postgresKeyArrayType(column: ColumnSpec): string {
  return column.type === 'bit' ? postgresColumnType(column) : postgresArrayType(column);
}

function isCharLike(column: ColumnSpec): boolean {
  const dataType = column.dataType.toLowerCase();
  return dataType === 'char' || dataType === 'varchar';
}

/**
 * MySQL/MariaDB target: the source's own COLUMN_TYPE (same engine family), but
 * never pasted blindly into DDL (invariant 10): enum and set are rebuilt from
 * their members, everything else must look like a plain type.
 */
export function mysqlColumnType(column: ColumnSpec): string {
  if (column.type === 'json') return 'JSON'; // MariaDB turns it into LONGTEXT CHECK (json_valid(...)).
  if (column.type === 'enum' || column.type === 'set') {
    if (!column.members || column.members.length === 0) {
      throw new TargetConfigError(`column ${column.name}: ${column.type} without members`);
    }
    return `${column.type}(${column.members.map(mysqlString).join(',')})`;
  }
  const type = column.columnType.trim().toLowerCase();
  if (!/^[a-z]+( ?\(\d+(,\d+)?\))?( unsigned)?( zerofill)?$/.test(type)) {
    throw new TargetConfigError(`column ${column.name}: unexpected column type ${JSON.stringify(column.columnType)}`);
  }
  return type;
}

/** A MySQL string literal; backslashes and quotes escaped (the session sql_mode keeps backslash escapes on). */
export function mysqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function fsp(column: ColumnSpec): number {
  const value = column.fsp ?? 0;
  if (!Number.isInteger(value) || value < 0 || value > 6) {
    throw new TargetConfigError(`column ${column.name}: fractional seconds precision ${value} is not 0-6`);
  }
  return value;
}

function int(value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new TargetConfigError(`not a type size: ${value}`);
  return value;
}

/**
 * SQLite storage class of a column (tables are STRICT, so SQLite refuses a
 * value of another class instead of silently converting it). Chosen so every
 * canonical value reads back exactly:
 * - ints and signed BIGINT: INTEGER (64-bit; read with safeIntegers, so no
 *   BIGINT passes through a double); unsigned BIGINT reaches 2^64 - 1, beyond
 *   INTEGER, so it is TEXT (decimal digits);
 * - DECIMAL: TEXT, every digit kept (REAL would round);
 * - FLOAT / DOUBLE: REAL (a float is its float32 value widened, exact in a double);
 * - dates, times, BIT, ENUM, SET, JSON: TEXT in the canonical form;
 * - binary: BLOB.
 */
export function sqliteColumnType(column: ColumnSpec): 'INTEGER' | 'REAL' | 'TEXT' | 'BLOB' {
  switch (column.type) {
    case 'int':
    case 'year':
      return 'INTEGER';
    case 'bigint':
      return column.unsigned ? 'TEXT' : 'INTEGER';
    case 'float':
    case 'double':
      return 'REAL';
    case 'binary':
      return 'BLOB';
    case 'decimal':
    case 'date':
    case 'datetime':
    case 'timestamp':
    case 'time':
    case 'string':
    case 'bit':
    case 'enum':
    case 'set':
    case 'json':
      return 'TEXT';
  }
}

/**
 * The CHECK a SQLite column carries so the target refuses what the source
 * type could not hold (SQLite has no lengths or JSON type of its own): char
 * and varchar length in characters, bit(n) as exactly n '0'/'1', valid JSON,
 * and unsigned BIGINT as digits only. Null when there is nothing to check.
 */
export function sqliteColumnCheck(column: ColumnSpec, quoted: string): string | null {
  if (column.type === 'string' && column.length !== null && isCharLike(column)) return `length(${quoted}) <= ${int(column.length)}`;
  if (column.type === 'bit') return `length(${quoted}) = ${int(column.length ?? 1)} AND ${quoted} NOT GLOB '*[^01]*'`;
  if (column.type === 'json') return `json_valid(${quoted})`;
  if (column.type === 'bigint' && column.unsigned) return `${quoted} <> '' AND ${quoted} NOT GLOB '*[^0-9]*' AND length(${quoted}) <= 20`;
  return null;
}
