import { Knex } from 'knex';
import { quoteAnsi, TargetTableSpec } from '@tributary/model';
import { changesColumns, ExistingTable, planTableEvolution, Widening } from '../sql/table-evolution';
import { RowQuery } from '../sql/sql-target-ops';
import { recordTableSteps } from '../sql/table-steps';
import { postgresDialect } from './postgres-sql';
import { isWidening } from '../sql/type-widening';
import { postgresColumnType } from '../sql/type-mapping';
import { alterDefaultAction, defaultClause } from '../sql/column-defaults';

const q = quoteAnsi;

/** A spec column's PostgreSQL type, when it widens the existing column's (planTableEvolution). */
const postgresWidening: Widening = (existing, column) => {
  const wanted = postgresColumnType(column);
  return existing.type !== undefined && isWidening(existing.type, wanted) ? wanted : null;
};

/**
 * Brings an existing PostgreSQL table to `spec` (see table-evolution.ts).
 * `existing` (with the steps it had) must have been read inside the
 * caller's DDL transaction, which holds the advisory lock that serialises
 * Tributary's DDL: the catalogue read is then the one the ALTER applies to,
 * so concurrent calls cannot add a column twice or carry a step out twice.
 * The steps' DDL (drops, renames, then default changes) and their record
 * commit together (PostgreSQL's DDL is transactional): a step is had
 * exactly when it was carried out.
 */
export async function evolvePostgresTable(trx: Knex.Transaction, spec: TargetTableSpec, existing: ExistingTable): Promise<void> {
  const evolution = planTableEvolution(spec, existing, false, postgresWidening);
  for (const step of evolution.steps) {
    if (step.drop.length > 0) await trx.raw(`ALTER TABLE ${q(spec.name)} ${step.drop.map((name) => `DROP COLUMN ${q(name)}`).join(', ')}`);
    // RENAME COLUMN cannot share an ALTER TABLE with other actions; in order, each seeing the one before.
    for (const { from, to } of step.rename) await trx.raw(`ALTER TABLE ${q(spec.name)} RENAME COLUMN ${q(from)} TO ${q(to)}`);
    // On the columns as the renames left them; a catalogue change only, no row is rewritten.
    if (step.defaults.length > 0) await trx.raw(`ALTER TABLE ${q(spec.name)} ${step.defaults.map((change) => alterDefaultAction('postgres', q, change)).join(', ')}`);
  }
  await recordTableSteps(postgresQuery(trx), postgresDialect.tableSteps, spec.name, evolution.steps.map((step) => step.id));
  // Only ALTER when needed: even a no-op ALTER TABLE takes an ACCESS EXCLUSIVE lock.
  if (!changesColumns(evolution)) return;
  const actions = [
    // NULL-able even if the spec says NOT NULL: rows already there have no value for it (with a default, they take
    // it, as they did at the source when it added the column).
    ...evolution.add.map((column) => `ADD COLUMN ${q(column.name)} ${postgresColumnType(column)}${defaultClause('postgres', column)}`),
    ...evolution.makeNullable.map((name) => `ALTER COLUMN ${q(name)} DROP NOT NULL`),
    // A wider type holds every value the column has; PostgreSQL rewrites the table for some (integer → bigint).
    ...evolution.widen.map(({ name, type }) => `ALTER COLUMN ${q(name)} TYPE ${type}`),
  ];
  await trx.raw(`ALTER TABLE ${q(spec.name)} ${actions.join(', ')}`);
}

/** Statements of the steps' bookkeeping (table-steps.ts) in the caller's transaction, or on the pool. */
export function postgresQuery(runner: Knex): RowQuery {
  return async (sql, params) => postgresDialect.rows(await runner.raw(sql, params));
}

/**
 * Columns and primary key of `name` in the current schema, where CREATE
 * TABLE put it (no columns: no table). From pg_catalog in one statement:
 * the information_schema views took tens of milliseconds each, paid by every
 * route's first batch (ensureTable).
 */
export async function readPostgresTable(trx: Knex, name: string): Promise<ExistingTable> {
  const result = await trx.raw<{ rows: { name: string; nullable: boolean; type: string; key_position: number | null }[] }>(
    `SELECT a.attname AS name, NOT a.attnotnull AS nullable, format_type(a.atttypid, a.atttypmod) AS type, array_position(i.indkey::int2[], a.attnum) AS key_position
       FROM pg_attribute a
       LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
      WHERE a.attrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident(?)) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [name],
  );
  const keyed = result.rows.filter((row) => row.key_position !== null).sort((a, b) => a.key_position! - b.key_position!);
  return {
    columns: result.rows.map((row) => ({ name: row.name, nullable: row.nullable, type: row.type })),
    primaryKey: keyed.map((row) => row.name),
  };
}
