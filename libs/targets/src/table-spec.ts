import { reservedColumnReason, reservedTableReason } from '@tributary/db';
import { TargetTableSpec, validateIdentifier } from '@tributary/model';
import { TargetConfigError } from './errors';

/** Checks a table spec before any DDL or SQL is built from it (invariant 10). */
export function validateTableSpec(table: TargetTableSpec): TargetTableSpec {
  try {
    validateIdentifier(table.name, 'target table');
    for (const column of table.columns) validateIdentifier(column.name, `column of ${table.name}`);
  } catch (error) {
    throw new TargetConfigError(error instanceof Error ? error.message : String(error));
  }
  // A route created before names were reserved must still never write Tributary's own tables.
  const reserved = reservedTableReason(table.name);
  if (reserved) throw new TargetConfigError(`target table ${reserved}`);
  for (const column of table.columns) {
    const reason = reservedColumnReason(column.name);
    if (reason) throw new TargetConfigError(`${table.name}: ${reason}`);
  }
  const names = new Set(table.columns.map((c) => c.name));
  if (names.size !== table.columns.length) throw new TargetConfigError(`${table.name}: duplicate column names`);
  if (table.key.length === 0) throw new TargetConfigError(`${table.name}: no key columns`);
  for (const name of table.key) {
    if (!names.has(name)) throw new TargetConfigError(`${table.name}: key column ${name} is not a column`);
  }
  return table;
}
