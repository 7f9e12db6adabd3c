import { createHash } from 'node:crypto';
import { ColumnSpec } from '@tributary/model';

/**
 * Stable hash of what capture writes for a table: each column's name,
 * logical type, declared type and nullability in ordinal order, plus the key.
 * The logical type is included because it decides the wire form (a LONGTEXT
 * that gains a json_valid check becomes JSON without its COLUMN_TYPE changing).
 *
 * @returns the first 16 hex digits of a SHA-1 over a canonical JSON text.
 */
export function schemaHash(columns: readonly ColumnSpec[], key: readonly string[]): string {
  const canonical = JSON.stringify({
    columns: columns.map((column) => [column.name, column.type, column.columnType, column.nullable]),
    key,
  });
  return createHash('sha1').update(canonical).digest('hex').slice(0, 16);
}
