import { ColumnSpec, quoteAnsi, Row } from '@tributary/model';
import { classifyPostgresError } from './error-classification';
import { postgresArrayLiteral, PostgresParam, toPostgresParam } from './postgres-values';
import { postgresArrayType, postgresColumnType, postgresKeyArrayType } from './type-mapping';
import { CHECKPOINTS_TABLE, columnOf, columnValue, readVersionsStatement, ROWS_TABLE, SqlDialect, SqlSyntax, Statement, VersionWrite } from './sql-dialect';
import { PlannedWrite } from './apply-plan';
import { ApplyBatch, TargetTableSpec } from './target';

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
 * PostgreSQL: versions first (VersionProtocol 'claim'), and every statement
 * sends one array per column (`unnest($1::integer[], $2::text[], …)`) instead
 * of one parameter per value.
 */
export const postgresDialect: SqlDialect = {
  kind: 'postgres',
  transaction: undefined,

  rowsPerStatement: () => ROWS_PER_STATEMENT,

  begin: () => [],

  versions: { mode: 'claim', claim: claimVersions },

  deleteRows(table: TargetTableSpec, keys: Row[]): Statement {
    const keyColumns = table.key.map((name) => columnOf(table, name));
    const { list, params } = unnestArrays(keyColumns, keys, postgresKeyArrayType);
    // IN (SELECT … unnest) rather than OR-ed tuples: one plan shape for any key width, a
    // nested loop over the primary key (unnest is estimated at 200 distinct rows, so no
    // statistics are needed to pick the index).
    return {
      sql: `DELETE FROM ${q(table.name)} WHERE (${keyColumns.map((c) => q(c.name)).join(', ')}) IN (SELECT * FROM unnest(${list}))`,
      params,
    };
  },

  upsertRows(table: TargetTableSpec, rows: Row[]): Statement {
    const { list, params } = unnestArrays(table.columns, rows, postgresArrayType);
    const columns = table.columns.map((c) => q(c.name)).join(', ');
    // One row per key (planBatch), so ON CONFLICT never meets the same row twice in a statement.
    return { sql: `INSERT INTO ${q(table.name)} (${columns}) SELECT * FROM unnest(${list}) ${onConflict(table)}`, params };
  },

  upsertCheckpoint: (routeId, watermark) => ({ sql: CHECKPOINT_UPSERT, params: [routeId, watermark] }),

  applyInOneStatement: applyInOneStatement,

  rows: (result) => (result as { rows: Record<string, unknown>[] }).rows,

  classify: classifyPostgresError,

  conflicts: {
    // REPEATABLE READ, not SERIALIZABLE: a write to a row another transaction changed or inserted since
    // this one's snapshot already fails (40001, the batch is retried and decides again), and SERIALIZABLE's
    // predicate locks on the shared version table fail batches of other routes for nothing.
    transaction: { isolationLevel: 'repeatable read' },
    lockClause: ' FOR UPDATE',
    readVersions: (tableName, hashes) => readVersionsStatement(q, tableName, hashes),
  },
};

const CHECKPOINT_UPSERT =
  `INSERT INTO ${q(CHECKPOINTS_TABLE)} (route_id, watermark, updated_at) VALUES (?, ?, now()) ` +
  `ON CONFLICT (route_id) DO UPDATE SET watermark = EXCLUDED.watermark, updated_at = EXCLUDED.updated_at ` +
  `WHERE ${q(CHECKPOINTS_TABLE)}.watermark < EXCLUDED.watermark`;

/** An upsert's conflict clause: the key's row takes the new values (a key-only table has nothing to update). */
function onConflict(table: TargetTableSpec): string {
  const others = table.columns.filter((c) => !table.key.includes(c.name));
  const action = others.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${others.map((c) => `${q(c.name)} = EXCLUDED.${q(c.name)}`).join(', ')}`;
  return `ON CONFLICT (${table.key.map(q).join(', ')}) ${action}`;
}

/**
 * A plain batch in one statement (SqlDialect.applyInOneStatement): the claim
 * of claimVersions, then — joined with what it RETURNed, so only the writes
 * that won their version — the deletes and the upserts, and the checkpoint,
 * as data-modifying CTEs. They share one snapshot and one atomic commit, and
 * the rows are written while the statement holds their versions' locks, so
 * the concurrency argument of claimVersions holds unchanged. One round trip
 * per batch instead of five (BEGIN, claim, rows, checkpoint, COMMIT): what a
 * change waits for at 1,000 writes/s.
 *
 * The input rows are aliased positionally (`c0`, `c1`, …) so no column of the
 * user's table can clash with the bookkeeping columns; key columns travel in
 * their key type (postgresKeyArrayType) so the delete uses the primary key.
 */
function applyInOneStatement(batch: ApplyBatch, writes: readonly PlannedWrite[]): Statement {
  const table = batch.table;
  // Nothing to write (all filtered out, or only the watermark moves): the checkpoint alone.
  if (writes.length === 0) return { sql: CHECKPOINT_UPSERT, params: [batch.routeId, batch.watermark] };
  const ordered = [...writes].sort((a, b) => (a.keyHash < b.keyHash ? -1 : a.keyHash > b.keyHash ? 1 : 0));
  // A delete carries its key only; its other columns travel as NULL and are never written.
  const noValues = Object.fromEntries(table.columns.map((column) => [column.name, null]));
  const rows = ordered.map((write) => write.row ?? { ...noValues, ...write.key });
  const { list, params } = unnestArrays(table.columns, rows, (column) =>
    table.key.includes(column.name) ? postgresKeyArrayType(column) : postgresArrayType(column),
  );
  const alias = (index: number) => `c${index}`;
  const position = new Map(table.columns.map((column, index) => [column.name, index]));
  const inputKey = table.key.map((name) => `i.${alias(position.get(name)!)}`).join(', ');
  const guard = batch.reapply ? '<=' : '<';
  const sql =
    `WITH input AS (SELECT * FROM unnest(?::text[], ?::bigint[], ?::boolean[], ${list}) ` +
    `AS i(_key_hash, _seq, _deleted, ${table.columns.map((_, index) => alias(index)).join(', ')})), ` +
    `claimed AS (INSERT INTO ${q(ROWS_TABLE)} AS v (table_name, key_hash, seq, deleted) ` +
    `SELECT ?::text, _key_hash, _seq, _deleted FROM input ORDER BY _key_hash ` +
    `ON CONFLICT (table_name, key_hash) DO UPDATE SET seq = EXCLUDED.seq, deleted = EXCLUDED.deleted ` +
    `WHERE v.seq ${guard} EXCLUDED.seq RETURNING key_hash), ` +
    `won AS (SELECT i.* FROM input i JOIN claimed c ON c.key_hash = i._key_hash), ` +
    `removed AS (DELETE FROM ${q(table.name)} WHERE (${table.key.map(q).join(', ')}) IN ` +
    `(SELECT ${inputKey} FROM won i WHERE i._deleted)), ` +
    `written AS (INSERT INTO ${q(table.name)} (${table.columns.map((c) => q(c.name)).join(', ')}) ` +
    `SELECT ${table.columns.map((_, index) => `i.${alias(index)}`).join(', ')} FROM won i WHERE NOT i._deleted ${onConflict(table)}), ` +
    `checkpoint AS (${CHECKPOINT_UPSERT}) ` +
    `SELECT key_hash FROM claimed`;
  return {
    sql,
    params: [
      postgresArrayLiteral(ordered.map((write) => write.keyHash)),
      postgresArrayLiteral(ordered.map((write) => write.seq)),
      postgresArrayLiteral(ordered.map((write) => write.kind === 'delete')),
      ...params,
      table.name,
      batch.routeId,
      batch.watermark,
    ],
  };
}

/**
 * Invariant 4 in one statement: a version moves only if the incoming seq is
 * newer (`<`), or equal when reapplying a dead letter (`<=`); RETURNING names
 * exactly the keys whose rows this batch may write. A tombstone is a version
 * like any other, so an older insert loses to it and cannot resurrect the row.
 *
 * Concurrency (two workers applying one key at once): a row is only written
 * by the transaction that holds its version's row lock, from this statement
 * to commit. ON CONFLICT locks the existing version before it evaluates the
 * WHERE (and keeps the lock when the WHERE declines); a version it inserts is
 * new, and another transaction inserting the same key waits on the unique
 * index until this one ends, then takes the conflict path. Either way the
 * second transaction waits, and under READ COMMITTED evaluates its WHERE
 * against the version the first one committed: it skips if that is as new,
 * or writes its newer row after the first one's row is committed. So a row
 * never moves backwards, and unlike a `SELECT … FOR UPDATE` (which locks
 * nothing for a key without a version) this holds for new keys as well. The
 * caller sorts the versions by key_hash, so overlapping batches take the
 * locks in one order and queue rather than deadlock (a deadlock would still
 * only be a transient error: the batch is retried).
 */
function claimVersions(tableName: string, versions: VersionWrite[], options: { reapply: boolean }): Statement {
  const guard = options.reapply ? '<=' : '<';
  return {
    sql:
      `INSERT INTO ${q(ROWS_TABLE)} AS v (table_name, key_hash, seq, deleted) ` +
      `SELECT ?::text, * FROM unnest(?::text[], ?::bigint[], ?::boolean[]) ` +
      `ON CONFLICT (table_name, key_hash) DO UPDATE SET seq = EXCLUDED.seq, deleted = EXCLUDED.deleted ` +
      `WHERE v.seq ${guard} EXCLUDED.seq RETURNING key_hash`,
    params: [
      tableName,
      postgresArrayLiteral(versions.map((v) => v.keyHash)),
      postgresArrayLiteral(versions.map((v) => v.seq)),
      postgresArrayLiteral(versions.map((v) => v.deleted)),
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

/** Bookkeeping tables: per-row versions and tombstones (invariant 4), route checkpoints (invariant 3). */
export const POSTGRES_BOOKKEEPING_DDL = [
  `CREATE TABLE IF NOT EXISTS ${q(ROWS_TABLE)} (
    table_name text NOT NULL,
    key_hash char(40) NOT NULL,
    seq bigint NOT NULL,
    deleted boolean NOT NULL,
    PRIMARY KEY (table_name, key_hash)
  )`,
  `CREATE TABLE IF NOT EXISTS ${q(CHECKPOINTS_TABLE)} (
    route_id text PRIMARY KEY,
    watermark bigint NOT NULL,
    updated_at timestamptz NOT NULL
  )`,
];

/** The target table: dialect types from the ColumnSpecs, primary key = the spec's key. */
export function postgresCreateTable(table: TargetTableSpec): string {
  const columns = table.columns.map((column) => {
    const notNull = !column.nullable || table.key.includes(column.name);
    return `${q(column.name)} ${postgresColumnType(column)}${notNull ? ' NOT NULL' : ''}`;
  });
  return `CREATE TABLE IF NOT EXISTS ${q(table.name)} (${columns.join(', ')}, PRIMARY KEY (${table.key.map(q).join(', ')}))`;
}
