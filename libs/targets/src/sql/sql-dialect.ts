import { Knex } from 'knex';
import { ColumnSpec, Row, RoutePartition, TableSchema, TargetTableSpec, Value } from '@tributary/model';
import type { UnseenDelete } from '@tributary/outbox';
import type { DeletedRowStatements } from './deleted-rows';
import type { SourceVersionStatements } from './source-versions';
import type { TableStepStatements } from './table-steps';
import { PlannedWrite } from '../apply-plan';
import { ApplyBatch } from '../target';
import { ErrorClass } from './error-classification';
import { RowRejectedError } from '../errors';

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
 * How a dialect keeps invariant 4's per-row versions in one apply transaction.
 *
 * - `row` (PostgreSQL): a row's version lives in the row itself, in
 *   ROW_VERSION_COLUMN, written by the same upsert; a delete leaves a
 *   tombstone in the version table (written by deleteRows). The guard reads
 *   both (newer); writers of one table are serialised by the dialect's
 *   tableLock, so what the guard read still holds when the rows are written.
 *   One tuple per change instead of two: the target's cheapest exact guard.
 * - `claim` (PostgreSQL): the versions are upserted FIRST, guarded in SQL, and
 *   the statement returns the key_hash of every version that moved; only those
 *   rows are then written. The upsert's conflict check always goes through the
 *   primary key (no planner, no statistics) and row-locks every version it
 *   touches until commit, as `FOR UPDATE` would.
 * - `lock` (MySQL, which has no RETURNING): the stored versions are read and
 *   locked; keys without one get theirs inserted right away (so they are
 *   locked too); the guard runs in JS (guardPlan); then the rows, and the
 *   versions of keys that had one, are written.
 */
export type VersionProtocol =
  | {
      readonly mode: 'row';
      /**
       * Returns rows `key_hash` of the writes whose seq is newer than their
       * key's version (the row's, or its tombstone's), or equal with `reapply`.
       */
      newer(table: TargetTableSpec, writes: readonly PlannedWrite[], options: { reapply: boolean }): Statement;
      /**
       * Records the versions of writes the target refused in the version
       * table (their rows hold none), so a replay skips them as under the
       * other protocols instead of refusing them again. Never moves one back.
       */
      keepRefused(tableName: string, versions: VersionWrite[]): Statement;
    }
  | {
      readonly mode: 'claim';
      /**
       * Upserts the versions (seq, tombstone) where the incoming seq is newer
       * than the stored one, or equal with `reapply`; returns rows with the
       * `key_hash` of each version that was inserted or moved.
       */
      claim(tableName: string, versions: VersionWrite[], options: { reapply: boolean }): Statement;
    }
  | {
      readonly mode: 'lock';
      /** Selects key_hash, seq, deleted of the given rows, locking them until commit. */
      lock(tableName: string, hashes: string[]): Statement;
      /**
       * Inserts versions of keys the lock found none for, leaving any that
       * exist by now untouched; `inserted` reads how many rows it inserted.
       */
      insertNew(tableName: string, versions: VersionWrite[]): Statement;
      inserted(result: unknown): number;
      /** Never moves a stored version backwards, even if two writers race. */
      write(tableName: string, versions: VersionWrite[]): Statement;
    };

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
  /** Sets the origin the following writes carry (MySQL: RowChange.origin of forwarded changes); absent: origins are not recorded. */
  originMarker?(origin: string): Statement;
  readonly versions: VersionProtocol;
  /** Deletes the writes' rows (and, with VersionProtocol 'row', records their tombstones). */
  deleteRows(table: TargetTableSpec, writes: readonly PlannedWrite[]): Statement;
  /** Inserts or replaces the writes' rows (with VersionProtocol 'row', their versions too). */
  upsertRows(table: TargetTableSpec, writes: readonly PlannedWrite[]): Statement;
  /**
   * Serialises every apply to one target table across processes, taken
   * before the apply's transaction starts (so even a REPEATABLE READ
   * snapshot sees what the previous holder committed) and released after it
   * ends. Needed where the guard reads versions it does not lock (VersionProtocol 'row').
   * With a partition (ApplyBatch.partition) only that partition's keys are
   * locked against other writers: batches of other partitions of the table
   * write beside it, any other batch waits for all of them.
   */
  readonly tableLock?: {
    acquire(tableName: string, partition?: RoutePartition): Statement;
    release(tableName: string, partition?: RoutePartition): Statement;
  };
  /** Moves the checkpoint forward only (GREATEST), never back. */
  upsertCheckpoint(routeId: string, watermark: number): Statement;
  /** Versions per source, for a table written by several sources (ApplyBatch.versions). */
  readonly sourceVersions: SourceVersionStatements;
  /** Deletions Tributary applied, remembered per row (ApplyHooks.remembersDeletes). */
  readonly deletedRows: DeletedRowStatements;
  /** The schema steps each target table has had (ensureTable, TargetTableSpec.steps). */
  readonly tableSteps: TableStepStatements;
  /**
   * Optional fast path: the whole guarded batch — versions, deleted and
   * upserted rows, checkpoint — as ONE statement, so a batch costs one round
   * trip and commits on its own (a single statement is atomic). Returns rows
   * `key_hash` of the writes that won their version (as the claim protocol's
   * RETURNING). Only for plain batches: no conflict hook, no row refused at
   * planning, at most rowsPerStatement writes. A data error falls back to the
   * row-by-row transaction, so refused rows still become dead letters alone.
   */
  applyInOneStatement?(batch: ApplyBatch, writes: readonly PlannedWrite[]): Statement;
  /** Result rows of a knex.raw call on this driver. */
  rows(result: unknown): Record<string, unknown>[];
  /** How a batch with conflict detection reads the target's current rows (see ApplyHooks.resolveConflicts). */
  readonly conflicts: ConflictReading;
  classify(error: unknown): ErrorClass;
}

export interface ConflictReading {
  /**
   * Isolation of such batches: a key the target does not have yet must be
   * locked too, or a local insert of it could land between the decision and
   * the write (MySQL: REPEATABLE READ's gap locks; PostgreSQL: REPEATABLE
   * READ, where writing a row changed or inserted after the snapshot fails
   * the batch, which is then retried and decides again).
   */
  readonly transaction: Knex.TransactionConfig | undefined;
  /** Appended to the SELECT of the current rows (SQLite: nothing; its write transaction excludes other writers). */
  readonly lockClause: string;
  /**
   * Appended to the version reads made before the current rows are locked
   * (MySQL: FOR UPDATE, so the transaction's snapshot — its first plain
   * read, of the outbox — is taken after every lock; see resolvedPlan).
   */
  readonly versionsLockClause: string;
  /** Stored versions (key_hash, seq) of these keys, to tell replays from fresh changes. */
  readVersions(table: TargetTableSpec, keys: readonly VersionedKey[]): Statement;
  /**
   * The latest deletes of these keys by the target's own writers, newest
   * first, as rows `pk` and `before_image` (wire-form JSON), when the target
   * database is a captured source too (CurrentRows.deleted); absent: unknown.
   */
  readDeleted?(table: TargetTableSpec, keys: Row[]): Statement;
  /** Records deletes that found no row in the target database's outbox (ApplyBatch.capturedAs); absent: the dialect has no outbox. */
  recordUnseenDeletes?(schema: TableSchema, deletes: readonly UnseenDelete[]): Statement;
}

/** A key and its keyHash, as the version reads take them. */
export interface VersionedKey {
  keyHash: string;
  key: Row;
}

/** `SELECT key_hash, seq` of the given keys' versions in the version table (VersionProtocol 'claim' and 'lock'). */
export function readVersionsStatement(quote: (name: string) => string, tableName: string, keys: readonly VersionedKey[]): Statement {
  const hashes = keys.map((k) => k.keyHash);
  return {
    sql: `SELECT key_hash, seq FROM ${quote(ROWS_TABLE)} WHERE table_name = ? AND key_hash IN (${hashes.map(() => '?').join(', ')})`,
    params: [tableName, ...hashes],
  };
}

/** How one dialect names things and binds one value (the `VALUES` statements below). */
export interface SqlSyntax {
  quote(name: string): string;
  /** Placeholder text and driver value for a column value (e.g. MySQL BIT needs CAST(? AS UNSIGNED)). */
  bind(column: ColumnSpec, value: Value): { placeholder: string; param: Knex.Value };
}

/** `INSERT INTO t (c1, c2) VALUES (...), (...)`: the head of MySQL's upserts (PostgreSQL sends arrays: postgres-sql.ts). */
export function insertValues(syntax: SqlSyntax, table: TargetTableSpec, rows: Row[]): Statement {
  const params: Knex.Value[] = [];
  const tuples = rows.map((row) => {
    const slots = table.columns.map((column) => {
      const bound = syntax.bind(column, columnValue(row, column));
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
  const match = keysMatch(syntax, table, keys);
  return { sql: `DELETE FROM ${syntax.quote(table.name)} WHERE ${match.sql}`, params: match.params };
}

/**
 * The condition "the row's key is one of `keys`": `k IN (?, …)` for one key
 * column, `(a = ? AND b = ?) OR …` for several (every engine turns either
 * into primary-key lookups). `keys` must not be empty.
 */
export function keysMatch(syntax: SqlSyntax, table: TargetTableSpec, keys: Row[]): Statement {
  const params: Knex.Value[] = [];
  const keyColumns = table.key.map((name) => columnOf(table, name));
  const match = (key: Row) =>
    keyColumns.map((column) => {
      const bound = syntax.bind(column, key[column.name] ?? null);
      params.push(bound.param);
      return keyColumns.length === 1 ? bound.placeholder : `${syntax.quote(column.name)} = ${bound.placeholder}`;
    });
  const sql =
    keyColumns.length === 1
      ? `${syntax.quote(keyColumns[0].name)} IN (${keys.map((key) => match(key)[0]).join(', ')})`
      : keys.map((key) => `(${match(key).join(' AND ')})`).join(' OR ');
  return { sql, params };
}

/**
 * The keyset condition "the row's key sorts after `key`", lexicographic over
 * the key columns: `(a > ?) OR (a = ? AND b > ?) OR …`. With several columns
 * it is led by `a >= ?`, the same condition implied, so every engine can
 * range-scan the primary key from `key` on instead of reading it from the start.
 */
export function keysetAfter(syntax: SqlSyntax, table: TargetTableSpec, key: Row): Statement {
  const params: Knex.Value[] = [];
  const keyColumns = table.key.map((name) => columnOf(table, name));
  const compare = (column: ColumnSpec, operator: '>' | '=' | '>=') => {
    const bound = syntax.bind(column, key[column.name] ?? null);
    params.push(bound.param);
    return `${syntax.quote(column.name)} ${operator} ${bound.placeholder}`;
  };
  if (keyColumns.length === 1) return { sql: compare(keyColumns[0], '>'), params };
  const lead = compare(keyColumns[0], '>=');
  const branches = keyColumns.map((last, i) => `(${[...keyColumns.slice(0, i).map((c) => compare(c, '=')), compare(last, '>')].join(' AND ')})`);
  return { sql: `${lead} AND (${branches.join(' OR ')})`, params };
}

/** A row's value for a column: a mapped image must carry every target column; a silent NULL would corrupt the row. */
export function columnValue(row: Row, column: ColumnSpec): Value {
  const value = row[column.name];
  if (value === undefined) throw new RowRejectedError(`the row has no value for column ${column.name}`, null);
  return value;
}

export function columnOf(table: TargetTableSpec, name: string): ColumnSpec {
  const column = table.columns.find((c) => c.name === name);
  if (!column) throw new Error(`key column ${name} is not a column of ${table.name}`);
  return column;
}

export function placeholders(count: number): string {
  return new Array<string>(count).fill('?').join(', ');
}
