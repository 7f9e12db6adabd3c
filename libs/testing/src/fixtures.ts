import { ColumnSpec, LogicalType } from '@tributary/model';

/**
 * Light test fixtures (no database, no app): unit specs import them from
 * `@tributary/testing/fixtures` without loading the rest of the testing lib.
 */

/** A captured column for a test: its data type named after its logical type, nullable, no size unless `over` gives one. */
export function column(name: string, type: LogicalType = 'string', over: Partial<ColumnSpec> = {}): ColumnSpec {
  return { name, type, dataType: type, columnType: type, nullable: true, unsigned: false, length: null, precision: null, scale: null, fsp: null, members: null, ...over };
}
