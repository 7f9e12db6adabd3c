import { ColumnSpec, Value } from '@tributary/model';
import { RowRejectedError } from '../errors';

/** What better-sqlite3 binds: bigint for 64-bit integers, so no BIGINT passes through a double. */
export type SqliteParam = number | bigint | string | Buffer | null;

/**
 * A canonical value (see LogicalType) as bound to its SQLite column
 * (sqliteColumnType). A value of the wrong shape is refused as a row.
 */
export function toSqlite(column: ColumnSpec, value: Value): SqliteParam {
  if (value === null) return null;
  switch (column.type) {
    case 'int':
    case 'year':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw mismatch(column, 'an integer');
      return value;
    case 'bigint': {
      const text = String(value);
      if (!/^-?\d+$/.test(text)) throw mismatch(column, 'a decimal integer string');
      // Unsigned BIGINT is a TEXT column (beyond INTEGER's 2^63 - 1); signed goes in as a 64-bit integer.
      if (column.unsigned) return text;
      const big = BigInt(text);
      if (big < -(2n ** 63n) || big >= 2n ** 63n) throw new RowRejectedError(`column ${column.name}: ${text} is out of BIGINT range`, 'SQLITE_TOOBIG');
      return big;
    }
    case 'float':
    case 'double':
      if (typeof value !== 'number') throw mismatch(column, 'a number');
      return value;
    case 'binary':
      if (!Buffer.isBuffer(value)) throw mismatch(column, 'binary');
      return value;
    default:
      if (typeof value !== 'string') throw mismatch(column, 'a string');
      return value;
  }
}

/** A value read back (with safeIntegers: INTEGER columns come as bigint) in its canonical form. */
export function fromSqlite(column: ColumnSpec, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  switch (column.type) {
    case 'int':
    case 'year':
      return Number(raw);
    case 'bigint':
      return String(raw);
    case 'float':
    case 'double':
      return Number(raw);
    case 'binary':
      return Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
    default:
      return String(raw);
  }
}

function mismatch(column: ColumnSpec, wanted: string): RowRejectedError {
  return new RowRejectedError(`column ${column.name} (${column.type}) needs ${wanted}`, 'SQLITE_MISMATCH');
}
