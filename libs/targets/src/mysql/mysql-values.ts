import { Knex } from 'knex';
import { ColumnSpec, Value } from '@tributary/model';
import {
  bitsToUnsigned,
  bufferToBits,
  normaliseDateTime,
  requireBits,
  requireBuffer,
  requireDecimal,
  requireInteger,
  requireNumber,
  requireString,
} from '../values';

/**
 * Canonical value (libs/model) → placeholder and parameter for mysql2. A BIT
 * value goes in as a number: a string would be stored as its bytes.
 */
export function bindMysql(column: ColumnSpec, value: Value): { placeholder: string; param: Knex.Value } {
  return { placeholder: column.type === 'bit' ? 'CAST(? AS UNSIGNED)' : '?', param: toMysqlParam(column, value) };
}

function toMysqlParam(column: ColumnSpec, value: Value): string | number | Buffer | null {
  if (value === null) return null;
  switch (column.type) {
    case 'int':
    case 'year':
      return requireInteger(column, value);
    case 'float':
    case 'double':
      return requireNumber(column, value);
    case 'bigint':
    case 'decimal':
      // Never Number(): BIGINT UNSIGNED and DECIMAL(30,10) do not fit in a double.
      return requireDecimal(column, value);
    case 'binary':
      return requireBuffer(column, value);
    case 'bit':
      return bitsToUnsigned(requireBits(column, value));
    case 'date':
    case 'datetime':
    case 'timestamp': // UTC text; the session time_zone is +00:00
    case 'time':
    case 'string':
    case 'enum':
    case 'set':
    case 'json':
      return requireString(column, value);
  }
}

/** FLOAT is printed with 6 digits by the server; widened to DOUBLE it comes back exact. */
export function mysqlReadExpression(column: ColumnSpec, quoted: string): string {
  return column.type === 'float' ? `(${quoted} + 0e0) AS ${quoted}` : quoted;
}

/** A value read by mysql2 (dateStrings, bigNumberStrings, jsonStrings) → the canonical form. */
export function fromMysql(column: ColumnSpec, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  switch (column.type) {
    case 'int':
    case 'year':
    case 'double':
      return Number(raw);
    case 'float':
      return Math.fround(Number(raw));
    case 'datetime':
    case 'timestamp':
      return normaliseDateTime(column, String(raw));
    case 'binary':
      if (!Buffer.isBuffer(raw)) throw new Error(`column ${column.name}: expected bytes`);
      return raw;
    case 'bit':
      if (!Buffer.isBuffer(raw)) throw new Error(`column ${column.name}: expected BIT bytes`);
      return bufferToBits(raw, column.length ?? 1);
    case 'bigint':
    case 'decimal':
    case 'date':
    case 'time':
    case 'string':
    case 'enum':
    case 'set':
    case 'json':
      return String(raw);
  }
}
