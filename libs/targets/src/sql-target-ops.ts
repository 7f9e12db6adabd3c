import { Knex } from 'knex';
import { ColumnSpec, Row, Value } from '@tributary/model';
import { TargetConfigError } from './errors';
import { transient } from './sql-apply';
import { CHECKPOINTS_TABLE, SqlDialect } from './sql-dialect';
import { validateTableSpec } from './table-spec';
import { TargetCheckpoint, TargetTableSpec } from './target';

/**
 * Operations the SQL targets share, as functions of what differs (the
 * dialect, how a column is read back). Not a base class: each target keeps
 * its constructor, its DDL and evolution, and delegates here.
 */

/** How a dialect reads a target table back into model rows. */
export interface SqlRowReading {
  quote(name: string): string;
  /** The SELECT expression for a column (e.g. a cast to text), given its quoted name. */
  readExpression(column: ColumnSpec, quoted: string): string;
  /** The model value of what the driver returned for that expression. */
  fromDriver(column: ColumnSpec, raw: unknown): Value;
}

/**
 * Runs target work, turning any failure except a TargetConfigError (a change
 * that can never succeed) into a TransientTargetError: retry later.
 */
export async function asTransient<T>(dialect: SqlDialect, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TargetConfigError) throw error;
    throw transient(dialect, error);
  }
}

/** Every row of `table`, in key order; `query` runs one SELECT and returns its raw rows. */
export async function readTableRows(
  reading: SqlRowReading,
  table: TargetTableSpec,
  query: (sql: string) => Promise<Record<string, unknown>[]>,
): Promise<Row[]> {
  validateTableSpec(table);
  const q = reading.quote;
  const select = table.columns.map((c) => reading.readExpression(c, q(c.name))).join(', ');
  const raws = await query(`SELECT ${select} FROM ${q(table.name)} ORDER BY ${table.key.map(q).join(', ')}`);
  return raws.map((raw) => {
    const row: Row = {};
    for (const column of table.columns) row[column.name] = reading.fromDriver(column, raw[column.name]);
    return row;
  });
}

/** `readTableRows` through the target's knex pool. */
export function readKnexRows(knex: Knex, dialect: SqlDialect, reading: SqlRowReading, table: TargetTableSpec): Promise<Row[]> {
  return readTableRows(reading, table, async (sql) => dialect.rows(await asTransient(dialect, () => knex.raw(sql))));
}

/** How a dialect reads the checkpoint table through knex. */
export interface SqlCheckpointReading {
  quote(name: string): string;
  /** SQL for `updated_at` as epoch milliseconds. */
  updatedMs: string;
  /** The driver code of "no such table": no checkpoint yet. */
  missingTableCode: string;
}

export async function readKnexCheckpoint(
  knex: Knex,
  dialect: SqlDialect,
  reading: SqlCheckpointReading,
  routeId: string,
): Promise<TargetCheckpoint | null> {
  const result = await asTransient(dialect, async () => {
    try {
      return await knex.raw(
        `SELECT watermark, ${reading.updatedMs} AS updated_ms FROM ${reading.quote(CHECKPOINTS_TABLE)} WHERE route_id = ?`,
        [routeId],
      );
    } catch (error) {
      if (dialect.classify(error).code === reading.missingTableCode) return null; // no table yet: no checkpoint
      throw error;
    }
  });
  return checkpointOf(routeId, result === null ? [] : dialect.rows(result));
}

/** The checkpoint in the first of `rows` (watermark, updated_ms), or null if there is none. */
export function checkpointOf(routeId: string, rows: Record<string, unknown>[]): TargetCheckpoint | null {
  const row = rows[0];
  if (!row) return null;
  return { routeId, watermark: Number(row.watermark), updatedAt: new Date(Number(row.updated_ms)) };
}

export async function pingKnex(knex: Knex, dialect: SqlDialect): Promise<void> {
  await asTransient(dialect, () => knex.raw('SELECT 1'));
}

/**
 * Runs `ddl`, then `then`, in one transaction (wrapped as transient); `lock`
 * runs first, for a dialect whose concurrent DDL needs serialising.
 */
export async function ddlTransaction(
  knex: Knex,
  dialect: SqlDialect,
  ddl: readonly string[],
  steps: { lock?: (trx: Knex.Transaction) => Promise<unknown>; then?: (trx: Knex.Transaction) => Promise<void> } = {},
): Promise<void> {
  await asTransient(dialect, () =>
    knex.transaction(async (trx) => {
      await steps.lock?.(trx);
      for (const sql of ddl) await trx.raw(sql);
      await steps.then?.(trx);
    }),
  );
}

/**
 * The bookkeeping tables (versions, checkpoints), created at most once per
 * target: apply may come before any ensureTable. A failed creation is not
 * cached, so the next apply tries again.
 */
export class Bookkeeping {
  private ready: Promise<void> | undefined;

  constructor(private readonly create: () => Promise<void>) {}

  ensure(): Promise<void> {
    this.ready ??= this.create().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  /** ensureTable created them along with a table. */
  created(): void {
    this.ready ??= Promise.resolve();
  }
}
