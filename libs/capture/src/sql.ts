import { Knex } from 'knex';

/** Runs one statement and returns its rows; lets the same code run on the pool or on one locked connection. */
export type Query = <T>(sql: string, bindings?: readonly Knex.Value[]) => Promise<T[]>;

/**
 * A Query over `knex`, pinned to `connection` when given (a raw connection
 * from knex.client.acquireConnection(), needed for LOCK TABLES, which is
 * per connection and cannot run inside knex.transaction).
 */
export function queryOn(knex: Knex, connection?: unknown): Query {
  return async <T>(sql: string, bindings: readonly Knex.Value[] = []): Promise<T[]> => {
    const raw = knex.raw(sql, [...bindings]);
    const result: unknown = await (connection === undefined ? raw : raw.connection(connection));
    // mysql2 answers [rows, fields] for a SELECT and [ResultSetHeader, undefined] otherwise.
    if (Array.isArray(result) && Array.isArray(result[0])) return result[0] as T[];
    return [];
  };
}

/**
 * A MySQL string literal for trigger bodies. Quotes are doubled, which means
 * the same with and without NO_BACKSLASH_ESCAPES; backslashes and control
 * characters would not, so they are refused (our names and hashes never have them).
 */
export function sqlString(value: string): string {
  if (/[\\\0-\x1f]/.test(value)) throw new Error(`refusing to embed ${JSON.stringify(value)} in a trigger body`);
  return `'${value.replace(/'/g, "''")}'`;
}
