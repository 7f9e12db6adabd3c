import { createHash } from 'node:crypto';
import { ColumnSpec, quoteAnsi, RoutePartition, Row, TargetTableSpec } from '@tributary/model';
import { classifyPostgresError } from '../sql/error-classification';
import { postgresArrayLiteral, PostgresParam, toPostgresParam } from './postgres-values';
import { postgresArrayType, postgresColumnType, postgresKeyArrayType } from '../sql/type-mapping';
import { defaultClause } from '../sql/column-defaults';
import { CHECKPOINTS_TABLE, columnOf, columnValue, ROWS_TABLE, SqlDialect, SqlSyntax, Statement, VersionedKey } from '../sql/sql-dialect';
import { DELETED_ROWS_TABLE, deletedRowStatements } from '../sql/deleted-rows';
import { SOURCE_VERSIONS_TABLE, sourceVersionStatements } from '../sql/source-versions';
import { TABLE_STEPS_TABLE, tableStepStatements } from '../sql/table-steps';
import { PlannedWrite, writtenRow } from '../apply-plan';
import { ApplyBatch } from '../target';

const q = quoteAnsi;

/**
 * Rows per statement. Every column travels as one array parameter, so the
 * protocol's 65 535-parameter limit does not bound a statement; this only
 * keeps one statement's arrays to a sane size (a batch is bounded in bytes
 * anyway, invariant 7).
 */
const ROWS_PER_STATEMENT = 5000;

/**
 * One value compared with a column (key lookups and keyset conditions when
 * reading back): cast to the key's own type (postgresKeyArrayType), so the
 * comparison is the column's and the primary key's index serves it.
 */
export const postgresSyntax: SqlSyntax = {
  quote: q,
  bind: (column, value) => ({ placeholder: `?::${postgresKeyArrayType(column)}`, param: toPostgresParam(column, value) }),
};

/**
 * The column holding a row's version at a PostgreSQL target (invariant 4):
 * the seq of the change that last wrote it, NULL for a row Tributary did not
 * write. Target columns named `_tributary_*` are refused (reservedColumnReason),
 * so it never clashes with a user's column.
 */
export const ROW_VERSION_COLUMN = '_tributary_seq';

/** The advisory lock class of the table lock (two int4 keys: this class, the table's hash). 'trib' in ASCII. */
const TABLE_LOCK_CLASS = 0x74726962;
/** The advisory lock class of a table partition's lock. 'trip' in ASCII. */
const PARTITION_LOCK_CLASS = 0x74726970;

/**
 * PostgreSQL: versions in the rows (VersionProtocol 'row'), tombstones in the
 * version table, and every statement sends one array per column
 * (`unnest($1::integer[], $2::text[], …)`) instead of one parameter per value.
 */
export const postgresDialect: SqlDialect = {
  kind: 'postgres',
  transaction: undefined,

  rowsPerStatement: () => ROWS_PER_STATEMENT,

  begin: () => [],

  versions: {
    mode: 'row',
    newer: newerWrites,
    keepRefused: (tableName, versions) => ({
      sql: `${VERSION_UPSERT} SELECT ?::text, * FROM unnest(?::bpchar[], ?::bigint[], ?::boolean[]) ORDER BY 2 ${VERSION_CONFLICT}`,
      params: [
        tableName,
        postgresArrayLiteral(versions.map((v) => v.keyHash)),
        postgresArrayLiteral(versions.map((v) => v.seq)),
        postgresArrayLiteral(versions.map((v) => v.deleted)),
      ],
    }),
  },

  // A session-level advisory lock, not a transaction-level one: it is held before the apply's
  // transaction takes its snapshot (a REPEATABLE READ snapshot is taken by its first statement),
  // and a connection that dies releases it. The key is a hash of the name: two tables sharing one
  // only wait for each other. A partition's batch holds the table's lock shared and its
  // partition's exclusively: partitions write their own keys side by side, and a batch that may
  // touch any key (exclusive on the table) waits for them all, as they wait for it.
  tableLock: {
    acquire: (tableName, partition) =>
      partition
        ? { sql: 'SELECT pg_advisory_lock_shared(?, ?), pg_advisory_lock(?, ?)', params: [...tableLockKeys(tableName), ...partitionLockKeys(tableName, partition)] }
        : { sql: 'SELECT pg_advisory_lock(?, ?)', params: tableLockKeys(tableName) },
    release: (tableName, partition) =>
      partition
        ? { sql: 'SELECT pg_advisory_unlock(?, ?), pg_advisory_unlock_shared(?, ?)', params: [...partitionLockKeys(tableName, partition), ...tableLockKeys(tableName)] }
        : { sql: 'SELECT pg_advisory_unlock(?, ?)', params: tableLockKeys(tableName) },
  },

  deleteRows(table: TargetTableSpec, writes: readonly PlannedWrite[]): Statement {
    const keyColumns = table.key.map((name) => columnOf(table, name));
    const { list, params } = unnestArrays(keyColumns, writes.map((w) => w.key), postgresKeyArrayType);
    const alias = keyColumns.map((_, index) => `k${index}`);
    // IN (SELECT … unnest) rather than OR-ed tuples: one plan shape for any key width, a nested
    // loop over the primary key (unnest is estimated at 200 distinct rows, so no statistics are
    // needed to pick the index). The tombstones keep each deleted key's seq.
    return {
      sql:
        `WITH input AS (SELECT * FROM unnest(?::bpchar[], ?::bigint[], ${list}) AS i(_key_hash, _seq, ${alias.join(', ')})), ` +
        `removed AS (DELETE FROM ${q(table.name)} WHERE (${keyColumns.map((c) => q(c.name)).join(', ')}) IN (SELECT ${alias.join(', ')} FROM input)) ` +
        `${VERSION_UPSERT} SELECT ?::text, _key_hash, _seq, true FROM input ORDER BY _key_hash ${VERSION_CONFLICT}`,
      params: [postgresArrayLiteral(writes.map((w) => w.keyHash)), postgresArrayLiteral(writes.map((w) => w.seq)), ...params, table.name],
    };
  },

  upsertRows(table: TargetTableSpec, writes: readonly PlannedWrite[]): Statement {
    const { list, params } = unnestArrays(table.columns, writes.map(writtenRow), postgresArrayType);
    const columns = [...table.columns.map((c) => q(c.name)), q(ROW_VERSION_COLUMN)].join(', ');
    // One row per key (planBatch), so ON CONFLICT never meets the same row twice in a statement.
    return {
      sql: `INSERT INTO ${q(table.name)} (${columns}) SELECT * FROM unnest(${list}, ?::bigint[]) ${onConflict(table)}`,
      params: [...params, postgresArrayLiteral(writes.map((w) => w.seq))],
    };
  },

  upsertCheckpoint: (routeId, watermark) => ({ sql: CHECKPOINT_UPSERT, params: [routeId, watermark] }),

  applyInOneStatement: applyInOneStatement,


  sourceVersions: sourceVersionStatements('postgres', q),
  deletedRows: deletedRowStatements('postgres', q),
  tableSteps: tableStepStatements('postgres', q),
  rows: (result) => (result as { rows: Record<string, unknown>[] }).rows,

  classify: classifyPostgresError,

  conflicts: {
    // REPEATABLE READ, not SERIALIZABLE: a write to a row another transaction changed or inserted since
    // this one's snapshot already fails (40001, the batch is retried and decides again), and SERIALIZABLE's
    // predicate locks on the shared version table fail batches of other routes for nothing.
    transaction: { isolationLevel: 'repeatable read' },
    lockClause: ' FOR UPDATE',
    versionsLockClause: '',
    readVersions: readRowVersions,
  },
};

const CHECKPOINT_UPSERT =
  `INSERT INTO ${q(CHECKPOINTS_TABLE)} (route_id, watermark, updated_at) VALUES (?, ?, now()) ` +
  `ON CONFLICT (route_id) DO UPDATE SET watermark = EXCLUDED.watermark, updated_at = EXCLUDED.updated_at ` +
  `WHERE ${q(CHECKPOINTS_TABLE)}.watermark < EXCLUDED.watermark`;

/** A version in the version table never moves back: an older one leaves it as it is. */
const VERSION_UPSERT = `INSERT INTO ${q(ROWS_TABLE)} AS v (table_name, key_hash, seq, deleted)`;
const VERSION_CONFLICT = 'ON CONFLICT (table_name, key_hash) DO UPDATE SET seq = EXCLUDED.seq, deleted = EXCLUDED.deleted WHERE v.seq < EXCLUDED.seq';

/** The two int4 keys of a table's advisory lock: TABLE_LOCK_CLASS and the first bytes of its name's SHA-1. */
export function tableLockKeys(tableName: string): [number, number] {
  return [TABLE_LOCK_CLASS, hash32(tableName)];
}

/** The keys of a table partition's advisory lock: its own class, a hash of table, partition and count. */
export function partitionLockKeys(tableName: string, partition: RoutePartition): [number, number] {
  return [PARTITION_LOCK_CLASS, hash32(`${tableName}\0${partition.index}/${partition.count}`)];
}

function hash32(text: string): number {
  return createHash('sha1').update(text).digest().readInt32BE(0);
}

/** An upsert's conflict clause: the key's row takes the new values and version. */
function onConflict(table: TargetTableSpec): string {
  const others = [...table.columns.filter((c) => !table.key.includes(c.name)).map((c) => c.name), ROW_VERSION_COLUMN];
  return `ON CONFLICT (${table.key.map(q).join(', ')}) DO UPDATE SET ${others.map((name) => `${q(name)} = EXCLUDED.${q(name)}`).join(', ')}`;
}

/**
 * A key's version: the seq in its row, or its tombstone's, whichever is
 * newer (0 if neither: the row was never written by Tributary). GREATEST
 * skips NULLs. Version rows written before versions moved into the rows
 * count the same way, so an existing target needs no migration. Scalar
 * subqueries, not joins: PostgreSQL runs them as one primary-key lookup per
 * key, whatever its statistics say (a join may hash the whole version
 * table). `i` is the input, `i._key_hash` typed bpchar like key_hash, so the
 * index serves the comparison; the one parameter is the table's name.
 */
function versionOf(table: TargetTableSpec, keyOf: (name: string) => string): string {
  const row = `SELECT t.${q(ROW_VERSION_COLUMN)} FROM ${q(table.name)} t WHERE ${table.key.map((name) => `t.${q(name)} = i.${keyOf(name)}`).join(' AND ')}`;
  const tombstone = `SELECT v.seq FROM ${q(ROWS_TABLE)} v WHERE v.table_name = ?::text AND v.key_hash = i._key_hash`;
  return `GREATEST((${row}), (${tombstone}), 0)`;
}

/** VersionProtocol 'row': the writes newer than their key's version. */
function newerWrites(table: TargetTableSpec, writes: readonly PlannedWrite[], options: { reapply: boolean }): Statement {
  const keyColumns = table.key.map((name) => columnOf(table, name));
  const { list, params } = unnestArrays(keyColumns, writes.map((w) => w.key), postgresKeyArrayType);
  const alias = (name: string) => `k${table.key.indexOf(name)}`;
  return {
    sql:
      `SELECT i._key_hash AS key_hash FROM unnest(?::bpchar[], ?::bigint[], ${list}) AS i(_key_hash, _seq, ${table.key.map(alias).join(', ')}) ` +
      `WHERE ${versionOf(table, alias)} ${options.reapply ? '<=' : '<'} i._seq`,
    params: [postgresArrayLiteral(writes.map((w) => w.keyHash)), postgresArrayLiteral(writes.map((w) => w.seq)), ...params, table.name],
  };
}

/** ConflictReading.readVersions: each key's version as newerWrites sees it. */
function readRowVersions(table: TargetTableSpec, keys: readonly VersionedKey[]): Statement {
  const keyColumns = table.key.map((name) => columnOf(table, name));
  const { list, params } = unnestArrays(keyColumns, keys.map((k) => k.key), postgresKeyArrayType);
  const alias = (name: string) => `k${table.key.indexOf(name)}`;
  return {
    // The table name's placeholder (in versionOf) comes first in the text.
    sql: `SELECT i._key_hash AS key_hash, ${versionOf(table, alias)} AS seq FROM unnest(?::bpchar[], ${list}) AS i(_key_hash, ${table.key.map(alias).join(', ')})`,
    params: [table.name, postgresArrayLiteral(keys.map((k) => k.keyHash)), ...params],
  };
}

/**
 * A plain batch in one statement (SqlDialect.applyInOneStatement): the
 * guard of newerWrites, then — for the writes that passed it — the deletes
 * with their tombstones, the upserts with their versions and the
 * checkpoint, as data-modifying CTEs. They share one snapshot and one atomic
 * commit; the table lock (held around it) keeps other writers of the table
 * out, so the versions the guard read are still current when the rows are
 * written. One round trip per batch instead of five (BEGIN, guard, rows,
 * checkpoint, COMMIT): what a change waits for at 1,000 writes/s.
 *
 * The input rows are aliased positionally (`c0`, `c1`, …) so no column of the
 * user's table can clash with the bookkeeping columns; key columns travel in
 * their key type (postgresKeyArrayType) so the lookups use the primary key.
 */
function applyInOneStatement(batch: ApplyBatch, writes: readonly PlannedWrite[]): Statement {
  const table = batch.table;
  // Nothing to write (all filtered out, or only the watermark moves): the checkpoint alone.
  if (writes.length === 0) return { sql: CHECKPOINT_UPSERT, params: [batch.routeId, batch.watermark] };
  // A delete carries its key only; its other columns travel as NULL and are never written.
  const noValues = Object.fromEntries(table.columns.map((column) => [column.name, null]));
  const rows = writes.map((write) => write.row ?? { ...noValues, ...write.key });
  const { list, params } = unnestArrays(table.columns, rows, (column) =>
    table.key.includes(column.name) ? postgresKeyArrayType(column) : postgresArrayType(column),
  );
  const position = new Map(table.columns.map((column, index) => [column.name, index]));
  const alias = (name: string) => `c${position.get(name)!}`;
  const inputKey = table.key.map((name) => `i.${alias(name)}`).join(', ');
  const values = table.columns.map((column) => `i.${alias(column.name)}`).join(', ');
  const input =
    `unnest(?::bpchar[], ?::bigint[], ?::boolean[], ${list}) ` +
    `AS i(_key_hash, _seq, _deleted, ${table.columns.map((column) => alias(column.name)).join(', ')})`;
  const sql =
    `WITH won AS (SELECT i.* FROM ${input} WHERE ${versionOf(table, alias)} ${batch.reapply ? '<=' : '<'} i._seq), ` +
    `removed AS (DELETE FROM ${q(table.name)} WHERE (${table.key.map(q).join(', ')}) IN (SELECT ${inputKey} FROM won i WHERE i._deleted)), ` +
    `tombstones AS (${VERSION_UPSERT} SELECT ?::text, _key_hash, _seq, true FROM won WHERE _deleted ORDER BY _key_hash ${VERSION_CONFLICT}), ` +
    `written AS (INSERT INTO ${q(table.name)} (${[...table.columns.map((c) => q(c.name)), q(ROW_VERSION_COLUMN)].join(', ')}) ` +
    `SELECT ${values}, i._seq FROM won i WHERE NOT i._deleted ${onConflict(table)}), ` +
    `checkpoint AS (${CHECKPOINT_UPSERT}) ` +
    `SELECT _key_hash AS key_hash FROM won`;
  return {
    sql,
    params: [
      postgresArrayLiteral(writes.map((write) => write.keyHash)),
      postgresArrayLiteral(writes.map((write) => write.seq)),
      postgresArrayLiteral(writes.map((write) => write.kind === 'delete')),
      ...params,
      table.name,
      table.name,
      batch.routeId,
      batch.watermark,
    ],
  };
}

/**
 * `?::type[], …` and one array literal per column, values in row order. The
 * element type comes from `typeOf` (never with a typmod for written values:
 * see postgresArrayType). A value of the wrong shape throws RowRejectedError.
 */
function unnestArrays(
  columns: readonly ColumnSpec[],
  rows: readonly Row[],
  typeOf: (column: ColumnSpec) => string,
): { list: string; params: string[] } {
  const params = columns.map((column) => {
    const values = new Array<PostgresParam>(rows.length);
    for (let i = 0; i < rows.length; i++) values[i] = toPostgresParam(column, columnValue(rows[i], column));
    return postgresArrayLiteral(values);
  });
  return { list: columns.map((column) => `?::${typeOf(column)}[]`).join(', '), params };
}

/**
 * Bookkeeping tables: tombstones (invariant 4; the rows carry their own
 * versions, ROW_VERSION_COLUMN; rows with deleted = false are versions kept
 * from before that), the steps each table has had (table-steps.ts), route
 * checkpoints (invariant 3).
 */
export const POSTGRES_BOOKKEEPING_DDL = [
  `CREATE TABLE IF NOT EXISTS ${q(ROWS_TABLE)} (
    table_name text NOT NULL,
    key_hash char(40) NOT NULL,
    seq bigint NOT NULL,
    deleted boolean NOT NULL,
    PRIMARY KEY (table_name, key_hash)
  )`,
  `CREATE TABLE IF NOT EXISTS ${q(SOURCE_VERSIONS_TABLE)} (
    table_name text NOT NULL,
    key_hash char(40) NOT NULL,
    source_id text NOT NULL,
    seq bigint NOT NULL,
    deleted boolean NOT NULL,
    PRIMARY KEY (table_name, key_hash, source_id)
  )`,
  `CREATE TABLE IF NOT EXISTS ${q(DELETED_ROWS_TABLE)} (
    table_name text NOT NULL,
    key_hash char(40) NOT NULL,
    image text NOT NULL,
    PRIMARY KEY (table_name, key_hash)
  )`,
  `CREATE TABLE IF NOT EXISTS ${q(TABLE_STEPS_TABLE)} (
    table_name text NOT NULL,
    step_id bigint NOT NULL,
    PRIMARY KEY (table_name, step_id)
  )`,
  `CREATE TABLE IF NOT EXISTS ${q(CHECKPOINTS_TABLE)} (
    route_id text PRIMARY KEY,
    watermark bigint NOT NULL,
    updated_at timestamptz NOT NULL
  )`,
];

/** The target table: dialect types from the ColumnSpecs, their defaults (column-defaults.ts), the row version, primary key = the spec's key. */
export function postgresCreateTable(table: TargetTableSpec): string {
  const columns = table.columns.map((column) => {
    const notNull = !column.nullable || table.key.includes(column.name);
    return `${q(column.name)} ${postgresColumnType(column)}${notNull ? ' NOT NULL' : ''}${defaultClause('postgres', column)}`;
  });
  return `CREATE TABLE IF NOT EXISTS ${q(table.name)} (${columns.join(', ')}, ${ROW_VERSION_DDL}, PRIMARY KEY (${table.key.map(q).join(', ')}))`;
}

/** The version column as CREATE and ALTER TABLE declare it: NULL-able, so adding it to a full table is instant. */
const ROW_VERSION_DDL = `${q(ROW_VERSION_COLUMN)} bigint`;

/** Gives an existing table (made by hand, or before versions moved into the rows) its version column. */
export function postgresAddRowVersion(tableName: string): string {
  return `ALTER TABLE ${q(tableName)} ADD COLUMN IF NOT EXISTS ${ROW_VERSION_DDL}`;
}
