import { Knex } from 'knex';
import { quoteAnsi, TargetTableSpec } from '@tributary/model';
import { writtenRow } from '../apply-plan';
import { classifySqliteError } from '../sql/error-classification';
import { toSqlite } from './sqlite-values';
import { CHECKPOINTS_TABLE, deleteByKeys, insertValues, readVersionsStatement, ROWS_TABLE, SqlDialect, SqlSyntax, Statement, VersionWrite } from '../sql/sql-dialect';
import { DELETED_ROWS_TABLE, deletedRowStatements } from '../sql/deleted-rows';
import { SOURCE_VERSIONS_TABLE, sourceVersionStatements } from '../sql/source-versions';
import { TABLE_STEPS_TABLE, tableStepStatements } from '../sql/table-steps';
import { sqliteColumnCheck, sqliteColumnType } from '../sql/type-mapping';
import { defaultClause } from '../sql/column-defaults';

const q = quoteAnsi;

/** Below SQLite's default limit of 32 766 bound parameters a statement. */
const MAX_PARAMS = 30_000;
const MAX_ROWS_PER_STATEMENT = 1000;

export const sqliteSyntax: SqlSyntax = {
  quote: q,
  // better-sqlite3 takes bigint and Buffer as they are; knex passes them through untouched.
  bind: (column, value) => ({ placeholder: '?', param: toSqlite(column, value) as Knex.Value }),
};

/**
 * SQLite: versions first, like PostgreSQL (VersionProtocol 'claim'): SQLite
 * has `ON CONFLICT … DO UPDATE … WHERE` and `RETURNING`. There is one writer
 * at a time anyway (the target's single connection, and SQLite's database
 * write lock across processes), so no version race can happen.
 */
export const sqliteDialect: SqlDialect = {
  kind: 'sqlite',
  transaction: undefined,

  rowsPerStatement: (table) => Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(MAX_PARAMS / Math.max(1, table.columns.length)))),

  begin: () => [],

  versions: { mode: 'claim', claim: claimVersions },

  deleteRows: (table, writes): Statement => deleteByKeys(sqliteSyntax, table, writes.map((w) => w.key)),

  upsertRows(table, writes): Statement {
    const insert = insertValues(sqliteSyntax, table, writes.map(writtenRow));
    const others = table.columns.filter((c) => !table.key.includes(c.name));
    const action =
      others.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${others.map((c) => `${q(c.name)} = excluded.${q(c.name)}`).join(', ')}`;
    return { sql: `${insert.sql} ON CONFLICT (${table.key.map(q).join(', ')}) ${action}`, params: insert.params };
  },

  upsertCheckpoint: (routeId, watermark) => ({
    sql:
      `INSERT INTO ${q(CHECKPOINTS_TABLE)} (route_id, watermark, updated_ms) VALUES (?, ?, ?) ` +
      `ON CONFLICT (route_id) DO UPDATE SET watermark = excluded.watermark, updated_ms = excluded.updated_ms ` +
      `WHERE ${q(CHECKPOINTS_TABLE)}.watermark < excluded.watermark`,
    params: [routeId, watermark, Date.now()],
  }),


  sourceVersions: sourceVersionStatements('sqlite', q),
  deletedRows: deletedRowStatements('sqlite', q),
  tableSteps: tableStepStatements('sqlite', q),
  rows: (result) => (Array.isArray(result) ? (result as Record<string, unknown>[]) : []),

  classify: classifySqliteError,

  conflicts: {
    transaction: undefined,
    lockClause: '',
    versionsLockClause: '',
    readVersions: (table, keys) => readVersionsStatement(q, table.name, keys),
  },
};

/**
 * Invariant 4 in one statement, as on PostgreSQL: a version moves only if the
 * incoming seq is newer (or equal with reapply), and RETURNING names the keys
 * this batch may write. The versions travel as ONE JSON parameter
 * (`json_each`), so a batch of any size stays within the parameter limit.
 * (`WHERE true` is SQLite's required disambiguation of SELECT … ON CONFLICT.)
 */
function claimVersions(tableName: string, versions: VersionWrite[], options: { reapply: boolean }): Statement {
  const guard = options.reapply ? '<=' : '<';
  return {
    sql:
      `INSERT INTO ${q(ROWS_TABLE)} AS v (table_name, key_hash, seq, deleted) ` +
      `SELECT ?, j.value ->> 0, j.value ->> 1, j.value ->> 2 FROM json_each(?) AS j WHERE true ` +
      `ON CONFLICT (table_name, key_hash) DO UPDATE SET seq = excluded.seq, deleted = excluded.deleted ` +
      `WHERE v.seq ${guard} excluded.seq RETURNING key_hash`,
    params: [tableName, JSON.stringify(versions.map((v) => [v.keyHash, v.seq, v.deleted ? 1 : 0]))],
  };
}

/** Bookkeeping tables: per-row versions and tombstones (invariant 4), the steps each table has had (table-steps.ts), route checkpoints (invariant 3). */
export const SQLITE_BOOKKEEPING_DDL = [
  `CREATE TABLE IF NOT EXISTS ${q(ROWS_TABLE)} (
    table_name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    seq INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    PRIMARY KEY (table_name, key_hash)
  ) WITHOUT ROWID, STRICT`,
  `CREATE TABLE IF NOT EXISTS ${q(SOURCE_VERSIONS_TABLE)} (
    table_name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    source_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    PRIMARY KEY (table_name, key_hash, source_id)
  ) WITHOUT ROWID, STRICT`,
  `CREATE TABLE IF NOT EXISTS ${q(DELETED_ROWS_TABLE)} (
    table_name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    image TEXT NOT NULL,
    PRIMARY KEY (table_name, key_hash)
  ) WITHOUT ROWID, STRICT`,
  `CREATE TABLE IF NOT EXISTS ${q(TABLE_STEPS_TABLE)} (
    table_name TEXT NOT NULL,
    step_id INTEGER NOT NULL,
    PRIMARY KEY (table_name, step_id)
  ) WITHOUT ROWID, STRICT`,
  `CREATE TABLE IF NOT EXISTS ${q(CHECKPOINTS_TABLE)} (
    route_id TEXT PRIMARY KEY,
    watermark INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
  ) STRICT`,
];

/**
 * One column's definition; also used by ADD COLUMN (always NULL-able there).
 * Its default (column-defaults.ts) last, after the CHECK, where the
 * rebuilds of sqlite-evolve.ts look for each (a default's text never comes
 * before the CHECK they read). Without it where the default must not be
 * there (ADD COLUMN cannot add a CURRENT_TIMESTAMP one).
 */
export function sqliteColumnDefinition(column: TargetTableSpec['columns'][number], notNull: boolean, withDefault = true): string {
  const check = sqliteColumnCheck(column, q(column.name));
  return `${q(column.name)} ${sqliteColumnType(column)}${notNull ? ' NOT NULL' : ''}${check ? ` CHECK (${check})` : ''}${withDefault ? defaultClause('sqlite', column) : ''}`;
}

/** The target table, STRICT so SQLite refuses a value of the wrong storage class. */
export function sqliteCreateTable(table: TargetTableSpec): string {
  const columns = table.columns.map((column) => sqliteColumnDefinition(column, !column.nullable || table.key.includes(column.name)));
  return `CREATE TABLE IF NOT EXISTS ${q(table.name)} (${columns.join(', ')}, PRIMARY KEY (${table.key.map(q).join(', ')})) STRICT`;
}
