import knexFactory, { Knex } from 'knex';
import { createConnection } from 'mysql2/promise';
import { migrateControl } from '@tributary/db';

/** Opens a knex pool on a MySQL/MariaDB URL with the settings Tributary relies on everywhere. */
export function openMysql(url: string, pool = { min: 0, max: 5 }): Knex {
  return knexFactory({
    client: 'mysql2',
    connection: {
      uri: url,
      // BIGINT as number when it fits in 2^53, string beyond: seq values stay numbers.
      supportBigNumbers: true,
      bigNumberStrings: false,
      dateStrings: true,
      timezone: 'Z',
      charset: 'utf8mb4',
    } as Knex.MySql2ConnectionConfig,
    pool: {
      ...pool,
      afterCreate(connection: MysqlCallbackConnection, done: (error: Error | null, connection: unknown) => void) {
        // READ COMMITTED: the relay must see rows committed after its last read,
        // and locking probes must not take gap locks (DESIGN.md, Hazards).
        connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', (error) => {
          if (error) return done(error, connection);
          connection.query("SET time_zone = '+00:00'", (zoneError) => done(zoneError, connection));
        });
      },
    },
    // Errors carry the statement with placeholders, never its values (a target's secret option, a URL):
    // they are logged. knex's own console warnings would bypass the JSON logger and its masking; every
    // failure reaches the caller as an error anyway.
    compileSqlOnError: false,
    log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
  });
}

interface MysqlCallbackConnection {
  query(sql: string, callback: (error: Error | null) => void): void;
}

/** Creates the control database if it does not exist, then migrates the control schema. */
export async function prepareControlDatabase(url: string): Promise<Knex> {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(database)) {
    throw new Error(`CONTROL_DATABASE_URL must name a database (letters, digits, _ or $); got "${database}"`);
  }
  // Only a missing database is created: a relay or worker whose user may not
  // CREATE still starts against a database that exists (least privilege).
  if (!(await databaseExists(url))) {
    const serverUrl = new URL(url);
    serverUrl.pathname = '/';
    const server = openMysql(serverUrl.toString(), { min: 0, max: 1 });
    try {
      await server.raw(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    } finally {
      await server.destroy();
    }
  }
  const knex = openMysql(url);
  await migrateControl(knex);
  return knex;
}

async function databaseExists(url: string): Promise<boolean> {
  try {
    const connection = await createConnection({ uri: url });
    await connection.end();
    return true;
  } catch (error) {
    if ((error as { errno?: number }).errno === 1049) return false; // ER_BAD_DB_ERROR
    throw error;
  }
}
