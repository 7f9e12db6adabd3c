import { Knex } from 'knex';
import { ColumnSpec, Row, Value } from '@tributary/model';
import { ApplyBatch, TargetTableSpec } from './target';
import { ErrorClass } from './error-classification';
import { RowRejectedError } from './errors';

/** One SQL statement with `?` placeholders (knex renumbers them for PostgreSQL). */
export interface Statement {
  sql: string;
  params: Knex.Value[];
}

/** A row version to store: invariant 4's per-row seq and tombstone. */
export interface VersionWrite {
  keyHash: string;
  seq: number;
  deleted: boolean;
}

/** The version table and the checkpoint table; names fixed so every process finds them. */
export const ROWS_TABLE = '_tributary_rows';
export const CHECKPOINTS_TABLE = '_tributary_checkpoints';

/**
 * What differs between the SQL targets. The transaction shape that uses it
 * (sql-apply.ts) is shared, so both dialects keep the same guarantees.
 */
export interface SqlDialect {
  readonly kind: string;
  /** Passed to knex.transaction (MySQL: READ COMMITTED, so version lookups take no gap locks). */
  readonly transaction: Knex.TransactionConfig | undefined;
  /** Rows per multi-row statement for this table, within the driver's parameter limit. */
  rowsPerStatement(table: TargetTableSpec): number;
  /** Run first in every apply transaction (MySQL: the origin marker, invariant 6). */
  begin(batch: ApplyBatch): Statement[];
  /** Selects key_hash, seq, deleted of the given rows, locking them until commit. */
  lockVersions(tableName: string, hashes: string[]): Statement;
  deleteRows(table: TargetTableSpec, keys: Row[]): Statement;
  upsertRows(table: TargetTableSpec, rows: Row[]): Statement;
  /** Never moves a stored version backwards, even if two writers race. */
  upsertVersions(tableName: string, versions: VersionWrite[]): Statement;
  /** Moves the checkpoint forward only (GREATEST), never back. */
  upsertCheckpoint(routeId: string, watermark: number): Statement;
  /** Result rows of a knex.raw call on this driver. */
  rows(result: unknown): Record<string, unknown>[];
  classify(error: unknown): ErrorClass;
}

/** How one dialect names things and binds one value. */
export interface SqlSyntax {
  quote(name: string): string;
  /** Placeholder text and driver value for a column value (e.g. MySQL BIT needs CAST(? AS UNSIGNED)). */
  bind(column: ColumnSpec, value: Value): { placeholder: string; param: Knex.Value };
}

/** `INSERT INTO t (c1, c2) VALUES (...), (...)`: the shared head of both dialects' upserts. */
export function insertValues(syntax: SqlSyntax, table: TargetTableSpec, rows: Row[]): Statement {
  const params: Knex.Value[] = [];
  const tuples = rows.map((row) => {
    const slots = table.columns.map((column) => {
      const value = row[column.name];
      // A mapped image must carry every target column; a silent NULL would corrupt the row.
      if (value === undefined) throw new RowRejectedError(`the row has no value for column ${column.name}`, null);
      const bound = syntax.bind(column, value);
      params.push(bound.param);
      return bound.placeholder;
    });
    return `(${slots.join(', ')})`;
  });
  const columns = table.columns.map((column) => syntax.quote(column.name)).join(', ');
  return { sql: `INSERT INTO ${syntax.quote(table.name)} (${columns}) VALUES ${tuples.join(', ')}`, params };
}

/** `DELETE FROM t WHERE <key in keys>`. */
export function deleteByKeys(syntax: SqlSyntax, table: TargetTableSpec, keys: Row[]): Statement {
  const params: Knex.Value[] = [];
  const keyColumns = table.key.map((name) => columnOf(table, name));
  const match = (key: Row) =>
    keyColumns.map((column) => {
      const bound = syntax.bind(column, key[column.name] ?? null);
      params.push(bound.param);
      return keyColumns.length === 1 ? bound.placeholder : `${syntax.quote(column.name)} = ${bound.placeholder}`;
    });
  const where =
    keyColumns.length === 1
      ? `${syntax.quote(keyColumns[0].name)} IN (${keys.map((key) => match(key)[0]).join(', ')})`
      : keys.map((key) => `(${match(key).join(' AND ')})`).join(' OR ');
  return { sql: `DELETE FROM ${syntax.quote(table.name)} WHERE ${where}`, params };
}

export function columnOf(table: TargetTableSpec, name: string): ColumnSpec {
  const column = table.columns.find((c) => c.name === name);
  if (!column) throw new Error(`key column ${name} is not a column of ${table.name}`);
  return column;
}

export function placeholders(count: number): string {
  return new Array<string>(count).fill('?').join(', ');
}
