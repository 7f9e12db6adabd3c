import { Knex } from 'knex';
import { quoteMysql } from '@tributary/model';
import { CaptureError } from './errors';
import { Query, queryOn } from './sql';

/** How long DDL and LOCK TABLES wait for a table's open transactions before giving up, unless told otherwise. */
export const DEFAULT_LOCK_WAIT_SECONDS = 10;

/**
 * Runs `work` on one dedicated pool connection with a bounded
 * lock_wait_timeout. The bound matters because while our DDL waits for a
 * long transaction on the table, every new writer queues behind it: the
 * server default (a day) would stall the application. The setting is
 * restored before the connection goes back to the pool; after any error the
 * connection is destroyed instead, since it may still hold a table lock.
 */
export async function withDedicatedSession<T>(knex: Knex, lockWaitSeconds: number, work: (query: Query) => Promise<T>): Promise<T> {
  if (!Number.isInteger(lockWaitSeconds) || lockWaitSeconds < 1) throw new CaptureError(`lock wait must be a whole number of seconds >= 1, got ${lockWaitSeconds}`);
  const connection: unknown = await knex.client.acquireConnection();
  const query = queryOn(knex, connection);
  let reusable = false;
  try {
    const [saved] = await query<{ seconds: number | string }>('SELECT @@SESSION.lock_wait_timeout AS seconds');
    await query(`SET SESSION lock_wait_timeout = ${lockWaitSeconds}`);
    const result = await work(query);
    await query(`SET SESSION lock_wait_timeout = ${Number(saved.seconds)}`);
    reusable = true;
    return result;
  } finally {
    if (!reusable) destroy(connection);
    await knex.client.releaseConnection(connection);
  }
}

/**
 * Runs `work` while this session holds `LOCK TABLES <each> WRITE`: no other
 * session can read or write those tables until UNLOCK TABLES, which always
 * runs. Use inside withDedicatedSession, which destroys the session if even
 * that fails, so the locks never outlive the call.
 */
export async function withTablesLocked<T>(query: Query, tables: readonly string[], work: () => Promise<T>): Promise<T> {
  try {
    await query(`LOCK TABLES ${tables.map((table) => `${quoteMysql(table)} WRITE`).join(', ')}`);
  } catch (error) {
    throw new CaptureError(`could not lock ${tables.join(', ')}: ${errorMessage(error)}${lockHint(error)}`, { cause: error });
  }
  let failed = false;
  try {
    return await work();
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    try {
      await query('UNLOCK TABLES');
    } catch (error) {
      // Any error out of here makes withDedicatedSession destroy the session, which drops its locks;
      // if work already failed, its error is the one worth reporting.
      if (!failed) throw new CaptureError(`could not unlock ${tables.join(', ')}: ${errorMessage(error)}`, { cause: error });
    }
  }
}

function lockHint(error: unknown): string {
  const errno = errorNumber(error);
  if (errno === 1146) return ' (does the table exist, and has migrateOutbox run on this database?)';
  if (errno === 1205) return ' (a long transaction holds the table; retry when it has finished)';
  return '';
}

function errorNumber(error: unknown): number | null {
  if (typeof error === 'object' && error !== null && 'errno' in error && typeof error.errno === 'number') return error.errno;
  return null;
}

/** The server's own words when there are some (knex prefixes the statement to the message). */
export function errorMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'sqlMessage' in error && typeof error.sqlMessage === 'string') return error.sqlMessage;
  return error instanceof Error ? error.message : String(error);
}

function destroy(connection: unknown): void {
  if (typeof connection === 'object' && connection !== null && 'destroy' in connection && typeof connection.destroy === 'function') {
    connection.destroy();
  }
}
