import { jsonSafeRow, Row, valueFromJsonSafe } from '@tributary/model';
import { Statement } from './sql-dialect';

/**
 * Deletions Tributary applied at a target, remembered per row (issue #14):
 * the last image each replicated delete saw of its row, kept after the row
 * is gone. newer-wins needs it to tell a late insert or update (written
 * before the deletion, arriving after it through another path) from a newer
 * one: without it, with three or more leaders, the late change would bring
 * the row back on one node only. Written only for routes whose conflict
 * policy reads it (ApplyHooks.remembersDeletes); kept, like the version
 * tombstones, for ever.
 */
export const DELETED_ROWS_TABLE = '_tributary_deleted_rows';

/** A row's remembered deletion: its key hash and the last image the delete saw. */
export interface RememberedDeletion {
  keyHash: string;
  image: Row;
}

export interface DeletedRowStatements {
  /** `key_hash, image` of the keys' remembered deletions. */
  read(tableName: string, hashes: readonly string[]): Statement;
  /** Remembers these deletions, replacing earlier ones of the same rows (the caller passes only newer ones). */
  remember(tableName: string, deletions: readonly RememberedDeletion[]): Statement;
}

type Flavor = 'postgres' | 'mysql' | 'sqlite';

/** The remembered-deletion statements in one dialect's SQL. */
export function deletedRowStatements(flavor: Flavor, quote: (name: string) => string): DeletedRowStatements {
  const table = quote(DELETED_ROWS_TABLE);
  return {
    read: (tableName, hashes) => ({
      sql: `SELECT key_hash, image FROM ${table} WHERE table_name = ? AND key_hash IN (${hashes.map(() => '?').join(', ')})`,
      params: [tableName, ...hashes],
    }),
    remember: (tableName, deletions) => ({
      sql:
        `INSERT INTO ${table} (table_name, key_hash, image) VALUES ${deletions.map(() => '(?, ?, ?)').join(', ')} ` +
        (flavor === 'mysql' ? 'ON DUPLICATE KEY UPDATE image = VALUES(image)' : 'ON CONFLICT (table_name, key_hash) DO UPDATE SET image = excluded.image'),
      params: deletions.flatMap((d) => [tableName, d.keyHash, imageText(d.image)]),
    }),
  };
}

/** A row as JSON text (jsonSafeRow: bytes as {"$b64": …}). */
export function imageText(row: Row): string {
  return JSON.stringify(jsonSafeRow(row));
}

/** The row imageText wrote. */
export function imageOf(text: string): Row {
  return Object.fromEntries(Object.entries(JSON.parse(text) as Record<string, unknown>).map(([name, value]) => [name, valueFromJsonSafe(value)]));
}
