import { randomBytes } from 'node:crypto';
import knexFactory, { Knex } from 'knex';

/**
 * Throwaway databases for tests: unique names, dropped afterwards, so suites
 * run in parallel and CI can rerun on a machine a session left behind.
 * Override the servers with TEST_MYSQL_URL / TEST_POSTGRES_URL / TEST_REDIS_URL.
 */
export const TEST_MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A name no other test run uses: prefix + time + random. Lowercase, identifier-safe. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`.toLowerCase();
}

export interface TestDatabase {
  name: string;
  url: string;
  knex: Knex;
  drop(): Promise<void>;
}

export async function createMysqlDatabase(prefix = 'trib_test'): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  const admin = knexFactory({ client: 'mysql2', connection: TEST_MYSQL_URL });
  try {
    await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.destroy();
  }
  const url = `${TEST_MYSQL_URL}/${name}`;
  const knex = knexFactory({ client: 'mysql2', connection: { uri: url, supportBigNumbers: true, dateStrings: true } as never, pool: { min: 0, max: 10 } });
  return {
    name,
    url,
    knex,
    async drop() {
      await knex.destroy();
      const dropper = knexFactory({ client: 'mysql2', connection: TEST_MYSQL_URL });
      try {
        await dropper.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await dropper.destroy();
      }
    },
  };
}

export async function createPostgresDatabase(prefix = 'trib_test'): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  const admin = knexFactory({ client: 'pg', connection: `${TEST_POSTGRES_URL}/postgres` });
  try {
    await admin.raw(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.destroy();
  }
  const url = `${TEST_POSTGRES_URL}/${name}`;
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 10 } });
  return {
    name,
    url,
    knex,
    async drop() {
      await knex.destroy();
      const dropper = knexFactory({ client: 'pg', connection: `${TEST_POSTGRES_URL}/postgres` });
      try {
        await dropper.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await dropper.destroy();
      }
    },
  };
}
