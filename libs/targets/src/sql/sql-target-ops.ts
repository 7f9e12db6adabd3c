import { Knex } from 'knex';
import { ColumnSpec, Row, TargetTableSpec, Value } from '@tributary/model';
import { TargetConfigError } from '../errors';
import { transient } from './sql-failures';
import { checkScanLimit, chunks, decodeKeyCursor, encodeKeyCursor, KEYS_PER_READ, uniqueKeys } from '../key-cursor';
import { CHECKPOINTS_TABLE, keysetAfter, keysMatch, SqlDialect, SqlSyntax } from './sql-dialect';
import { validateTableSpec } from '../table-spec';
import { TargetCheckpoint } from '../target';

/**
 * Operations the SQL targets share, as functions of what differs (the
 * dialect, how a column is read back). Not a base class: each target keeps
 * its constructor, its DDL and evolution, and delegates here.
 */

/**
 * How a dialect reads a target table back into model rows. Its `bind` binds
 * key values for lookups and keyset conditions, as the dialect binds them
 * when it writes (so a key read back matches the stored value exactly).
 */
export interface SqlRowReading extends SqlSyntax {
  /** The SELECT expression for a column (e.g. a cast to text), given its quoted name. */
  readExpression(column: ColumnSpec, quoted: string): string;
  /** The model value of what the driver returned for that expression. */
  fromDriver(column: ColumnSpec, raw: unknown): Value;
}

/** Runs one SELECT with bound parameters and returns its raw rows. */
export type RowQuery = (sql: string, params: Knex.Value[]) => Promise<Record<string, unknown>[]>;

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

/** Every row of `table`, in key order. */
export async function readTableRows(reading: SqlRowReading, table: TargetTableSpec, query: RowQuery): Promise<Row[]> {
  validateTableSpec(table);
  return decodeRows(reading, table, await query(`${selectFrom(reading, table)} ORDER BY ${keyOrder(reading, table)}`, []));
}

/**
 * The rows whose key is one of `keys`, KEYS_PER_READ keys a statement. Keys
 * are deduplicated first, so a row cannot come back twice from two batches.
 * Only the data table is read: a deleted row is gone from it (its tombstone
 * lives in the version table), so it is simply absent, like an unknown key.
 */
export async function readTableRowsByKeys(reading: SqlRowReading, table: TargetTableSpec, keys: Row[], query: RowQuery): Promise<Row[]> {
  validateTableSpec(table);
  const rows: Row[] = [];
  for (const part of chunks(uniqueKeys(table, keys), KEYS_PER_READ)) {
    const match = keysMatch(reading, table, part);
    rows.push(...decodeRows(reading, table, await query(`${selectFrom(reading, table)} WHERE ${match.sql}`, match.params)));
  }
  return rows;
}

/**
 * One page in key order, by keyset pagination on the primary key (never
 * OFFSET: each page is an index range scan, and rows inserted or deleted
 * meanwhile cannot shift a row into another page). The cursor is the last
 * row's key (key-cursor.ts). One row more than `limit` is fetched only to
 * learn whether another page follows, so the last page says next = null.
 */
export async function scanTableRows(
  reading: SqlRowReading,
  table: TargetTableSpec,
  cursor: string | null,
  limit: number,
  query: RowQuery,
): Promise<{ rows: Row[]; next: string | null }> {
  validateTableSpec(table);
  checkScanLimit(limit);
  const after = cursor === null ? null : keysetAfter(reading, table, decodeKeyCursor(table, cursor));
  const where = after ? ` WHERE ${after.sql}` : '';
  const raws = await query(`${selectFrom(reading, table)}${where} ORDER BY ${keyOrder(reading, table)} LIMIT ?`, [...(after?.params ?? []), limit + 1]);
  const rows = decodeRows(reading, table, raws.slice(0, limit));
  return { rows, next: raws.length > limit ? encodeKeyCursor(table, rows[rows.length - 1]) : null };
}

/** `SELECT <read expressions> FROM t`. */
function selectFrom(reading: SqlRowReading, table: TargetTableSpec): string {
  const q = reading.quote;
  return `SELECT ${table.columns.map((c) => reading.readExpression(c, q(c.name))).join(', ')} FROM ${q(table.name)}`;
}

/**
 * The key columns, qualified by the table: a read expression aliased to the
 * column's own name (e.g. PostgreSQL's interval read as seconds) must not
 * replace the column in ORDER BY, which must sort exactly as the keyset's `>` compares.
 */
function keyOrder(reading: SqlRowReading, table: TargetTableSpec): string {
  const q = reading.quote;
  return table.key.map((name) => `${q(table.name)}.${q(name)}`).join(', ');
}

function decodeRows(reading: SqlRowReading, table: TargetTableSpec, raws: Record<string, unknown>[]): Row[] {
  return raws.map((raw) => {
    const row: Row = {};
    for (const column of table.columns) row[column.name] = reading.fromDriver(column, raw[column.name]);
    return row;
  });
}

/** A RowQuery through the target's knex pool. */
export function knexRowQuery(knex: Knex, dialect: SqlDialect): RowQuery {
  return async (sql, params) => dialect.rows(await asTransient(dialect, () => knex.raw(sql, params)));
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

/**
 * Target's read-back (verify, conflict detection, tests) as every SQL target
 * does it: the table's rows through its `query` with its dialect's
 * `reading`. Its three methods would otherwise be written again by each.
 */
export abstract class SqlReadBack {
  protected abstract readonly reading: SqlRowReading;
  protected abstract readonly query: RowQuery;

  readRows(table: TargetTableSpec): Promise<Row[]> {
    return readTableRows(this.reading, table, this.query);
  }

  readRowsByKeys(table: TargetTableSpec, keys: Row[]): Promise<Row[]> {
    return readTableRowsByKeys(this.reading, table, keys, this.query);
  }

  scanRows(table: TargetTableSpec, cursor: string | null, limit: number): Promise<{ rows: Row[]; next: string | null }> {
    return scanTableRows(this.reading, table, cursor, limit, this.query);
  }
}
