import { quoteAnsi } from '@tributary/model';
import { classifyPostgresError } from './error-classification';
import { toPostgresParam } from './postgres-values';
import { postgresColumnType } from './type-mapping';
import {
  CHECKPOINTS_TABLE,
  deleteByKeys,
  insertValues,
  placeholders,
  ROWS_TABLE,
  SqlDialect,
  SqlSyntax,
  Statement,
  VersionWrite,
} from './sql-dialect';
import { TargetTableSpec } from './target';

const q = quoteAnsi;

export const postgresSyntax: SqlSyntax = {
  quote: quoteAnsi,
  bind: (column, value) => ({ placeholder: '?', param: toPostgresParam(column, value) }),
};

/** The protocol's limit on bind parameters in one statement. */
const MAX_PARAMS = 65535;

export const postgresDialect: SqlDialect = {
  kind: 'postgres',
  transaction: undefined,

  rowsPerStatement: (table) => Math.max(1, Math.min(500, Math.floor(MAX_PARAMS / table.columns.length))),

  begin: () => [],

  // Locked in key_hash order, so two overlapping batches queue instead of deadlocking.
  lockVersions: (tableName, hashes) => ({
    sql:
      `SELECT key_hash, seq, deleted FROM ${q(ROWS_TABLE)} ` +
      `WHERE table_name = ? AND key_hash IN (${placeholders(hashes.length)}) ORDER BY key_hash FOR UPDATE`,
    params: [tableName, ...hashes],
  }),

  deleteRows: (table, keys) => deleteByKeys(postgresSyntax, table, keys),

  upsertRows(table: TargetTableSpec, rows): Statement {
    const insert = insertValues(postgresSyntax, table, rows);
    const others = table.columns.filter((c) => !table.key.includes(c.name));
    const conflict = `ON CONFLICT (${table.key.map(q).join(', ')})`;
    const action =
      others.length === 0
        ? 'DO NOTHING'
        : `DO UPDATE SET ${others.map((c) => `${q(c.name)} = EXCLUDED.${q(c.name)}`).join(', ')}`;
    return { sql: `${insert.sql} ${conflict} ${action}`, params: insert.params };
  },

  upsertVersions: (tableName, versions: VersionWrite[]) => ({
    sql:
      `INSERT INTO ${q(ROWS_TABLE)} (table_name, key_hash, seq, deleted) ` +
      `VALUES ${versions.map(() => '(?, ?, ?, ?)').join(', ')} ` +
      `ON CONFLICT (table_name, key_hash) DO UPDATE SET seq = EXCLUDED.seq, deleted = EXCLUDED.deleted ` +
      `WHERE ${q(ROWS_TABLE)}.seq < EXCLUDED.seq`,
    params: versions.flatMap((v) => [tableName, v.keyHash, v.seq, v.deleted]),
  }),

  upsertCheckpoint: (routeId, watermark) => ({
    sql:
      `INSERT INTO ${q(CHECKPOINTS_TABLE)} (route_id, watermark, updated_at) VALUES (?, ?, now()) ` +
      `ON CONFLICT (route_id) DO UPDATE SET watermark = EXCLUDED.watermark, updated_at = EXCLUDED.updated_at ` +
      `WHERE ${q(CHECKPOINTS_TABLE)}.watermark < EXCLUDED.watermark`,
    params: [routeId, watermark],
  }),

  rows: (result) => (result as { rows: Record<string, unknown>[] }).rows,

  classify: classifyPostgresError,
};

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
