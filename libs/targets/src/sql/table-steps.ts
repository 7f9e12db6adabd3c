import { TargetTableSpec } from '@tributary/model';
import { Statement } from './sql-dialect';
import { RowQuery } from './sql-target-ops';
import { specStepIds } from './table-evolution';

/**
 * The steps (TargetTableSpec.steps, issue #17) each target table has had,
 * remembered at the target as a set of ids per table: several sources may
 * write one table, each with steps of its own that reach it in any order,
 * so no high-water mark would do. A table ensureTable creates has had every
 * step of its spec; one made before steps existed has no rows here, and its
 * steps are judged by presence (planTableEvolution).
 */
export const TABLE_STEPS_TABLE = '_tributary_table_steps';

/** The statements a SQL dialect gives for the steps a table has had. */
export interface TableStepStatements {
  /** `step_id` of every step the table has had. */
  read(tableName: string): Statement;
  /** Records steps as had; ids recorded already are left as they are. `ids` must not be empty. */
  record(tableName: string, ids: readonly number[]): Statement;
  /** Forgets the steps of a table that is made anew (dropped by hand, now created from a spec). */
  forget(tableName: string): Statement;
}

type Flavor = 'postgres' | 'mysql' | 'sqlite';

/** The step statements in one dialect's SQL. */
export function tableStepStatements(flavor: Flavor, quote: (name: string) => string): TableStepStatements {
  const table = quote(TABLE_STEPS_TABLE);
  return {
    read: (tableName) => ({ sql: `SELECT step_id FROM ${table} WHERE table_name = ?`, params: [tableName] }),
    record: (tableName, ids) => ({
      sql:
        flavor === 'mysql'
          ? `INSERT IGNORE INTO ${table} (table_name, step_id) VALUES ${ids.map(() => '(?, ?)').join(', ')}`
          : `INSERT INTO ${table} (table_name, step_id) VALUES ${ids.map(() => '(?, ?)').join(', ')} ON CONFLICT (table_name, step_id) DO NOTHING`,
      params: ids.flatMap((id) => [tableName, id]),
    }),
    forget: (tableName) => ({ sql: `DELETE FROM ${table} WHERE table_name = ?`, params: [tableName] }),
  };
}

/** Ids of the steps the table has had. */
export async function readTableSteps(query: RowQuery, statements: TableStepStatements, tableName: string): Promise<number[]> {
  // Drivers give BIGINT as text or bigint.
  return (await run(query, statements.read(tableName))).map((row) => Number(row.step_id));
}

/** Records steps as had, carried out or found done. */
export async function recordTableSteps(query: RowQuery, statements: TableStepStatements, tableName: string, ids: readonly number[]): Promise<void> {
  if (ids.length > 0) await run(query, statements.record(tableName, ids));
}

/**
 * A table just made from `spec` has had every step of it, and none that a
 * table of the same name had before (dropped by hand, say for a re-sync).
 */
export async function recordCreatedTable(query: RowQuery, statements: TableStepStatements, spec: TargetTableSpec): Promise<void> {
  await run(query, statements.forget(spec.name));
  await recordTableSteps(query, statements, spec.name, specStepIds(spec));
}

/** `query` runs in the caller's DDL transaction, or on the connection holding its DDL lock. */
function run(query: RowQuery, statement: Statement): Promise<Record<string, unknown>[]> {
  return query(statement.sql, statement.params);
}
