import knexFactory from 'knex';
import { openMysql } from '@tributary/control';

/** Creates the database a URL names, if missing: the demo must work on a fresh server. */
export async function ensureMysqlDatabase(url: string): Promise<void> {
  const parsed = new URL(url);
  const database = databaseName(parsed);
  parsed.pathname = '/';
  const server = openMysql(parsed.toString(), { min: 0, max: 1 });
  try {
    await server.raw(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await server.destroy();
  }
}

export async function ensurePostgresDatabase(url: string): Promise<void> {
  const parsed = new URL(url);
  const database = databaseName(parsed);
  parsed.pathname = '/postgres';
  const server = knexFactory({ client: 'pg', connection: parsed.toString(), pool: { min: 0, max: 1 } });
  try {
    const exists = await server('pg_database').where({ datname: database }).first();
    if (!exists) await server.raw(`CREATE DATABASE "${database}"`);
  } finally {
    await server.destroy();
  }
}

function databaseName(url: URL): string {
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]{1,63}$/.test(name)) throw new Error(`the demo needs a plain database name in ${url.protocol}//…/<name>; got "${name}"`);
  return name;
}
