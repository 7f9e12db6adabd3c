import { Knex } from 'knex';
import { quoteAnsi, TargetTableSpec } from '@tributary/model';
import { ExistingTable, isNoop, planTableEvolution, Widening } from '../sql/table-evolution';
import { isWidening } from '../sql/type-widening';
import { postgresColumnType } from '../sql/type-mapping';

const q = quoteAnsi;

/** A spec column's PostgreSQL type, when it widens the existing column's (planTableEvolution). */
const postgresWidening: Widening = (existing, column) => {
  const wanted = postgresColumnType(column);
  return existing.type !== undefined && isWidening(existing.type, wanted) ? wanted : null;
};

/**
 * Brings an existing PostgreSQL table to `spec` (see table-evolution.ts).
 * `existing` must have been read (readPostgresTable) inside the caller's DDL
 * transaction, which holds the advisory lock that serialises Tributary's DDL:
 * the catalogue read is then the one the ALTER applies to, so concurrent
 * calls cannot add a column twice.
 */
export async function evolvePostgresTable(trx: Knex.Transaction, spec: TargetTableSpec, existing: ExistingTable): Promise<void> {
  const evolution = planTableEvolution(spec, existing, false, postgresWidening);
  // Only ALTER when needed: even a no-op ALTER TABLE takes an ACCESS EXCLUSIVE lock.
  if (isNoop(evolution)) return;
  const actions = [
    // NULL-able even if the spec says NOT NULL: rows already there have no value for it.
    ...evolution.add.map((column) => `ADD COLUMN ${q(column.name)} ${postgresColumnType(column)}`),
    ...evolution.makeNullable.map((name) => `ALTER COLUMN ${q(name)} DROP NOT NULL`),
    // A wider type holds every value the column has; PostgreSQL rewrites the table for some (integer → bigint).
    ...evolution.widen.map(({ name, type }) => `ALTER COLUMN ${q(name)} TYPE ${type}`),
  ];
  await trx.raw(`ALTER TABLE ${q(spec.name)} ${actions.join(', ')}`);
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
