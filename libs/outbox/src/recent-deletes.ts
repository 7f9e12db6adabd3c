import { OUTBOX_TABLE } from '@tributary/db';
import { quoteMysql, Row, validateIdentifier } from '@tributary/model';

/** How far back (in outbox rows) recentDeletesQuery looks: a bounded backward range scan. */
const RECENT_DELETES_WINDOW = 100_000;

/**
 * The outbox's deletes of these keys of `table` among its last
 * RECENT_DELETES_WINDOW rows, newest first (`pk`, `before_image`): what a
 * MySQL target that is also a captured source (two-way replication) deleted
 * itself. Keys are matched in the JSON key image the capture triggers write
 * (binary values as base64, as the wire form has them). A database without
 * an outbox fails with ER_NO_SUCH_TABLE.
 */
export function recentDeletesQuery(table: string, keyColumns: readonly string[], keys: readonly Row[]): { sql: string; params: Array<string | number | null> } {
  const params: Array<string | number | null> = [RECENT_DELETES_WINDOW, table];
  const match = keys.map((key) => {
    const parts = keyColumns.map((name) => {
      const value = key[name];
      params.push(Buffer.isBuffer(value) ? value.toString('base64') : value === null || value === undefined ? null : String(value));
      return `JSON_VALUE(pk, '$."${validateIdentifier(name, 'key column')}"') = ?`;
    });
    return `(${parts.join(' AND ')})`;
  });
  const outbox = quoteMysql(OUTBOX_TABLE);
  return {
    sql:
      `SELECT pk, before_image FROM ${outbox} ` +
      `WHERE seq > (SELECT COALESCE(MAX(seq), 0) - ? FROM ${outbox}) AND table_name = ? AND op = 'delete' AND (${match.join(' OR ')}) ` +
      'ORDER BY seq DESC',
    params,
  };
}
