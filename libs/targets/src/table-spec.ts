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
  validateSteps(table);
  const names = new Set(table.columns.map((c) => c.name));
  if (names.size !== table.columns.length) throw new TargetConfigError(`${table.name}: duplicate column names`);
  if (table.key.length === 0) throw new TargetConfigError(`${table.name}: no key columns`);
  for (const name of table.key) {
    if (!names.has(name)) throw new TargetConfigError(`${table.name}: key column ${name} is not a column`);
  }
  return table;
}

/**
 * The steps' column names go into DDL (invariant 10), and a step must never
 * drop or rename a column Tributary keeps (PostgreSQL's row version), nor
 * change its default.
 */
function validateSteps(table: TargetTableSpec): void {
  const ids = new Set<number>();
  for (const step of table.steps ?? []) {
    if (!Number.isSafeInteger(step.id) || ids.has(step.id)) throw new TargetConfigError(`${table.name}: step ids must be distinct integers (${String(step.id)})`);
    ids.add(step.id);
    const defaults = (step.defaults ?? []).map((change) => change.column);
    for (const name of [...step.dropped, ...step.renamed.flatMap((rename) => [rename.from, rename.to]), ...defaults]) {
      try {
        validateIdentifier(name, `column of ${table.name} in step ${step.id}`);
      } catch (error) {
        throw new TargetConfigError(error instanceof Error ? error.message : String(error));
      }
      const reason = reservedColumnReason(name);
      if (reason) throw new TargetConfigError(`${table.name}: step ${step.id}: ${reason}`);
    }
  }
}
