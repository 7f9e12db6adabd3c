import { Knex } from 'knex';
import { quoteAnsi } from '@tributary/model';
import { TargetTableSpec } from './target';
import { ExistingTable, isNoop, planTableEvolution } from './table-evolution';
import { postgresColumnType } from './type-mapping';

const q = quoteAnsi;

/**
 * Brings an existing PostgreSQL table to `spec` (see table-evolution.ts).
 * Runs inside the caller's DDL transaction, which holds the advisory lock
 * that serialises Tributary's DDL: the catalogue read here is the one the
 * ALTER applies to, so concurrent calls cannot add a column twice.
 */
export async function evolvePostgresTable(trx: Knex.Transaction, spec: TargetTableSpec): Promise<void> {
  const evolution = planTableEvolution(spec, await readPostgresTable(trx, spec.name), false);
  // Only ALTER when needed: even a no-op ALTER TABLE takes an ACCESS EXCLUSIVE lock.
  if (isNoop(evolution)) return;
  const actions = [
    // NULL-able even if the spec says NOT NULL: rows already there have no value for it.
    ...evolution.add.map((column) => `ADD COLUMN ${q(column.name)} ${postgresColumnType(column)}`),
    ...evolution.makeNullable.map((name) => `ALTER COLUMN ${q(name)} DROP NOT NULL`),
  ];
  await trx.raw(`ALTER TABLE ${q(spec.name)} ${actions.join(', ')}`);
}

/** Columns and primary key of `name` in the current schema, where CREATE TABLE put it (no columns: no table). */
export async function readPostgresTable(trx: Knex, name: string): Promise<ExistingTable> {
  const columns = await trx.raw<{ rows: { name: string; nullable: string }[] }>(
    `SELECT column_name AS name, is_nullable AS nullable FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`,
    [name],
  );
  const key = await trx.raw<{ rows: { name: string }[] }>(
    `SELECT k.column_name AS name
       FROM information_schema.table_constraints c
       JOIN information_schema.key_column_usage k
         ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name AND k.table_name = c.table_name
      WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema() AND c.table_name = ?
      ORDER BY k.ordinal_position`,
    [name],
  );
  return {
    columns: columns.rows.map((row) => ({ name: row.name, nullable: row.nullable === 'YES' })),
    primaryKey: key.rows.map((row) => row.name),
  };
}
