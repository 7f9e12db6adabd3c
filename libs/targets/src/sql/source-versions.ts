import { Statement, VersionWrite } from './sql-dialect';

/**
 * Versions per source (issue #14): a target table written by routes of
 * several sources whose rows can share a key keeps, per row, the last seq of
 * EACH source that wrote it, so each source's replays and retries stay
 * idempotent and monotonic while different sources' changes of a row apply
 * in the order they arrive (or as the route's conflict policy decides).
 * The single version of a one-source table (ROWS_TABLE, or PostgreSQL's
 * row column) stays what it was: the source that wrote the table alone
 * before (the "legacy" source) has its versions copied into this table, key
 * by key, before anything overwrites them.
 */
export const SOURCE_VERSIONS_TABLE = '_tributary_source_versions';

/** The statements a SQL dialect gives for per-source versions. */
export interface SourceVersionStatements {
  /** Inserts the versions of keys that have none yet for `source`; leaves the others as they are. */
  insertMissing(tableName: string, source: string, versions: readonly VersionWrite[]): Statement;
  /** `key_hash, seq, deleted` of the keys' versions for `source`, locked until commit where the dialect can lock. */
  lock(tableName: string, source: string, hashes: readonly string[]): Statement;
  /** Moves the versions of `source` forward (never back). */
  write(tableName: string, source: string, versions: readonly VersionWrite[]): Statement;
}

type Flavor = 'postgres' | 'mysql' | 'sqlite';

/** The per-source version statements in one dialect's SQL. */
export function sourceVersionStatements(flavor: Flavor, quote: (name: string) => string): SourceVersionStatements {
  const table = quote(SOURCE_VERSIONS_TABLE);
  const columns = '(table_name, key_hash, source_id, seq, deleted)';
  const values = (n: number) => Array.from({ length: n }, () => '(?, ?, ?, ?, ?)').join(', ');
  const params = (tableName: string, source: string, versions: readonly VersionWrite[]) =>
    versions.flatMap((v) => [tableName, v.keyHash, source, v.seq, flavor === 'sqlite' ? (v.deleted ? 1 : 0) : v.deleted]);
  return {
    insertMissing: (tableName, source, versions) => ({
      sql:
        flavor === 'mysql'
          ? `INSERT IGNORE INTO ${table} ${columns} VALUES ${values(versions.length)}`
          : `INSERT INTO ${table} ${columns} VALUES ${values(versions.length)} ON CONFLICT (table_name, key_hash, source_id) DO NOTHING`,
      params: params(tableName, source, versions),
    }),
    lock: (tableName, source, hashes) => ({
      // In key_hash order: overlapping batches take the locks in one order and queue instead of deadlocking.
      sql:
        `SELECT key_hash, seq, deleted FROM ${table} WHERE table_name = ? AND source_id = ? ` +
        `AND key_hash IN (${hashes.map(() => '?').join(', ')}) ORDER BY key_hash${flavor === 'sqlite' ? '' : ' FOR UPDATE'}`,
      params: [tableName, source, ...hashes],
    }),
    write: (tableName, source, versions) => ({
      sql:
        flavor === 'mysql'
          ? `INSERT INTO ${table} ${columns} VALUES ${values(versions.length)} ` +
            // Assignments run left to right: `deleted` must compare against the old seq.
            'ON DUPLICATE KEY UPDATE deleted = IF(VALUES(seq) > seq, VALUES(deleted), deleted), seq = GREATEST(seq, VALUES(seq))'
          : `INSERT INTO ${table} AS v ${columns} VALUES ${values(versions.length)} ` +
            'ON CONFLICT (table_name, key_hash, source_id) DO UPDATE SET seq = excluded.seq, deleted = excluded.deleted WHERE v.seq < excluded.seq',
      params: params(tableName, source, versions),
    }),
  };
}
