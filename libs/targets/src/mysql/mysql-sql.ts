import { ORIGIN_VARIABLE } from '@tributary/db';
import { quoteMysql, Row, TargetTableSpec } from '@tributary/model';
import { recentDeletesQuery, unseenDeletesSql } from '@tributary/outbox';
import { writtenRow } from '../apply-plan';
import { classifyMysqlError } from '../sql/error-classification';
import { bindMysql } from './mysql-values';
import {
  CHECKPOINTS_TABLE,
  deleteByKeys,
  insertValues,
  placeholders,
  readVersionsStatement,
  ROWS_TABLE,
  SqlDialect,
  SqlSyntax,
  Statement,
  VersionWrite,
} from '../sql/sql-dialect';
import { DELETED_ROWS_TABLE, deletedRowStatements } from '../sql/deleted-rows';
import { SOURCE_VERSIONS_TABLE, sourceVersionStatements } from '../sql/source-versions';
import { TABLE_STEPS_TABLE, tableStepStatements } from '../sql/table-steps';
import { mysqlColumnType } from '../sql/type-mapping';
import { defaultClause } from '../sql/column-defaults';

const q = quoteMysql;

export const mysqlSyntax: SqlSyntax = { quote: quoteMysql, bind: bindMysql };

export const mysqlDialect: SqlDialect = {
  kind: 'mysql',
  // READ COMMITTED: the version lookup locks only rows that exist, no gaps, so
  // parallel lanes inserting new keys do not deadlock on each other's gap locks.
  transaction: { isolationLevel: 'read committed' },

  // mysql2 inlines parameters client-side: no parameter limit, only max_allowed_packet.
  rowsPerStatement: () => 500,

  begin: (batch) => [originMarker(batch.origin)],
  originMarker,

  // No RETURNING: versions are read and locked first and guarded in JS (see lockVersions in sql-apply.ts).
  versions: {
    mode: 'lock',
    // Locked in key_hash order, so two overlapping batches queue instead of deadlocking.
    lock: (tableName, hashes) => ({
      sql:
        `SELECT key_hash, seq, deleted FROM ${q(ROWS_TABLE)} ` +
        `WHERE table_name = ? AND key_hash IN (${placeholders(hashes.length)}) ORDER BY key_hash FOR UPDATE`,
      params: [tableName, ...hashes],
    }),
    // IGNORE counts only the rows it inserted (ON DUPLICATE KEY counts a no-op as 1 under the
    // driver's FOUND_ROWS); it would also turn a bad value into a warning, but these are ours.
    insertNew: (tableName, versions: VersionWrite[]) => ({
      sql: `INSERT IGNORE INTO ${q(ROWS_TABLE)} (table_name, key_hash, seq, deleted) VALUES ${versions.map(() => '(?, ?, ?, ?)').join(', ')}`,
      params: versions.flatMap((v) => [tableName, v.keyHash, v.seq, v.deleted]),
    }),
    inserted: (result) => Number((result as [{ affectedRows: number }])[0].affectedRows),
    write: (tableName, versions: VersionWrite[]) => ({
      // Assignments run left to right: `deleted` must compare against the old seq.
      sql:
        `INSERT INTO ${q(ROWS_TABLE)} (table_name, key_hash, seq, deleted) ` +
        `VALUES ${versions.map(() => '(?, ?, ?, ?)').join(', ')} ` +
        `ON DUPLICATE KEY UPDATE deleted = IF(VALUES(seq) > seq, VALUES(deleted), deleted), seq = GREATEST(seq, VALUES(seq))`,
      params: versions.flatMap((v) => [tableName, v.keyHash, v.seq, v.deleted]),
    }),
  },

  deleteRows: (table, writes) => deleteByKeys(mysqlSyntax, table, writes.map((w) => w.key)),

  upsertRows(table: TargetTableSpec, writes): Statement {
    const insert = insertValues(mysqlSyntax, table, writes.map(writtenRow));
    const others = table.columns.filter((c) => !table.key.includes(c.name));
    // VALUES(col) rather than the row alias form: MariaDB has no alias form.
    const set = (others.length > 0 ? others : table.columns.filter((c) => c.name === table.key[0]))
      .map((c) => `${q(c.name)} = VALUES(${q(c.name)})`)
      .join(', ');
    return { sql: `${insert.sql} ON DUPLICATE KEY UPDATE ${set}`, params: insert.params };
  },

  upsertCheckpoint: (routeId, watermark) => ({
    sql:
      `INSERT INTO ${q(CHECKPOINTS_TABLE)} (route_id, watermark, updated_at) VALUES (?, ?, NOW(6)) ` +
      `ON DUPLICATE KEY UPDATE updated_at = IF(VALUES(watermark) > watermark, VALUES(updated_at), updated_at), ` +
      `watermark = GREATEST(watermark, VALUES(watermark))`,
    params: [routeId, watermark],
  }),


  sourceVersions: sourceVersionStatements('mysql', q),
  deletedRows: deletedRowStatements('mysql', q),
  tableSteps: tableStepStatements('mysql', q),
  rows: (result) => (result as [Record<string, unknown>[], unknown])[0],

  classify: classifyMysqlError,

  conflicts: {
    transaction: { isolationLevel: 'repeatable read' },
    lockClause: ' FOR UPDATE',
    versionsLockClause: ' FOR UPDATE',
    readVersions: (table, keys) => readVersionsStatement(q, table.name, keys),
    readDeleted: readOwnDeletes,
    recordUnseenDeletes: unseenDeletesSql,
  },
};

/** Bookkeeping tables: per-row versions and tombstones (invariant 4), the steps each table has had (table-steps.ts), route checkpoints (invariant 3). */
export const MYSQL_BOOKKEEPING_DDL = [
  `CREATE TABLE IF NOT EXISTS ${q(ROWS_TABLE)} (
    table_name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    key_hash CHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    seq BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL,
    PRIMARY KEY (table_name, key_hash)
  ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS ${q(SOURCE_VERSIONS_TABLE)} (
    table_name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    key_hash CHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    source_id VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    seq BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL,
    PRIMARY KEY (table_name, key_hash, source_id)
  ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS ${q(DELETED_ROWS_TABLE)} (
    table_name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    key_hash CHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    image LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (table_name, key_hash)
  ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS ${q(TABLE_STEPS_TABLE)} (
    table_name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    step_id BIGINT NOT NULL,
    PRIMARY KEY (table_name, step_id)
  ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS ${q(CHECKPOINTS_TABLE)} (
    route_id VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
    watermark BIGINT NOT NULL,
    updated_at TIMESTAMP(6) NOT NULL
  ) ENGINE=InnoDB`,
];

/**
 * The target table. utf8mb4_bin: keys distinct at the source (under any
 * utf8mb4 collation) stay distinct here, so two source rows never share one.
 * No IF NOT EXISTS: whether it made the table decides which steps the table
 * has had (ER_TABLE_EXISTS_ERROR: it did not). Columns carry the source's
 * defaults where MySQL can say them (column-defaults.ts).
 */
export function mysqlCreateTable(table: TargetTableSpec): string {
  const columns = table.columns.map((column) => {
    // NULL spelled out: old servers make a bare TIMESTAMP column NOT NULL.
    const notNull = !column.nullable || table.key.includes(column.name);
    return `${q(column.name)} ${mysqlColumnType(column)} ${notNull ? 'NOT NULL' : 'NULL'}${defaultClause('mysql', column)}`;
  });
  return (
    `CREATE TABLE ${q(table.name)} (${columns.join(', ')}, PRIMARY KEY (${table.key.map(q).join(', ')})) ` +
    'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin'
  );
}

/**
 * The target database's own deletes of these keys, from its outbox (two-way
 * replication: it is a captured source too); a database without an outbox
 * fails with ER_NO_SUCH_TABLE, which the caller reads as "unknown".
 */
function readOwnDeletes(table: TargetTableSpec, keys: Row[]): Statement {
  return recentDeletesQuery(table.name, table.key, keys);
}

/** The origin the following writes carry (invariant 6): the session variable the capture triggers record. */
function originMarker(origin: string): Statement {
  return { sql: `SET ${ORIGIN_VARIABLE} = ?`, params: [origin] };
}
